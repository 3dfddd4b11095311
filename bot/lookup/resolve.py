"""Free text -> one task, or a short list of suggestions.

Order of trust: an exact slug, task name or alias (TaskAlias rows: the dump's synonyms and
the curated list such as "obj det" or "asr", compared through `taxonomy.normalise`), then the
same with abbreviated words spelled out ("img cls" -> "image classification"), then fuzzy
matching (of the spelled-out words).

Fuzzy matching has to stay fast at 40,000 tasks, so nothing here scans the database per
lookup: the structures below (`Matcher`) are derived once from the shared task index
(`index.py`, which also decides when the taxonomy changed). A lookup then:

1. maps each query word to vocabulary words it may mean, with rapidfuzz over the prebuilt
   vocabulary: itself, prefix completions ("obj" -> "object", the most frequent first) and
   typo neighbours ("classifcation" -> "classification", `fuzz.ratio` >= 80);
2. if the query with each word replaced by its best meaning is a task name or alias, that
   task is the answer (how="fuzzy");
3. otherwise scores every name/alias at once (numpy vectors over the prebuilt list), token-aware:
   75% how well the query's words are covered, 25% how much of the name is covered, and a
   query word the name lacks still counts (at 90%) when it is a word of one of the task's
   dataset names ("coco detection" favours Object Detection, which has COCO benchmarks);
   with no word in common at all, a whole-string `fuzz.QRatio` scan over the prebuilt list
   catches glued or mangled input ("objectdetection").
A task resolves when its best score is >= 90 and leads the next task by >= 4; otherwise
the best tasks come back as suggestions, ties going to the task with more results.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from sqlmodel import Session

from sotabot.bot.lookup.index import TaskIndex, TaskRef, task_index
from sotabot.sources.normalise.taxonomy import normalise

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are built: an exact match never needs it

MAX_QUERY_CHARS = 200  # longer input is cut: no task name is longer, and scoring stays cheap
MAX_QUERY_WORDS = 12
RESOLVE_SCORE = 90.0  # a fuzzy winner needs at least this score...
RESOLVE_MARGIN = 4.0  # ...and this lead over the next task
SUGGEST_SCORE = 40.0  # below this a task is not worth suggesting
TYPO_SCORE = 80.0  # a word means a vocabulary word at least this similar (fuzz.ratio)
PREFIX_MIN = 3  # "obj" completes to "object"; shorter prefixes are too vague
PREFIX_SCORE = 95.0  # how much a completion counts (the most frequent completion first)
DATASET_WORD_SCORE = 90.0  # a query word found in one of the task's dataset names
VARIANTS_PER_WORD = 8
FALLBACK_SCAN_SCORE = 75.0  # the whole-string scan must be this close
QUERY_WEIGHT = 0.75


# Abbreviations people type for a word of a task name; applied word by word when the query as typed
# is no task name or alias (the curated aliases such as "sem seg" or "obj det" come first).
ABBREVIATIONS = {
    "img": "image", "seg": "segmentation", "det": "detection", "cls": "classification",
    "gen": "generation", "rec": "recognition",
}


def expand_abbreviations(key: str) -> str:
    """A normalised query with each abbreviated word spelled out."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in key.split())


@dataclass
class Resolution:
    task: TaskRef | None
    suggestions: list[TaskRef]
    how: str  # "exact" | "alias" | "fuzzy" | "none"


@dataclass
class Matcher:
    """The scoring structures over every distinct name and alias ("choice") of the index."""

    choices: list[str] = field(default_factory=list)  # distinct normalised names and aliases
    choice_tasks: list[list[int]] = field(default_factory=list)
    choice_words: np.ndarray | None = None  # distinct words per choice
    sorted_choices: list[tuple[str, int]] = field(default_factory=list)  # for prefix search
    vocab: list[str] = field(default_factory=list)  # sorted distinct words of the choices
    vocab_freq: dict[str, int] = field(default_factory=dict)
    postings: dict[str, np.ndarray] = field(default_factory=dict)  # word -> choice positions
    dataset_postings: dict[str, np.ndarray] = field(default_factory=dict)  # dataset word -> choice positions

    @classmethod
    def build(cls, idx: TaskIndex) -> Matcher:
        import numpy as np

        m = cls()
        merged: dict[str, list[int]] = {key: list(ids) for key, ids in idx.names.items()}
        for key, ids in idx.aliases.items():
            known = merged.setdefault(key, [])
            known.extend(i for i in ids if i not in known)
        postings: dict[str, list[int]] = {}
        task_choices: dict[int, list[int]] = {}
        word_counts: list[int] = []
        for pos, (key, ids) in enumerate(merged.items()):
            words = set(key.split())
            m.choices.append(key)
            m.choice_tasks.append(ids)
            word_counts.append(len(words))
            for word in words:
                postings.setdefault(word, []).append(pos)
            for task_id in ids:
                task_choices.setdefault(task_id, []).append(pos)
        m.choice_words = np.array(word_counts, dtype=np.float32)
        m.postings = {word: np.array(p, dtype=np.int32) for word, p in postings.items()}
        m.dataset_postings = {
            word: np.array(sorted({pos for t in ids for pos in task_choices.get(t, ())}), dtype=np.int32)
            for word, ids in idx.dataset_words.items()
        }
        m.vocab = sorted(postings)
        m.vocab_freq = {word: len(p) for word, p in postings.items()}
        m.sorted_choices = sorted((key, pos) for pos, key in enumerate(m.choices))
        return m


def _clean(text_in: object) -> str:
    """Normalised, bounded query text; anything that is not a string is empty."""
    if not isinstance(text_in, str):
        return ""
    return normalise(text_in[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS].strip()


def _word_variants(m: Matcher, word: str) -> dict[str, float]:
    """Vocabulary words this query word may mean -> similarity (0-100)."""
    found: dict[str, float] = {}
    if word in m.vocab_freq:
        found[word] = 100.0
    if len(word) >= PREFIX_MIN:
        lo = bisect.bisect_left(m.vocab, word)
        hi = bisect.bisect_left(m.vocab, word + "\x7f")
        completions = sorted(m.vocab[lo:hi], key=lambda w: (-m.vocab_freq[w], w))
        for rank, completion in enumerate(completions[:VARIANTS_PER_WORD]):
            found.setdefault(completion, PREFIX_SCORE - rank * 0.1)
    if len(word) >= 4 and word not in m.vocab_freq:
        for candidate, score, _ in process.extract(
            word, m.vocab, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE, limit=VARIANTS_PER_WORD
        ):
            found[candidate] = max(found.get(candidate, 0.0), float(score))
    best = sorted(found.items(), key=lambda kv: (-kv[1], -m.vocab_freq[kv[0]], kv[0]))
    return dict(best[:VARIANTS_PER_WORD])


def _exact(idx: TaskIndex, raw: str, key: str) -> tuple[list[int], str]:
    slug_hit = idx.slugs.get(raw.strip().lower())
    if slug_hit is not None:
        return [slug_hit], "exact"
    if key in idx.names:
        return sorted(idx.names[key], key=idx.rank_key), "exact"
    if key in idx.aliases:
        return sorted(idx.aliases[key], key=idx.rank_key), "alias"
    return [], "none"


def _score_choices(
    m: Matcher, words: list[str], variants: list[dict[str, float]], want: int
) -> list[tuple[int, float]]:
    """(choice position, score) of the best names/aliases, best first; vectorised over all choices.

    Per query word, a row holds for every choice the similarity of its best-matching word
    (0 if none; DATASET_WORD_SCORE if the word is in one of the task's dataset names instead).
    """
    import numpy as np

    n = len(words)
    total = len(m.choices)
    if n == 0 or total == 0:
        return []
    rows = np.zeros((n, total), dtype=np.float32)
    matched = np.zeros(total, dtype=np.float32)  # distinct vocabulary words of the choice that matched
    for i, options in enumerate(variants):
        row = rows[i]
        for vocab_word, similarity in options.items():
            positions = m.postings[vocab_word]
            row[positions] = np.maximum(row[positions], similarity)
            matched[positions] += 1
        holders = m.dataset_postings.get(words[i])
        if holders is not None:
            current = row[holders]
            row[holders] = np.where(current == 0, DATASET_WORD_SCORE, current)
    query_cover = rows.mean(axis=0)
    name_cover = 100.0 * np.minimum(matched, n) / np.maximum(m.choice_words, 1)
    scores = QUERY_WEIGHT * query_cover + (1 - QUERY_WEIGHT) * name_cover
    eligible = np.flatnonzero(scores >= SUGGEST_SCORE)
    if eligible.size > want:
        eligible = eligible[np.argpartition(-scores[eligible], want - 1)[:want]]
    ordered = eligible[np.argsort(-scores[eligible], kind="stable")]
    return [(int(pos), float(scores[pos])) for pos in ordered]


def _fuzzy(idx: TaskIndex, key: str, want: int) -> tuple[list[tuple[int, float]], str]:
    """(task id, score) best first, and the query with each word replaced by its best meaning."""
    m = idx.matcher
    words = key.split()[:MAX_QUERY_WORDS]
    variants = [_word_variants(m, w) for w in words]
    corrected = " ".join(next(iter(v), w) for w, v in zip(words, variants, strict=True))
    hits = _score_choices(m, words, variants, want * 8)
    if not hits:  # no word in common: whole-string similarity over the prebuilt list ("objectdetection")
        scored = process.extract(key, m.choices, scorer=fuzz.QRatio, score_cutoff=FALLBACK_SCAN_SCORE, limit=want * 4)
        hits = [(pos, float(score)) for _, score, pos in scored]
    best: dict[int, float] = {}
    for pos, score in hits:
        for task_id in m.choice_tasks[pos]:
            best[task_id] = max(best.get(task_id, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: (-round(kv[1], 1), *idx.rank_key(kv[0])))
    return ranked, corrected


def resolve_task(session: Session, text: str, limit: int = 5) -> Resolution:
    """One task for `text`, or suggestions (at most `limit`) when no match is good enough."""
    limit = max(0, limit)
    key = _clean(text)
    if not key:
        return Resolution(None, [], "none")
    idx = task_index(session)
    ids, how = _exact(idx, text, key)
    if ids:
        return Resolution(idx.refs[ids[0]], [idx.refs[i] for i in ids[1 : limit + 1]], how)
    expanded = expand_abbreviations(key)
    if expanded != key:  # "img classification" is Image Classification
        ids, _ = _exact(idx, expanded, expanded)
        if ids:
            return Resolution(idx.refs[ids[0]], [idx.refs[i] for i in ids[1 : limit + 1]], "alias")
        key = expanded
    ranked, corrected = _fuzzy(idx, key, max(limit, 1))
    if corrected != key:
        ids, _ = _exact(idx, corrected, corrected)
        if ids:
            others = [idx.refs[t] for t, _ in ranked if t != ids[0]]
            return Resolution(idx.refs[ids[0]], others[:limit], "fuzzy")
    if ranked:
        top_id, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top >= RESOLVE_SCORE and top - second >= RESOLVE_MARGIN:
            return Resolution(idx.refs[top_id], [idx.refs[t] for t, _ in ranked[1 : limit + 1]], "fuzzy")
    return Resolution(None, [idx.refs[t] for t, _ in ranked[:limit]], "none")


def search_tasks(session: Session, query: str, limit: int = 25) -> list[TaskRef]:
    """Tasks for autocomplete and `sotabot tasks QUERY`: exact, then prefix, then fuzzy.

    An empty query lists the most popular tasks (most results first).
    """
    limit = max(0, limit)
    if limit == 0:
        return []
    idx = task_index(session)
    key = _clean(query)
    if not key:
        return [idx.refs[t] for t in idx.by_popularity[:limit]]
    out: list[int] = []
    seen: set[int] = set()

    def add(task_ids: list[int]) -> None:
        for t in task_ids:
            if t not in seen:
                seen.add(t)
                out.append(t)

    add(_exact(idx, query, key)[0])
    m = idx.matcher
    lo = bisect.bisect_left(m.sorted_choices, (key, -1))
    prefixed: set[int] = set()
    for choice, pos in m.sorted_choices[lo : lo + 4 * limit]:
        if not choice.startswith(key):
            break
        prefixed.update(m.choice_tasks[pos])
    add(sorted(prefixed, key=idx.rank_key))
    if len(out) < limit:
        add([t for t, _ in _fuzzy(idx, key, limit)[0]])
    return [idx.refs[t] for t in out[:limit]]
