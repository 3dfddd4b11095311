"""Evaluation tables: tasks, datasets, benchmarks, metrics and results from evaluation-tables.json."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sotabot.sources.archive.clean import clean_line, clean_url, iso_date, stripped, task_slug, truthy, utc_now
from sotabot.sources.archive.papers import PaperIds
from sotabot.sources.archive.reader import CHUNK_ROWS, archive_records
from sotabot.sources.archive.report import SOURCE, ArchiveError, ImportReport, ProgressCallback
from sotabot.sources.archive.writer import (
    T_ALIAS,
    T_BENCH,
    T_BM,
    T_DATASET,
    T_METRIC,
    T_RESULT,
    T_TASK,
    T_VALUE,
    ArchiveDb,
    run_file,
)
from sotabot.sources.normalise.taxonomy import CURATED_ALIASES, metric_direction, normalise
from sotabot.sources.normalise.values import (
    arxiv_id_from_url,
    find_arxiv_url,
    parse_value,
    raw_text,
)
from sotabot.sources.normalise.variants import dataset_key, model_key
from sotabot.storage.db import chunks
from sotabot.storage.models import AREA_CHARS, MODEL_CHARS, NAME_CHARS, RAW_VALUE_CHARS, URL_CHARS

ALIAS_PRIORITY = {"dump": 1, "curated": 2, "name": 3, "slug": 3}


@dataclass(slots=True)


class _TaskSpec:
    name: str
    parent: str | None
    area: str | None
    description: str | None
    synonyms: set[str]


@dataclass(slots=True)


class _Row:
    bench: tuple[str, tuple[str, ...]]  # (task slug, dataset path)
    model: str
    paper_key: str
    arxiv_id: str | None
    paper_url: str | None
    paper_title: str | None
    code_url: str | None
    result_date: date | None
    extra_data: bool
    values: list[tuple[str, str, float | None]]  # (metric name, raw, value)
    variant: bool = False  # read from another spelling of the benchmark's dataset: adds rows, never overwrites


_RESULT_FIELDS = ("paper_id", "paper_title", "paper_url", "code_url", "result_date", "extra_data")


class _TablesImport:
    """Collects a chunk of the evaluation tables by name, then writes it by id."""

    def __init__(self, db: ArchiveDb, label: str, overrides: dict[str, str], report: ImportReport) -> None:
        self.db = db
        self.label = label
        self.overrides = overrides
        self.report = report
        self.papers = PaperIds(db, report)
        self._load_maps()
        self.touched_results: set[int] = set()
        self.touched_benchmarks: set[int] = set()
        self.seen_tasks: set[str] = set()
        self.seen_paths: set[tuple[str, ...]] = set()
        self.seen_benchmarks: set[tuple[str, tuple[str, ...]]] = set()
        self.seen_metrics: set[str] = set()
        self._reset_chunk()

    def _load_maps(self) -> None:
        c = self.db.conn
        self.task_ids: dict[str, int] = {}
        self.tasks_with_area: set[str] = set()
        self.task_names: dict[str, str] = {}
        for slug, tid, area, name in c.execute(select(T_TASK.c.slug, T_TASK.c.id, T_TASK.c.area, T_TASK.c.name)):
            self.task_ids[slug] = tid
            self.task_names[slug] = name
            if area:
                self.tasks_with_area.add(slug)
        self.slug_of: dict[int, str] = {tid: slug for slug, tid in self.task_ids.items()}
        self.aliases: dict[str, tuple[int, str]] = {
            alias: (tid, source)
            for alias, tid, source in c.execute(select(T_ALIAS.c.alias, T_ALIAS.c.task_id, T_ALIAS.c.source))
        }
        self.dataset_ids: dict[tuple[str, int | None], int] = {
            (name, parent): did
            for did, name, parent in c.execute(select(T_DATASET.c.id, T_DATASET.c.name, T_DATASET.c.parent_id))
        }
        self.metrics: dict[str, tuple[int, str]] = {
            name: (mid, direction)
            for mid, name, direction in c.execute(select(T_METRIC.c.id, T_METRIC.c.name, T_METRIC.c.direction))
        }
        self.bench_ids: dict[tuple[int, int], int] = {}
        self.bench_primary: dict[int, int | None] = {}
        self.bench_state: dict[int, tuple[int, date | None]] = {}
        rows = c.execute(
            select(
                T_BENCH.c.id, T_BENCH.c.task_id, T_BENCH.c.dataset_id, T_BENCH.c.primary_metric_id,
                T_BENCH.c.result_count, T_BENCH.c.last_result_date,
            )
        )
        for bid, tid, did, primary, count, last in rows:
            self.bench_ids[(tid, did)] = bid
            self.bench_primary[bid] = primary
            self.bench_state[bid] = (count, _as_date(last))
        self.empty_benchmarks: set[int] = set()  # created by this import, no results yet: nothing to look up
        self.bench_metrics: dict[int, dict[int, int]] = {}
        for bid, mid, pos in c.execute(select(T_BM.c.benchmark_id, T_BM.c.metric_id, T_BM.c.position)):
            self.bench_metrics.setdefault(bid, {})[mid] = pos
        self.path_ids: dict[tuple[str, ...], int] = {}
        # (task slug, dataset_key) -> the top-level dataset name its benchmark is stored under
        self.bench_names: dict[tuple[str, str], str] = {}
        top_level = (
            select(T_BENCH.c.task_id, T_DATASET.c.name)
            .join(T_DATASET, T_DATASET.c.id == T_BENCH.c.dataset_id)
            .where(T_DATASET.c.parent_id.is_(None))
            .order_by(T_BENCH.c.id)
        )
        for tid, name in c.execute(top_level):
            if tid in self.slug_of:
                slug = self.slug_of[tid]
                self.bench_names.setdefault((slug, dataset_key(name, slug)), name)

    def _reset_chunk(self) -> None:
        self.c_tasks: dict[str, _TaskSpec] = {}
        self.c_datasets: dict[tuple[str, ...], str | None] = {}
        self.c_bench: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self.c_rows: list[_Row] = []

    # -- reading --------------------------------------------------------------------------

    def _fail(self, where: str, problem: str) -> ArchiveError:
        return ArchiveError(f"{self.label}: {where}: {problem}")

    def _list(self, node: dict[str, Any], key: str, where: str) -> list[Any]:
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(where, f"'{key}' is not a list")
        return value

    def add_task(self, node: Any, parent: str | None, where: str) -> None:
        if not isinstance(node, dict):
            raise self._fail(where, "task entry is not a JSON object")
        name = clean_line(node.get("task"))
        if not name:
            raise self._fail(where, "task has no name")
        where = f"task {name!r}"
        slug = task_slug(name)
        merged_into = self._merged_task(slug, name)
        if merged_into is not None:  # "ASR" is Speech Recognition: its name stays, as an alias
            slug = merged_into
            spec = self.c_tasks.get(slug)
            if spec is None:
                spec = self.c_tasks[slug] = _TaskSpec(self.task_names[slug], None, None, None, set())
            alias = normalise(name)[:NAME_CHARS]
            if alias:
                spec.synonyms.add(alias)
            self.report.add("merged tasks", seen=1)
        spec = self.c_tasks.get(slug)
        if spec is None:
            categories = [c for c in self._list(node, "categories", where) if isinstance(c, str) and c.strip()]
            description = stripped(node.get("description")) or None
            area = clean_line(categories[0], AREA_CHARS) if categories else None
            spec = _TaskSpec(name, parent, area, description, set())
            self.c_tasks[slug] = spec
        for synonym in self._list(node, "synonyms", where):
            alias = normalise(synonym)[:NAME_CHARS] if isinstance(synonym, str) else ""
            if alias:
                spec.synonyms.add(alias)
        self.seen_tasks.add(slug)
        for index, dataset in enumerate(self._list(node, "datasets", where)):
            self._add_dataset(slug, dataset, (), f"{where}, dataset #{index}")
        for index, sub in enumerate(self._list(node, "subtasks", where)):
            self.add_task(sub, slug, f"{where}, subtask #{index}")

    def _merged_task(self, slug: str, name: str) -> str | None:
        """The existing task a new task name is a synonym or curated alias of, if any."""
        if slug in self.task_ids or slug in self.c_tasks:
            return None
        alias = normalise(name)[:NAME_CHARS]
        hit = self.aliases.get(alias)
        target = self.slug_of.get(hit[0]) if hit else _CURATED_NORMALISED.get(alias)
        if target and target != slug and (target in self.task_names or target in self.c_tasks):
            return target
        return None

    def _add_dataset(
        self, slug: str, node: Any, parent_path: tuple[str, ...], where: str, variant: bool = False
    ) -> None:
        if not isinstance(node, dict):
            raise self._fail(where, "dataset entry is not a JSON object")
        name = clean_line(node.get("dataset")) or clean_line(node.get("subdataset"))
        if not name:
            raise self._fail(where, "dataset has no name")
        where = where.rsplit(", ", 1)[0] + f", dataset {name!r}"
        if not parent_path:  # "SQuAD v1.1" in a task that has "SQuAD1.1" is that benchmark
            stored = self.bench_names.setdefault((slug, dataset_key(name, slug)), name)
            if stored != name:
                self.report.add("merged datasets", seen=1)
                name, variant = stored, True
        path = (*parent_path, name)
        self.c_datasets.setdefault(path, stripped(node.get("description")) or None)
        self.seen_paths.add(path)
        sota = node.get("sota")
        if isinstance(sota, dict):
            bench = (slug, path)
            self.seen_benchmarks.add(bench)
            names = self.c_bench.setdefault(bench, [])
            for metric in self._list(sota, "metrics", where):
                metric_name = clean_line(raw_text(metric) if isinstance(metric, int | float | Decimal) else metric)
                if metric_name and metric_name not in names:
                    names.append(metric_name)
            for index, row in enumerate(self._list(sota, "rows", where)):
                self._add_row(bench, row, index, f"{where}, row {index}", variant)
        elif sota is not None:
            raise self._fail(where, "'sota' is not a JSON object")
        for index, sub in enumerate(self._list(node, "subdatasets", where)):
            self._add_dataset(slug, sub, path, f"{where}, subdataset #{index}", variant)

    def _add_row(
        self, bench: tuple[str, tuple[str, ...]], row: Any, index: int, where: str, variant: bool = False
    ) -> None:
        if not isinstance(row, dict):
            raise self._fail(where, "row is not a JSON object")
        model_name = row.get("model_name")
        if not isinstance(model_name, str):
            raise self._fail(where, "row has no model name ('model_name' is missing)")
        self.report.rows += 1
        title = _unescaped(clean_line(row.get("paper_title"), 2000)) or None
        paper_url = clean_url(row.get("paper_url")) or None
        # Blank names are real (anonymous leaderboard entries): named by their paper, else its link.
        model = (
            _unescaped(clean_line(model_name, MODEL_CHARS))[:MODEL_CHARS]
            or (title or paper_url or "")[:MODEL_CHARS]
            or f"Anonymous entry #{index + 1}"
        )
        arxiv_id = arxiv_id_from_url(paper_url)
        if arxiv_id is None and (embedded := find_arxiv_url(paper_url)):
            paper_url, arxiv_id = embedded  # "(Singapore Management University) https://arxiv.org/abs/..."
        metrics = row.get("metrics")
        if metrics is None:
            metrics = {}
        if isinstance(metrics, str):  # a Parquet copy may carry each row's metrics as a JSON text
            try:
                metrics = json.loads(metrics) if metrics.strip() else {}
            except ValueError:
                raise self._fail(where, "'metrics' is not a JSON object") from None
        if not isinstance(metrics, dict):
            raise self._fail(where, "'metrics' is not a JSON object")
        values: list[tuple[str, str, float | None]] = []
        names = self.c_bench.setdefault(bench, [])
        for key, cell in metrics.items():
            metric_name = clean_line(key)
            if not metric_name:
                continue
            if metric_name not in names:
                names.append(metric_name)
            values.append((metric_name, raw_text(cell)[:RAW_VALUE_CHARS], parse_value(cell)))
        code_url = None
        for link in row.get("code_links") or []:
            if isinstance(link, dict) and clean_url(link.get("url")):
                code_url = clean_url(link.get("url"))
                break
        self.c_rows.append(
            _Row(
                bench=bench,
                model=model,
                paper_key=(arxiv_id or paper_url or "")[:URL_CHARS],
                arxiv_id=arxiv_id,
                paper_url=paper_url,
                paper_title=title,
                code_url=code_url,
                result_date=iso_date(row.get("paper_date")),
                extra_data=truthy(row.get("uses_additional_data")),
                variant=variant,
                values=values,
            )
        )
        if len(self.c_rows) >= CHUNK_ROWS:
            self.flush()

    # -- writing --------------------------------------------------------------------------

    def flush(self) -> None:
        with self.db.chunk():
            self._flush_tasks()
            self._flush_datasets()
            self._flush_metrics()
            self._flush_benchmarks()
            self._flush_results()
        self._reset_chunk()

    def _flush_tasks(self) -> None:
        db = self.db
        new = [(slug, spec) for slug, spec in self.c_tasks.items() if slug not in self.task_ids]
        rows = []
        for (slug, spec), tid in zip(new, db.take_ids(T_TASK, len(new)), strict=True):
            self.task_ids[slug] = tid
            self.slug_of[tid] = slug
            self.task_names[slug] = spec.name
            rows.append((tid, slug, spec.name, spec.area, spec.description))
        db.insert(T_TASK, ("id", "slug", "name", "area", "description"), rows)
        parents = [
            (self.task_ids[spec.parent], self.task_ids[slug])
            for slug, spec in new
            if spec.parent and spec.parent != slug and spec.parent in self.task_ids
        ]
        db.update(T_TASK, ("parent_id",), parents)
        new_slugs = {slug for slug, _ in new}
        areas = [
            (spec.area, self.task_ids[slug])
            for slug, spec in self.c_tasks.items()
            if spec.area and slug not in new_slugs and slug not in self.tasks_with_area
        ]
        db.update(T_TASK, ("area",), areas)  # a later file may know the area an earlier one left out
        self.tasks_with_area.update(slug for slug, spec in self.c_tasks.items() if spec.area)
        self.report.add("tasks", inserted=len(new), updated=len(areas))
        self._flush_aliases()

    def _flush_aliases(self) -> None:
        wanted: dict[str, tuple[int, str]] = {}
        for slug, spec in self.c_tasks.items():
            tid = self.task_ids[slug]
            for alias in sorted(spec.synonyms):
                wanted.setdefault(alias, (tid, "dump"))
            name_alias = normalise(spec.name)[:NAME_CHARS]
            if name_alias:
                wanted[name_alias] = (tid, "name")
        self._write_aliases(wanted)

    def _write_aliases(self, wanted: dict[str, tuple[int, str]]) -> None:
        inserts, updates = [], []
        for alias, (tid, source) in wanted.items():
            current = self.aliases.get(alias)
            if current is None:
                inserts.append((alias, tid, source))
            elif current != (tid, source) and ALIAS_PRIORITY.get(current[1], 99) < ALIAS_PRIORITY[source]:
                updates.append((tid, source, alias))
            else:
                continue
            self.aliases[alias] = (tid, source)
        self.db.insert(T_ALIAS, ("alias", "task_id", "source"), inserts)
        self.db.update(T_ALIAS, ("task_id", "source"), updates, where=("alias",))
        self.report.add("aliases", inserted=len(inserts), updated=len(updates))

    def _flush_datasets(self) -> None:
        by_depth: dict[int, list[tuple[str, ...]]] = {}
        for path in self.c_datasets:
            if path not in self.path_ids:
                by_depth.setdefault(len(path), []).append(path)
        for depth in sorted(by_depth):
            new = []
            for path in by_depth[depth]:
                parent = self.path_ids[path[:-1]] if depth > 1 else None
                did = self.dataset_ids.get((path[-1], parent))
                if did is None:
                    new.append((path, parent))
                else:
                    self.path_ids[path] = did
            rows = []
            for (path, parent), did in zip(new, self.db.take_ids(T_DATASET, len(new)), strict=True):
                self.path_ids[path] = did
                self.dataset_ids[(path[-1], parent)] = did
                rows.append((did, path[-1], parent, self.c_datasets[path]))
            self.db.insert(T_DATASET, ("id", "name", "parent_id", "description"), rows)
            self.report.add("datasets", inserted=len(new))

    def _flush_metrics(self) -> None:
        names: dict[str, None] = {}
        for metric_names in self.c_bench.values():
            names.update(dict.fromkeys(metric_names))
        self.seen_metrics.update(names)
        new, changes = [], []
        for name in names:
            direction = metric_direction(name, self.overrides)
            current = self.metrics.get(name)
            if current is None:
                new.append((name, direction))
            elif current[1] != direction and (current[1] == "unknown" or self._overridden(name)):
                changes.append((direction, current[0]))
                self.metrics[name] = (current[0], direction)
        rows = []
        for (name, direction), mid in zip(new, self.db.take_ids(T_METRIC, len(new)), strict=True):
            self.metrics[name] = (mid, direction)
            rows.append((mid, name, direction))
        self.db.insert(T_METRIC, ("id", "name", "direction"), rows)
        self.db.update(T_METRIC, ("direction",), changes)
        self.report.add("metrics", inserted=len(new), updated=len(changes))

    def _overridden(self, name: str) -> bool:
        return bool(self.overrides) and metric_direction(name, self.overrides) != metric_direction(name)

    def _flush_benchmarks(self) -> None:
        db = self.db
        new, primaries = [], []
        for (slug, path), names in self.c_bench.items():
            key = (self.task_ids[slug], self.path_ids[path])
            first = self.metrics[names[0]][0] if names else None
            bid = self.bench_ids.get(key)
            if bid is None:
                new.append((key, first))
            elif self.bench_primary.get(bid) is None and first is not None:
                primaries.append((first, bid))
                self.bench_primary[bid] = first
        rows = []
        for (key, first), bid in zip(new, db.take_ids(T_BENCH, len(new)), strict=True):
            self.bench_ids[key] = bid
            self.bench_primary[bid] = first
            self.bench_state[bid] = (0, None)
            self.empty_benchmarks.add(bid)
            rows.append((bid, key[0], key[1], first, 0))
        db.insert(T_BENCH, ("id", "task_id", "dataset_id", "primary_metric_id", "result_count"), rows)
        db.update(T_BENCH, ("primary_metric_id",), primaries)
        self.report.add("benchmarks", inserted=len(new), updated=len(primaries))
        links = []
        for (slug, path), names in self.c_bench.items():
            bid = self.bench_ids[(self.task_ids[slug], self.path_ids[path])]
            self.touched_benchmarks.add(bid)
            positions = self.bench_metrics.setdefault(bid, {})
            for name in names:
                mid = self.metrics[name][0]
                if mid not in positions:
                    positions[mid] = max(positions.values(), default=-1) + 1
                    links.append((bid, mid, positions[mid]))
        db.insert(T_BM, ("benchmark_id", "metric_id", "position"), links)

    def _flush_results(self) -> None:
        if not self.c_rows:
            return
        db = self.db
        arxiv_titles: dict[str, str] = {}
        url_titles: dict[str, str] = {}
        for row in self.c_rows:
            if row.arxiv_id:
                if not arxiv_titles.get(row.arxiv_id):
                    arxiv_titles[row.arxiv_id] = row.paper_title or ""
            elif row.paper_url and not url_titles.get(row.paper_url):
                url_titles[row.paper_url] = row.paper_title or ""
        self.papers.resolve(arxiv_titles, url_titles)

        bench_of = {
            bench: self.bench_ids[(self.task_ids[bench[0]], self.path_ids[bench[1]])]
            for bench in {row.bench for row in self.c_rows}
        }
        existing: dict[tuple[int, str, str], tuple[Any, ...]] = {}
        stored = sorted(bid for bid in set(bench_of.values()) if bid not in self.empty_benchmarks)
        self.empty_benchmarks.difference_update(bench_of.values())
        for rec in db.lookup(T_RESULT, "benchmark_id", stored, "model", "paper_key", "id", "source", *_RESULT_FIELDS):
            existing[(rec[0], rec[1], rec[2])] = tuple(rec[3:])

        now = utc_now()
        new: list[tuple[tuple[int, str, str], tuple[Any, ...], list[tuple[str, str, float | None]]]] = []
        updates: list[tuple[Any, ...]] = []
        renames: list[tuple[Any, ...]] = []
        compare_values: dict[int, list[tuple[str, str, float | None]]] = {}
        keys_in_chunk: set[tuple[int, str, str]] = set()
        twins = _Twins(self._signatures, existing, bench_of, self.c_rows)
        seen = 0
        for row in self.c_rows:
            bid = bench_of[row.bench]
            key = (bid, row.model, row.paper_key)
            if row.arxiv_id:
                paper_id = self.papers.by_arxiv.get(row.arxiv_id)
            else:
                paper_id = self.papers.by_url.get(row.paper_url) if row.paper_url else None
            fields = (paper_id, row.paper_title, row.paper_url, row.code_url, row.result_date, row.extra_data)
            twin, renamed = None, False
            if key not in keys_in_chunk and key not in existing:
                # "Transformer Big + BT (2018)" beside "Transformer Big + BT", same paper, same values: one
                # result, named without the year and written as that spelling wrote it, whichever came first
                signature = self._signature(row.values)
                twin = twins.find(key, signature)
                if twin is None:
                    twins.add(key, signature, len(new))
                elif _plainer(row.model, twin) and (at := twins.pending.get(twin)) is not None:
                    new[at] = (key, fields, new[at][2])  # not stored yet: this spelling's row instead
                    twins.move(twin, key)
                    keys_in_chunk.add(key)
                    self.report.duplicates += 1
                    continue
                elif _plainer(row.model, twin) and existing[twin][1] == SOURCE:
                    renames.append((row.model, existing[twin][0]))
                    existing[key] = existing[twin]  # from here on the row of this spelling
                    twin, renamed = None, True
                else:
                    key = twin
            if key in keys_in_chunk:
                self.report.duplicates += 1
                continue
            keys_in_chunk.add(key)
            current = existing.get(key)
            if current is None:
                seen += 1
                new.append((key, fields, row.values))
                continue
            rid = current[0]
            if rid in self.touched_results and not renamed:
                self.report.duplicates += 1
                continue
            self.touched_results.add(rid)
            seen += 1
            if current[1] != SOURCE or row.variant or twin is not None:  # the live API, a claim, the main
                continue  # spelling or the spelling without the year wrote it
            if _stored(current[2:]) != fields:
                updates.append((*fields, rid))
            compare_values[rid] = row.values
        self.report.add("results", seen=seen)

        rows, value_rows = [], []
        for (key, fields, values), rid in zip(new, db.take_ids(T_RESULT, len(new)), strict=True):
            rows.append((rid, *key, *fields, SOURCE, True, now))
            value_rows.extend(self._value_rows(rid, values))
            self.touched_results.add(rid)
        db.insert(T_RESULT, RESULT_COLS, rows)
        db.update(T_RESULT, _RESULT_FIELDS, updates)
        db.update(T_RESULT, ("model",), renames)
        self.report.add("results", inserted=len(rows), updated=len(updates))
        value_updates = self._compare_values(compare_values, value_rows)
        db.insert(T_VALUE, VALUE_COLS, value_rows)
        db.update(T_VALUE, ("value", "raw"), value_updates)
        self.report.add("values", inserted=len(value_rows), updated=len(value_updates))

    def _signature(self, values: Iterable[tuple[str, str, float | None]]) -> frozenset[tuple[int, Any]]:
        """What a row says: each metric's number (its raw text when it has none), as `_value_rows` stores it."""
        out: dict[int, Any] = {}
        for name, raw, value in values:
            out.setdefault(self.metrics[name][0], raw if value is None else value)
        return frozenset(out.items())

    def _signatures(self, rids: Sequence[int]) -> dict[int, frozenset[tuple[int, Any]]]:
        """The signatures of stored results, from their values."""
        found: dict[int, dict[int, Any]] = {rid: {} for rid in rids}
        for rid, mid, value, raw in self.db.lookup(T_VALUE, "result_id", sorted(rids), "metric_id", "value", "raw"):
            found[rid][mid] = raw if value is None else value
        return {rid: frozenset(values.items()) for rid, values in found.items()}

    def _value_rows(self, rid: int, values: Iterable[tuple[str, str, float | None]]) -> list[tuple[Any, ...]]:
        out, done = [], set()
        for name, raw, value in values:
            mid = self.metrics[name][0]
            if mid not in done:
                done.add(mid)
                out.append((rid, mid, value, raw))
        self.report.add("values", seen=len(out))
        return out

    def _compare_values(
        self, compare: dict[int, list[tuple[str, str, float | None]]], inserts: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """Values of results already stored: missing ones join `inserts`, changed ones are returned."""
        if not compare:
            return []
        stored: dict[tuple[int, int], tuple[int, float | None, str]] = {}
        for rid, mid, vid, value, raw in self.db.lookup(T_VALUE, "result_id", sorted(compare), "metric_id", "id",
                                                        "value", "raw"):
            stored[(rid, mid)] = (vid, value, raw)
        updates = []
        for rid, values in compare.items():
            for row in self._value_rows(rid, values):
                current = stored.get((rid, row[1]))
                if current is None:
                    inserts.append(row)
                elif (current[1], current[2]) != (row[2], row[3]):
                    updates.append((row[2], row[3], current[0]))
        return updates

    def finish(self) -> None:
        self.flush()
        with self.db.chunk(last=True):
            self._write_aliases(
                {alias: (self.task_ids[target], "curated") for alias, target in curated_alias_rows(self.task_ids)}
            )
            self._update_benchmark_counts()
        self.report.add("tasks", seen=len(self.seen_tasks))
        self.report.add("datasets", seen=len(self.seen_paths))
        self.report.add("benchmarks", seen=len(self.seen_benchmarks))
        self.report.add("metrics", seen=len(self.seen_metrics))

    def _update_benchmark_counts(self) -> None:
        """Keep Benchmark.result_count and last_result_date true for every benchmark touched."""
        changes = []
        for part in chunks(sorted(self.touched_benchmarks)):
            counts: dict[int, tuple[int, date | None]] = {bid: (0, None) for bid in part}
            query = (
                select(T_RESULT.c.benchmark_id, func.count(), func.max(T_RESULT.c.result_date))
                .where(T_RESULT.c.benchmark_id.in_(part))
                .group_by(T_RESULT.c.benchmark_id)
            )
            for bid, count, last in self.db.conn.execute(query):
                counts[bid] = (count, _as_date(last))
            for bid, state in counts.items():
                if self.bench_state.get(bid) != state:
                    changes.append((state[0], state[1], bid))
        self.db.update(T_BENCH, ("result_count", "last_result_date"), changes)


class _Twins:
    """Results of a chunk's benchmarks by (benchmark, model without a trailing year, paper), with what they say.

    One NLP-progress export names its models "Transformer Big + BT (2018)", another "Transformer Big + BT":
    the same paper with the same values is the same result, whichever spelling came first. Rows without
    a paper are never twins (nothing says they are one result)."""

    def __init__(
        self,
        signatures: Callable[[Sequence[int]], dict[int, frozenset[Any]]],
        existing: dict[tuple[int, str, str], tuple[Any, ...]],
        bench_of: dict[tuple[str, tuple[str, ...]], int],
        rows: Sequence[_Row],
    ) -> None:
        self.by_twin: dict[tuple[int, str, str], list[tuple[tuple[int, str, str], frozenset[Any]]]] = {}
        self.pending: dict[tuple[int, str, str], int] = {}  # key of a row not yet stored -> its place in `new`
        stored: dict[tuple[int, str, str], list[tuple[int, str, str]]] = {}
        for key in existing:
            if key[2]:
                stored.setdefault(_twin_key(key), []).append(key)
        wanted = {
            _twin_key((bench_of[row.bench], row.model, row.paper_key))
            for row in rows
            if row.paper_key and (bench_of[row.bench], row.model, row.paper_key) not in existing
        }
        keys = [key for twin in wanted & stored.keys() for key in stored[twin]]
        found = signatures([existing[key][0] for key in keys]) if keys else {}
        for key in keys:
            self.by_twin.setdefault(_twin_key(key), []).append((key, found[existing[key][0]]))

    def find(self, key: tuple[int, str, str], signature: frozenset[Any]) -> tuple[int, str, str] | None:
        if not key[2]:
            return None
        for other, said in self.by_twin.get(_twin_key(key), ()):
            if said == signature and other != key:
                return other
        return None

    def add(self, key: tuple[int, str, str], signature: frozenset[Any], at: int) -> None:
        if key[2]:
            self.by_twin.setdefault(_twin_key(key), []).append((key, signature))
            self.pending[key] = at

    def move(self, old: tuple[int, str, str], new: tuple[int, str, str]) -> None:
        """A pending row is renamed: later rows of either spelling find it under its new name."""
        entries = self.by_twin[_twin_key(old)]
        entries[:] = [(new if key == old else key, said) for key, said in entries]
        self.pending[new] = self.pending.pop(old)


def _twin_key(key: tuple[int, str, str]) -> tuple[int, str, str]:
    return (key[0], model_key(key[1]), key[2])


def _plainer(model: str, other: tuple[int, str, str]) -> bool:
    """`model` is the spelling without the year of a twin spelled with one."""
    return model_key(model) == model and other[1] != model


RESULT_COLS = ("id", "benchmark_id", "model", "paper_key", *_RESULT_FIELDS, "source", "verified", "first_seen_at")
VALUE_COLS = ("result_id", "metric_id", "value", "raw")


_CURATED_NORMALISED = {normalise(alias)[:NAME_CHARS]: target for alias, target in CURATED_ALIASES.items()}


def _unescaped(text: str) -> str:
    """HTML entities decoded ("R&amp;D" -> "R&D"): some archive cells were scraped from HTML."""
    return " ".join(html.unescape(text).split()) if "&" in text else text


def _as_date(value: Any) -> date | None:
    """SQLite hands max() of a date column back as text."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _stored(fields: Sequence[Any]) -> tuple[Any, ...]:
    """Stored result fields in the importer's types (booleans may come back as 0/1)."""
    paper_id, title, url, code, when, extra = fields
    return (paper_id, title, url, code, _as_date(when), bool(extra))


def curated_alias_rows(task_ids: dict[str, int]) -> list[tuple[str, str]]:
    """(normalised alias, target slug) for every curated alias whose target task exists."""
    out = []
    for alias, target in CURATED_ALIASES.items():
        norm = normalise(alias)[:NAME_CHARS]
        if norm and target in task_ids:
            out.append((norm, target))
    return out


def _overrides(config: Any) -> dict[str, str]:
    metrics = getattr(config, "metrics", None) if config is not None else None
    return dict(metrics or {})


def import_tables(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import an evaluation-tables.json(.gz) or a Parquet shard of it: tasks, datasets, benchmarks, metrics, results."""
    overrides = _overrides(config)

    def body(db: ArchiveDb, path: Path, label: str, report: ImportReport) -> None:
        importer = _TablesImport(db, label, overrides, report)
        for index, task in enumerate(archive_records(path, label, "tasks", progress)):
            importer.add_task(task, None, f"task #{index}")
        importer.finish()

    return run_file("pwc-tables", engine, source, progress, body)
