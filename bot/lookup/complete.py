"""Discord autocomplete for task and dataset options: at most 25 choices in a few milliseconds.

Discord sends an autocomplete request per keystroke and drops answers slower than 3 s, and
the archive has tens of thousands of task names, so nothing here queries the database per
keystroke beyond the shared index's staleness check (`index.py`, the same rule `/sota`
uses, so autocomplete and `/sota` always know the same tasks). From that index a
`Completer` is derived once: every name and alias (normalised) in a sorted list, and every
word with the names that contain it, names numbered by popularity (results on the task's
benchmarks). A query is answered from it:

1. names that start with what was typed (a bisect on the sorted names);
2. names with a word starting with it; with several words, names whose words start with
   each query word in order ("obj det" -> Object Detection, "few seg" -> Few-Shot Semantic
   Segmentation), found by intersecting the words' name sets;
3. names with a word containing it ("net" -> ImageNet ...), from a scan of the vocabulary;
4. nothing at all: each word replaced by the vocabulary word it most likely misspells
   ("segmentaton", "detecton"), and steps 1-3 again.

Within each step the more popular task comes first.
"""

from __future__ import annotations

import bisect
import heapq
import re
from dataclasses import dataclass, field
from itertools import chain

from rapidfuzz import fuzz, process
from sqlalchemy.engine import Engine

from sotabot.bot.lookup.index import TaskIndex, task_index
from sotabot.sources.normalise.taxonomy import normalise

MAX_CHOICES = 25
MAX_VALUE_CHARS = 100  # Discord choice names and values
MAX_QUERY_CHARS = 100
MAX_QUERY_WORDS = 6
FUZZY_MIN_CHARS = 4
UNION_CACHE_MIN = 2000  # name sets at least this big are kept for the next keystroke...
UNION_CACHE_SIZE = 16  # ...this many of them per index
TYPO_SCORE = 80.0  # fuzz.ratio for a misspelt word
DATASET_CACHE_SIZE = 1000  # tasks whose dataset labels a Completer keeps


@dataclass
class Completer:
    keys: list[str] = field(default_factory=list)  # entry -> normalised name or alias; entries in popularity order
    entry_task: list[int] = field(default_factory=list)  # entry -> task position
    tasks: list[tuple[str, str]] = field(default_factory=list)  # task position -> (name, slug), most popular first
    sorted_keys: list[str] = field(default_factory=list)
    sorted_entries: list[int] = field(default_factory=list)
    vocab: list[str] = field(default_factory=list)  # sorted distinct words
    postings: dict[str, list[int]] = field(default_factory=dict)  # word -> entries, ascending
    vocab_blob: str = ""  # "\n".join(vocab), scanned for words containing the query
    vocab_starts: list[int] = field(default_factory=list)
    unions: dict[str, frozenset[int]] = field(default_factory=dict)  # see _union
    dataset_labels: dict[str, list[str]] = field(default_factory=dict)  # task as typed -> see complete_dataset

    @classmethod
    def build(cls, index: TaskIndex) -> Completer:
        idx = cls()
        position: dict[int, int] = {}
        pairs: list[tuple[int, str]] = []
        for task_id in index.by_popularity:
            ref = index.refs[task_id]
            if len(ref.slug) > MAX_VALUE_CHARS:
                continue  # cannot be a Discord choice value
            position[task_id] = len(idx.tasks)
            name = ref.name if len(ref.name) <= MAX_VALUE_CHARS else ref.name[: MAX_VALUE_CHARS - 1] + "…"
            idx.tasks.append((name, ref.slug))
            pairs.append((position[task_id], normalise(ref.name)))
        pairs.extend((position[t], key) for key, ids in index.aliases.items() for t in ids if t in position)
        pairs.sort(key=lambda p: p[0])  # stable: a task's name before its aliases
        seen: set[tuple[int, str]] = set()
        postings: dict[str, list[int]] = {}
        for task_pos, key in pairs:
            if not key or (task_pos, key) in seen:
                continue
            seen.add((task_pos, key))
            entry = len(idx.keys)
            idx.keys.append(key)
            idx.entry_task.append(task_pos)
            for word in dict.fromkeys(key.split()):
                postings.setdefault(word, []).append(entry)
        order = sorted(range(len(idx.keys)), key=idx.keys.__getitem__)
        idx.sorted_keys = [idx.keys[e] for e in order]
        idx.sorted_entries = order
        idx.vocab = sorted(postings)
        idx.postings = postings
        idx.vocab_blob = "\n".join(idx.vocab)
        offset = 0
        for word in idx.vocab:
            idx.vocab_starts.append(offset)
            offset += len(word) + 1
        return idx


def _prefix_range(items: list[str], prefix: str) -> tuple[int, int]:
    return bisect.bisect_left(items, prefix), bisect.bisect_left(items, prefix + "\U0010ffff")


def _words_with_prefix(idx: Completer, prefix: str) -> list[str]:
    lo, hi = _prefix_range(idx.vocab, prefix)
    return idx.vocab[lo:hi]


def _words_containing(idx: Completer, part: str) -> list[str]:
    out = []
    for m in re.finditer(re.escape(part), idx.vocab_blob):
        word = idx.vocab[bisect.bisect_right(idx.vocab_starts, m.start()) - 1]
        if not word.startswith(part) and (not out or out[-1] != word):
            out.append(word)
    return out


class _Collector:
    """Task positions in the order found, without repeats, up to the limit."""

    def __init__(self, idx: Completer, limit: int) -> None:
        self.idx, self.limit = idx, limit
        self.found: list[int] = []
        self.seen: set[int] = set()

    @property
    def full(self) -> bool:
        return len(self.found) >= self.limit

    def add(self, entries: object) -> bool:
        for entry in entries:  # type: ignore[attr-defined]
            task = self.idx.entry_task[entry]
            if task not in self.seen:
                self.seen.add(task)
                self.found.append(task)
                if len(self.found) >= self.limit:
                    return True
        return False


def _one_word(idx: Completer, word: str, out: _Collector) -> None:
    lo, hi = _prefix_range(idx.sorted_keys, word)
    if hi > lo and out.add(heapq.nsmallest(out.limit * 4, idx.sorted_entries[lo:hi])):
        return
    # more names start with it than were looked at: take them all, in order
    if hi - lo > out.limit * 4 and out.add(sorted(idx.sorted_entries[lo:hi])):
        return
    lists = [idx.postings[w] for w in _words_with_prefix(idx, word)]
    if out.add(heapq.merge(*lists)):
        return
    if len(word) >= 3:
        out.add(heapq.merge(*(idx.postings[w] for w in _words_containing(idx, word))))


def _union(idx: Completer, prefix: str) -> frozenset[int]:
    """The names with a word starting with `prefix`; big ones ("s", "on") cached per index."""
    cached = idx.unions.get(prefix)
    if cached is not None:
        return cached
    lists = [idx.postings[w] for w in _words_with_prefix(idx, prefix)]
    union = frozenset(chain.from_iterable(lists))
    if len(union) >= UNION_CACHE_MIN:
        if len(idx.unions) >= UNION_CACHE_SIZE:
            idx.unions.pop(next(iter(idx.unions)), None)  # oldest first
        idx.unions[prefix] = union
    return union


def _several_words(idx: Completer, words: list[str], out: _Collector) -> None:
    """Names whose words start with each query word in order, found by intersecting the
    query words' name sets, most popular first."""
    sets = sorted((_union(idx, w) for w in words), key=len)
    if not sets[0]:
        return
    ordered = sorted(sets[0].intersection(*sets[1:]))
    body = r"\S*(?: \S+)*? ".join(re.escape(w) for w in words)
    anchored, anywhere = re.compile(body), re.compile(r"(?:^| )" + body)
    keys = idx.keys
    if out.add([e for e in ordered if anchored.match(keys[e])]):
        return
    out.add(e for e in ordered if anywhere.search(keys[e]))


def complete_task(engine: Engine, prefix: str, limit: int = MAX_CHOICES) -> list[tuple[str, str]]:
    """(name, slug) of the tasks matching what the user has typed so far, best first."""
    limit = max(0, min(limit, MAX_CHOICES))
    if limit == 0:
        return []
    idx = task_index(engine).completer
    query = normalise(prefix[: MAX_QUERY_CHARS * 4] if isinstance(prefix, str) else "")[:MAX_QUERY_CHARS]
    if not query:
        return idx.tasks[:limit]
    words = query.split()[:MAX_QUERY_WORDS]
    out = _search(idx, words, limit)
    if not out.found and len(query) >= FUZZY_MIN_CHARS:
        fixed = [_fix_typo(idx, w) for w in words]
        if fixed != words:
            out = _search(idx, fixed, limit)
    return [idx.tasks[t] for t in out.found]


def _search(idx: Completer, words: list[str], limit: int) -> _Collector:
    out = _Collector(idx, limit)
    if len(words) == 1:
        _one_word(idx, words[0], out)
    else:
        _several_words(idx, words, out)
    return out


def _fix_typo(idx: Completer, word: str) -> str:
    """The vocabulary word (or word start) `word` most likely misspells; itself when none is close."""
    if len(word) < FUZZY_MIN_CHARS or _words_with_prefix(idx, word):
        return word
    whole = process.extractOne(word, idx.vocab, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
    starts = process.extractOne(word, [v[: len(word)] for v in idx.vocab], scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
    best = max((h for h in (whole, starts) if h is not None), key=lambda h: h[1], default=None)
    return idx.vocab[best[2]] if best is not None else word


def complete_dataset(engine: Engine, task_text: str, prefix: str, limit: int = MAX_CHOICES) -> list[str]:
    """Dataset labels of the task's benchmarks (most results first) containing what was typed.

    The labels of a task are kept on the current `Completer`, so they live exactly as long as the
    index snapshot `/sota` answers from: a new benchmark changes the index's stamp, the next
    keystroke gets a new Completer and reads them again (no timer of its own)."""
    limit = max(0, min(limit, MAX_CHOICES))
    if limit == 0 or not isinstance(task_text, str) or not task_text.strip():
        return []
    completer = task_index(engine).completer
    key = task_text.strip().lower()[:300]
    labels = completer.dataset_labels.get(key)
    if labels is None:
        labels = _dataset_labels(engine, task_text)
        if len(completer.dataset_labels) >= DATASET_CACHE_SIZE:
            completer.dataset_labels.clear()
        completer.dataset_labels[key] = labels
    want = normalise(prefix if isinstance(prefix, str) else "")[:MAX_QUERY_CHARS]
    if not want:
        return labels[:limit]
    starts = [label for label in labels if normalise(label).startswith(want)]
    inside = [label for label in labels if label not in starts and want in normalise(label)]
    return (starts + inside)[:limit]


def _dataset_labels(engine: Engine, task_text: str) -> list[str]:
    from sqlmodel import Session

    from sotabot.bot.lookup.resolve import resolve_task
    from sotabot.sources.normalise.canonical import canonical_preference
    from sotabot.storage.leaderboards import task_benchmarks

    with Session(engine) as session:
        res = resolve_task(session, task_text, limit=0)
        if res.task is None:
            return []
        labels = [b.dataset for b in task_benchmarks(session, res.task.id, canonical_preference())]
    out: list[str] = []
    for label in labels:
        if label and label not in out and len(label) <= MAX_VALUE_CHARS:
            out.append(label)
    return out


def complete_metric(engine: Engine, task_text: str, dataset_text: str | None, prefix: str,
                    limit: int = MAX_CHOICES) -> list[str]:
    """Metric names of the chosen task (and dataset, when one is chosen) containing what was typed."""
    from sqlmodel import Session

    from sotabot.bot.lookup.resolve import resolve_task
    from sotabot.storage.leaderboards import task_metrics

    limit = max(0, min(limit, MAX_CHOICES))
    if limit == 0 or not isinstance(task_text, str) or not task_text.strip():
        return []
    with Session(engine) as session:
        res = resolve_task(session, task_text, limit=0)
        if res.task is None:
            return []
        names = [n for n in task_metrics(session, res.task.id, dataset_text) if len(n) <= MAX_VALUE_CHARS]
    want = normalise(prefix if isinstance(prefix, str) else "")[:MAX_QUERY_CHARS]
    if not want:
        return names[:limit]
    starts = [n for n in names if normalise(n).startswith(want)]
    inside = [n for n in names if n not in starts and want in normalise(n)]
    return (starts + inside)[:limit]


def complete_followed(engine: Engine, platform: str, workspace: str, channel: str, prefix: str,
                      limit: int = MAX_CHOICES) -> list[tuple[str, str]]:
    """(label, value) of what this channel follows, matching what was typed, then "all": what
    `/unsubscribe` can remove here, and nothing else."""
    from sqlmodel import Session, col, select

    from sotabot.bot.workspaces import same_workspace
    from sotabot.storage.channels import find_channel, list_subscriptions
    from sotabot.storage.models import Task

    limit = max(0, min(limit, MAX_CHOICES))
    if limit == 0 or not workspace or not channel:
        return []
    with Session(engine) as session:
        row = find_channel(session, platform, workspace, channel, same_workspace(platform, workspace))
        subs = list_subscriptions(session, row) if row is not None else []
        slugs = [s.target for s in subs if s.kind == "task"]
        names = dict(session.exec(select(Task.slug, Task.name).where(col(Task.slug).in_(slugs))).all()) if slugs else {}
    pairs: list[tuple[str, str]] = []
    for sub in subs:
        if sub.kind == "task":
            pairs.append((names.get(sub.target, sub.target), sub.target))
        elif sub.kind == "category":
            pairs.append((f"category:{sub.target}", f"category:{sub.target}"))
        else:
            pairs.append((f'keyword:"{sub.target}"', f'keyword:"{sub.target}"'))
    want = normalise(prefix if isinstance(prefix, str) else "")[:MAX_QUERY_CHARS]
    if want:
        pairs = [p for p in pairs if want in normalise(p[0]) or want in normalise(p[1])]
    if subs and (not want or "all".startswith(want)):
        pairs.append(("all (every subscription here)", "all"))
    return pairs[:limit]
