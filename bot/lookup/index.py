"""The one in-memory task index behind `/sota TASK`, `sotabot tasks` and Discord autocomplete.

Lookups must stay fast at 40,000 tasks, so nothing here scans the database per keystroke or
per command: tasks, aliases (the TaskAlias rows plus the curated list, which also applies to
tasks created after an import stored it), popularity and the words of each task's dataset
names are read once per engine into a `TaskIndex`. Resolution (`resolve.py`) and completion
(`complete.py`) each derive their own search structures from it on first use, so both always
answer from the same snapshot of the taxonomy.

One staleness rule for both: every use compares the max ids of tasks, aliases and benchmarks
(index-only reads, sub-millisecond), and at most every COUNT_CHECK_SECONDS their row counts
too (deletions); a difference rebuilds the index. A writer that renames tasks in place
calls `invalidate`.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from sotabot.sources.normalise import taxonomy
from sotabot.sources.normalise.taxonomy import normalise
from sotabot.sources.normalise.variants import dataset_key

if TYPE_CHECKING:
    from sotabot.bot.lookup.complete import Completer
    from sotabot.bot.lookup.resolve import Matcher

COUNT_CHECK_SECONDS = 60.0
_GENERIC_DATASET_WORDS = frozenset(
    {"the", "and", "for", "with", "from", "test", "dev", "val", "set", "sets", "split", "data", "dataset"}
    | {"datasets", "benchmark", "task", "english"}
)

# Checked on every use: max ids are index-only reads (sub-millisecond on both backends).
_STAMP_SQL = text(
    "SELECT (SELECT MAX(id) FROM tasks), (SELECT MAX(id) FROM task_aliases), (SELECT MAX(id) FROM benchmarks)"
)
# Checked at most every COUNT_CHECK_SECONDS: row counts catch deletions, but COUNT(*) is a
# scan (about 10 ms over 40,000 tasks on PostgreSQL), too slow for every lookup.
_COUNT_SQL = text(
    "SELECT (SELECT COUNT(*) FROM tasks), (SELECT COUNT(*) FROM task_aliases), (SELECT COUNT(*) FROM benchmarks)"
)
_ASCII_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class TaskRef:
    id: int
    slug: str
    name: str


def fast_normalise(text_in: str) -> str:
    """`taxonomy.normalise`, with a fast path for ASCII (an index normalises ~100,000 strings)."""
    if text_in.isascii():
        return _ASCII_NON_ALNUM.sub(" ", text_in.lower()).strip()
    return normalise(text_in)


@dataclass
class TaskIndex:
    """What the database says about the taxonomy, in memory; never mutated once built."""

    stamp: tuple[int | None, ...]  # max ids, then row counts, of tasks, aliases, benchmarks
    refs: dict[int, TaskRef]  # in id order
    popularity: dict[int, int]  # results on the task's benchmarks plus one per benchmark
    slugs: dict[str, int]  # lower-cased slug -> task id
    names: dict[str, list[int]]  # normalised name or slug -> task ids
    aliases: dict[str, list[int]]  # normalised alias -> task ids (TaskAlias rows, then the curated list)
    dataset_words: dict[str, set[int]]  # a distinctive word of a dataset name -> tasks benchmarked on it
    # normalised dataset name (alone and "parent name") -> (task id, dataset name, results) of its benchmarks
    datasets: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)
    by_popularity: list[int] = field(default_factory=list)
    checked_at: float = 0.0  # monotonic time the row counts were last compared

    def rank_key(self, task_id: int) -> tuple[int, str]:
        """Most popular first, then by name: the tie-break of every listing."""
        return (-self.popularity.get(task_id, 0), self.refs[task_id].name.lower())

    @cached_property
    def dataset_keys(self) -> dict[str, list[str]]:
        """The importer's merge key of each dataset name (`variants.dataset_key`: "SQuAD v1.1" and
        "SQuAD1.1" are one dataset) -> its spellings among the keys of `datasets`; derived on first use."""
        keys: dict[str, list[str]] = defaultdict(list)
        for name in self.datasets:
            keys[dataset_key(name)].append(name)
        return dict(keys)

    @cached_property
    def dataset_order(self) -> dict[str, int]:
        """Each key of `datasets` -> its place (the order answers break ties in)."""
        return {name: i for i, name in enumerate(self.datasets)}

    @cached_property
    def split_datasets(self) -> list[tuple[str, str]]:
        """(name with letters and digits apart, name) for every key of `datasets`, sorted: a dataset
        query finds its family ("coco" -> "coco test dev") by bisecting to a prefix, not by a pass
        over every name; derived on first use."""
        from sotabot.bot.lookup.datasets import split_words

        return sorted((split_words(name), name) for name in self.datasets)

    @cached_property
    def matcher(self) -> Matcher:
        from sotabot.bot.lookup.resolve import Matcher

        return Matcher.build(self)

    @cached_property
    def completer(self) -> Completer:
        from sotabot.bot.lookup.complete import Completer

        return Completer.build(self)


_CACHE: weakref.WeakKeyDictionary[Engine, TaskIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _engine_of(bind: Session | Connection | Engine) -> Engine:
    if isinstance(bind, Session):
        bind = bind.get_bind()  # type: ignore[assignment]
    return bind.engine if isinstance(bind, Connection) else bind  # type: ignore[return-value]


def task_index(bind: Session | Engine) -> TaskIndex:
    """The current index for this database, rebuilt first if the taxonomy changed."""
    if isinstance(bind, Session):
        return _current(bind.connection(), _engine_of(bind))
    with bind.connect() as conn:
        return _current(conn, bind)


def _current(conn: Connection, engine: Engine) -> TaskIndex:
    stamp = tuple(conn.execute(_STAMP_SQL).one())
    cached = _CACHE.get(engine)
    if cached is not None and cached.stamp[:3] == stamp:
        if time.monotonic() - cached.checked_at < COUNT_CHECK_SECONDS:
            return cached
        counts = tuple(conn.execute(_COUNT_SQL).one())
        if cached.stamp[3:] == counts:
            cached.checked_at = time.monotonic()
            return cached
    with _LOCK:
        stamp = tuple(conn.execute(_STAMP_SQL).one()) + tuple(conn.execute(_COUNT_SQL).one())
        cached = _CACHE.get(engine)
        if cached is None or cached.stamp != stamp:
            cached = _build(conn, stamp)
            _CACHE[engine] = cached
        cached.checked_at = time.monotonic()
        return cached


def invalidate(engine: Engine) -> None:
    """Drop the cached index (for writers that rename tasks without adding rows)."""
    with _LOCK:
        _CACHE.pop(engine, None)


def prepare(engine: Engine) -> None:
    """Build the index and both search structures now (service start), so the first keystroke is fast too."""
    idx = task_index(engine)
    _ = idx.matcher, idx.completer


def _build(conn: Connection, stamp: tuple[int | None, ...]) -> TaskIndex:
    refs: dict[int, TaskRef] = {}
    slugs: dict[str, int] = {}
    names: dict[str, list[int]] = defaultdict(list)
    aliases: dict[str, list[int]] = defaultdict(list)
    for task_id, slug, name in conn.execute(text("SELECT id, slug, name FROM tasks ORDER BY id")):
        refs[task_id] = TaskRef(task_id, slug, name)
        slugs[slug.lower()] = task_id
        for key in {fast_normalise(name), fast_normalise(slug)}:
            if key:
                names[key].append(task_id)
    for alias, task_id in conn.execute(text("SELECT alias, task_id FROM task_aliases ORDER BY id")):
        key = fast_normalise(alias)
        if key and task_id in refs and task_id not in aliases[key]:
            aliases[key].append(task_id)
    for alias, slug in taxonomy.CURATED_ALIASES.items():
        key, task_id = fast_normalise(alias), slugs.get(slug)
        if key and task_id is not None and key not in aliases:
            aliases[key].append(task_id)
    # Popularity (a tie-breaker only) as the writers keep it in Benchmark.result_count: no scan of results.
    popularity: dict[int, int] = {}
    counts = text("SELECT task_id, COUNT(id), COALESCE(SUM(result_count), 0) FROM benchmarks GROUP BY task_id")
    for task_id, n_benchmarks, n_results in conn.execute(counts):
        popularity[task_id] = int(n_results) + int(n_benchmarks)
    dataset_words: dict[str, set[int]] = defaultdict(set)
    datasets: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    pairs = text(
        "SELECT b.task_id, d.name, p.name, b.result_count FROM benchmarks b JOIN datasets d ON d.id = b.dataset_id"
        " LEFT JOIN datasets p ON p.id = d.parent_id"
    )
    for task_id, dataset, parent, results in conn.execute(pairs):
        for word in fast_normalise(f"{dataset} {parent or ''}").split():
            if len(word) >= 3 and not word.isdigit() and word not in _GENERIC_DATASET_WORDS:
                dataset_words[word].add(task_id)
        for key in {fast_normalise(dataset), fast_normalise(f"{parent} {dataset}") if parent else ""} - {""}:
            datasets[key].append((task_id, dataset, int(results or 0)))
    idx = TaskIndex(stamp, refs, popularity, slugs, dict(names), dict(aliases), dict(dataset_words), dict(datasets))
    idx.by_popularity = sorted(refs, key=idx.rank_key)
    return idx
