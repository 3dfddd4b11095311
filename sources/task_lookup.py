"""Free text -> one task, or a short list of suggestions.

Order of trust: an exact slug, task name or alias (TaskAlias rows: the dump's synonyms and
the curated list such as "obj det" or "asr", compared through `taxonomy.normalise`), then
fuzzy matching.

Fuzzy matching has to stay fast at 40,000 tasks, so nothing here scans the database per
lookup. An in-memory index (names, aliases, their words, the words of each task's dataset
names) is built once per engine and rebuilt when the taxonomy changed: every lookup compares
the max ids of tasks, aliases and benchmarks (index-only reads), and at most once a minute
their row counts too (deletions); a writer that renames tasks in place calls `invalidate`.
A lookup then:

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
import re
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from sources import taxonomy
from sources.taxonomy import normalise

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
_GENERIC_DATASET_WORDS = frozenset(
    {"the", "and", "for", "with", "from", "test", "dev", "val", "set", "sets", "split", "data", "dataset"}
    | {"datasets", "benchmark", "task", "english"}
)


@dataclass(frozen=True)
class TaskRef:
    id: int
    slug: str
    name: str


@dataclass
class Resolution:
    task: TaskRef | None
    suggestions: list[TaskRef]
    how: str  # "exact" | "alias" | "fuzzy" | "none"


@dataclass
class _TaskIndex:
    """Everything a lookup needs, in memory; never mutated once built."""

    stamp: tuple[int | None, ...]  # max ids, then row counts, of tasks, aliases, benchmarks
    refs: dict[int, TaskRef]
    popularity: dict[int, int]
    slugs: dict[str, int]
    names: dict[str, list[int]]  # normalised name or slug -> task ids
    aliases: dict[str, list[int]]  # normalised alias -> task ids
    choices: list[str] = field(default_factory=list)  # distinct normalised names and aliases
    choice_tasks: list[list[int]] = field(default_factory=list)
    choice_words: np.ndarray = field(default_factory=lambda: np.zeros(0))  # distinct words per choice
    sorted_choices: list[tuple[str, int]] = field(default_factory=list)  # for prefix search
    vocab: list[str] = field(default_factory=list)  # sorted distinct words of the choices
    vocab_freq: dict[str, int] = field(default_factory=dict)
    postings: dict[str, np.ndarray] = field(default_factory=dict)  # word -> choice positions
    dataset_postings: dict[str, np.ndarray] = field(default_factory=dict)  # dataset word -> choice positions
    by_popularity: list[int] = field(default_factory=list)
    checked_at: float = 0.0  # monotonic time the row counts were last compared

    def rank_key(self, task_id: int) -> tuple[int, str]:
        return (-self.popularity.get(task_id, 0), self.refs[task_id].name.lower())


_CACHE: weakref.WeakKeyDictionary[Engine, _TaskIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()

# Checked on every lookup: max ids are index-only reads (sub-millisecond on both backends).
_STAMP_SQL = text(
    "SELECT (SELECT MAX(id) FROM tasks), (SELECT MAX(id) FROM task_aliases), (SELECT MAX(id) FROM benchmarks)"
)
# Checked at most every COUNT_CHECK_SECONDS: row counts catch deletions, but COUNT(*) is a
# scan (about 10 ms over 40,000 tasks on PostgreSQL), too slow for every lookup.
_COUNT_SQL = text(
    "SELECT (SELECT COUNT(*) FROM tasks), (SELECT COUNT(*) FROM task_aliases), (SELECT COUNT(*) FROM benchmarks)"
)
COUNT_CHECK_SECONDS = 60.0


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind  # type: ignore[return-value]


def invalidate(engine: Engine) -> None:
    """Drop the cached index (for writers that rename tasks without adding rows)."""
    with _LOCK:
        _CACHE.pop(engine, None)


def _index(session: Session) -> _TaskIndex:
    engine = _engine_of(session)
    stamp = tuple(session.execute(_STAMP_SQL).one())
    cached = _CACHE.get(engine)
    if cached is not None and cached.stamp[:3] == stamp:
        if time.monotonic() - cached.checked_at < COUNT_CHECK_SECONDS:
            return cached
        counts = tuple(session.execute(_COUNT_SQL).one())
        if cached.stamp[3:] == counts:
            cached.checked_at = time.monotonic()
            return cached
    with _LOCK:
        stamp = tuple(session.execute(_STAMP_SQL).one()) + tuple(session.execute(_COUNT_SQL).one())
        cached = _CACHE.get(engine)
        if cached is None or cached.stamp != stamp:
            cached = _build(session, stamp)
            _CACHE[engine] = cached
        cached.checked_at = time.monotonic()
        return cached


_ASCII_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _normalise(text_in: str) -> str:
    """`taxonomy.normalise`, with a fast path for ASCII (the index normalises ~100,000 strings)."""
    if text_in.isascii():
        return _ASCII_NON_ALNUM.sub(" ", text_in.lower()).strip()
    return normalise(text_in)


def _build(session: Session, stamp: tuple[int | None, ...]) -> _TaskIndex:
    refs: dict[int, TaskRef] = {}
    slugs: dict[str, int] = {}
    names: dict[str, list[int]] = defaultdict(list)
    aliases: dict[str, list[int]] = defaultdict(list)
    for task_id, slug, name in session.execute(text("SELECT id, slug, name FROM tasks ORDER BY id")):
        refs[task_id] = TaskRef(task_id, slug, name)
        slugs[slug.lower()] = task_id
        for key in {_normalise(name), _normalise(slug)}:
            if key:
                names[key].append(task_id)
    for alias, task_id in session.execute(text("SELECT alias, task_id FROM task_aliases ORDER BY id")):
        key = _normalise(alias)
        if key and task_id in refs and task_id not in aliases[key]:
            aliases[key].append(task_id)
    # The curated list also applies to tasks created after the last import stored it.
    for alias, slug in getattr(taxonomy, "CURATED_ALIASES", {}).items():
        key, task_id = _normalise(alias), slugs.get(slug)
        if key and task_id is not None and key not in aliases:
            aliases[key].append(task_id)
    # Popularity (a tie-breaker only): the results on the task's benchmarks as the writers
    # keep them in Benchmark.result_count (cheap: no scan of results), plus one per benchmark.
    popularity: dict[int, int] = {}
    counts = text("SELECT task_id, COUNT(id), COALESCE(SUM(result_count), 0) FROM benchmarks GROUP BY task_id")
    for task_id, n_benchmarks, n_results in session.execute(counts):
        popularity[task_id] = int(n_results) + int(n_benchmarks)
    dataset_words: dict[str, set[int]] = defaultdict(set)
    pairs = text(
        "SELECT DISTINCT b.task_id, d.name, p.name FROM benchmarks b JOIN datasets d ON d.id = b.dataset_id"
        " LEFT JOIN datasets p ON p.id = d.parent_id"
    )
    for task_id, dataset, parent in session.execute(pairs):
        for word in _normalise(f"{dataset} {parent or ''}").split():
            if len(word) >= 3 and not word.isdigit() and word not in _GENERIC_DATASET_WORDS:
                dataset_words[word].add(task_id)

    idx = _TaskIndex(stamp, refs, popularity, slugs, dict(names), dict(aliases))
    merged: dict[str, list[int]] = {key: list(ids) for key, ids in idx.names.items()}
    for key, ids in idx.aliases.items():
        known = merged.setdefault(key, [])
        known.extend(i for i in ids if i not in known)
    postings: dict[str, list[int]] = defaultdict(list)
    task_choices: dict[int, list[int]] = defaultdict(list)
    word_counts: list[int] = []
    for pos, (key, ids) in enumerate(merged.items()):
        words = set(key.split())
        idx.choices.append(key)
        idx.choice_tasks.append(ids)
        word_counts.append(len(words))
        for word in words:
            postings[word].append(pos)
        for task_id in ids:
            task_choices[task_id].append(pos)
    idx.choice_words = np.array(word_counts, dtype=np.float32)
    idx.postings = {word: np.array(p, dtype=np.int32) for word, p in postings.items()}
    idx.dataset_postings = {
        word: np.array(sorted({pos for t in ids for pos in task_choices.get(t, ())}), dtype=np.int32)
        for word, ids in dataset_words.items()
    }
    idx.vocab = sorted(postings)
    idx.vocab_freq = {word: len(p) for word, p in postings.items()}
    idx.sorted_choices = sorted((key, pos) for pos, key in enumerate(idx.choices))
    idx.by_popularity = sorted(refs, key=idx.rank_key)
    return idx


def _clean(text_in: object) -> str:
    """Normalised, bounded query text; anything that is not a string is empty."""
    if not isinstance(text_in, str):
        return ""
    return normalise(text_in[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS].strip()


def _word_variants(idx: _TaskIndex, word: str) -> dict[str, float]:
    """Vocabulary words this query word may mean -> similarity (0-100)."""
    found: dict[str, float] = {}
    if word in idx.vocab_freq:
        found[word] = 100.0
    if len(word) >= PREFIX_MIN:
        lo = bisect.bisect_left(idx.vocab, word)
        hi = bisect.bisect_left(idx.vocab, word + "\x7f")
        completions = sorted(idx.vocab[lo:hi], key=lambda w: (-idx.vocab_freq[w], w))
        for rank, completion in enumerate(completions[:VARIANTS_PER_WORD]):
            found.setdefault(completion, PREFIX_SCORE - rank * 0.1)
    if len(word) >= 4 and word not in idx.vocab_freq:
        for candidate, score, _ in process.extract(
            word, idx.vocab, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE, limit=VARIANTS_PER_WORD
        ):
            found[candidate] = max(found.get(candidate, 0.0), float(score))
    best = sorted(found.items(), key=lambda kv: (-kv[1], -idx.vocab_freq[kv[0]], kv[0]))
    return dict(best[:VARIANTS_PER_WORD])


def _exact(idx: _TaskIndex, raw: str, key: str) -> tuple[list[int], str]:
    slug_hit = idx.slugs.get(raw.strip().lower())
    if slug_hit is not None:
        return [slug_hit], "exact"
    if key in idx.names:
        return sorted(idx.names[key], key=idx.rank_key), "exact"
    if key in idx.aliases:
        return sorted(idx.aliases[key], key=idx.rank_key), "alias"
    return [], "none"


def _score_choices(
    idx: _TaskIndex, words: list[str], variants: list[dict[str, float]], want: int
) -> list[tuple[int, float]]:
    """(choice position, score) of the best names/aliases, best first; vectorised over all choices.

    Per query word, a row holds for every choice the similarity of its best-matching word
    (0 if none; DATASET_WORD_SCORE if the word is in one of the task's dataset names instead).
    """
    n = len(words)
    total = len(idx.choices)
    if n == 0 or total == 0:
        return []
    rows = np.zeros((n, total), dtype=np.float32)
    matched = np.zeros(total, dtype=np.float32)  # distinct vocabulary words of the choice that matched
    for i, options in enumerate(variants):
        row = rows[i]
        for vocab_word, similarity in options.items():
            positions = idx.postings[vocab_word]
            row[positions] = np.maximum(row[positions], similarity)
            matched[positions] += 1
        holders = idx.dataset_postings.get(words[i])
        if holders is not None:
            current = row[holders]
            row[holders] = np.where(current == 0, DATASET_WORD_SCORE, current)
    query_cover = rows.mean(axis=0)
    name_cover = 100.0 * np.minimum(matched, n) / np.maximum(idx.choice_words, 1)
    scores = QUERY_WEIGHT * query_cover + (1 - QUERY_WEIGHT) * name_cover
    eligible = np.flatnonzero(scores >= SUGGEST_SCORE)
    if eligible.size > want:
        eligible = eligible[np.argpartition(-scores[eligible], want - 1)[:want]]
    ordered = eligible[np.argsort(-scores[eligible], kind="stable")]
    return [(int(pos), float(scores[pos])) for pos in ordered]


def _fuzzy(idx: _TaskIndex, key: str, want: int) -> tuple[list[tuple[int, float]], str]:
    """(task id, score) best first, and the query with each word replaced by its best meaning."""
    words = key.split()[:MAX_QUERY_WORDS]
    variants = [_word_variants(idx, w) for w in words]
    corrected = " ".join(next(iter(v), w) for w, v in zip(words, variants, strict=True))
    hits = _score_choices(idx, words, variants, want * 8)
    if not hits:  # no word in common: whole-string similarity over the prebuilt list ("objectdetection")
        scored = process.extract(key, idx.choices, scorer=fuzz.QRatio, score_cutoff=FALLBACK_SCAN_SCORE, limit=want * 4)
        hits = [(pos, float(score)) for _, score, pos in scored]
    best: dict[int, float] = {}
    for pos, score in hits:
        for task_id in idx.choice_tasks[pos]:
            best[task_id] = max(best.get(task_id, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: (-round(kv[1], 1), *idx.rank_key(kv[0])))
    return ranked, corrected


def resolve_task(session: Session, text: str, limit: int = 5) -> Resolution:
    """One task for `text`, or suggestions (at most `limit`) when no match is good enough."""
    limit = max(0, limit)
    key = _clean(text)
    if not key:
        return Resolution(None, [], "none")
    idx = _index(session)
    ids, how = _exact(idx, text, key)
    if ids:
        return Resolution(idx.refs[ids[0]], [idx.refs[i] for i in ids[1 : limit + 1]], how)
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
    idx = _index(session)
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
    lo = bisect.bisect_left(idx.sorted_choices, (key, -1))
    prefixed: set[int] = set()
    for choice, pos in idx.sorted_choices[lo : lo + 4 * limit]:
        if not choice.startswith(key):
            break
        prefixed.update(idx.choice_tasks[pos])
    add(sorted(prefixed, key=idx.rank_key))
    if len(out) < limit:
        add([t for t, _ in _fuzzy(idx, key, limit)[0]])
    return [idx.refs[t] for t in out[:limit]]
