"""merge what the importer now merges: a dataset whatever its metric is called, year-named models

Databases built before this revision hold, on a fresh install already:

- the archive's "librispeech WER testclean" (metric "Percentage error") beside the claims'
  "LibriSpeech test-clean" (metric "WER") in Speech Recognition: one dataset, one quantity;
- "PTB" beside "Penn Treebank (Perplexity when parsing English sentences)" in Language Modelling,
  and an empty task "Automatic speech recognition (ASR)" beside Speech Recognition;
- "Transformer Big + BT (2018)" beside "Transformer Big + BT": the same paper, the same values.

This revision applies today's naming rules the way revision 0002 does (its merger, run again: the
rules are `sources.normalise.variants` and `taxonomy` as they are now), then, within each benchmark:

- metrics that are one quantity in the task (`variants.metric_key`) become the first the benchmark
  declares (else the first its rows carry); a row holding both keeps that one's value;
- archive rows whose model differs only by a trailing "(YYYY)" (`variants.model_key`), from the
  same paper with the same values, become one row: the one named without the year (events follow).

No schema change; running it on a clean database changes nothing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A data migration applies the naming rules the importer applies (sources.normalise: pure functions,
# no I/O); tests/test_layers.py allows data migrations exactly this import and no other.
from sotabot.sources.normalise import variants as _variants  # noqa: E402

ARCHIVE = "pwc_archive"

_m = sa.MetaData()
tasks = sa.Table("tasks", _m, sa.Column("id", sa.Integer), sa.Column("slug", sa.String))
metrics = sa.Table("metrics", _m, sa.Column("id", sa.Integer), sa.Column("name", sa.String))
benchmarks = sa.Table(
    "benchmarks", _m, sa.Column("id", sa.Integer), sa.Column("task_id", sa.Integer),
    sa.Column("primary_metric_id", sa.Integer),
)
bench_metrics = sa.Table(
    "benchmark_metrics", _m, sa.Column("id", sa.Integer), sa.Column("benchmark_id", sa.Integer),
    sa.Column("metric_id", sa.Integer), sa.Column("position", sa.Integer),
)
results = sa.Table(
    "results", _m, sa.Column("id", sa.Integer), sa.Column("benchmark_id", sa.Integer),
    sa.Column("model", sa.String), sa.Column("paper_key", sa.String), sa.Column("source", sa.String),
)
values = sa.Table(
    "result_values", _m, sa.Column("id", sa.Integer), sa.Column("result_id", sa.Integer),
    sa.Column("metric_id", sa.Integer), sa.Column("value", sa.Float), sa.Column("raw", sa.String),
)
events = sa.Table("result_events", _m, sa.Column("id", sa.Integer), sa.Column("result_id", sa.Integer))


def _revision_0002() -> ModuleType:
    """Revision 0002's merger (alembic loads revisions by path; so does this)."""
    path = Path(__file__).with_name("0002_merge_duplicates.py")
    spec = importlib.util.spec_from_file_location("_sotabot_revision_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _said(value: float | None, raw: str | None) -> Any:
    """What a value says, as the importer compares rows: its number, else its raw text."""
    return raw if value is None else value


class _Variants:
    def __init__(self, conn: sa.Connection) -> None:
        self.c = conn
        self.touched: set[int] = set()  # benchmarks that lost rows

    def merge_metrics(self) -> None:
        """Within a benchmark, one metric per quantity of its task ("Percentage error" and "WER")."""
        c = self.c
        names = dict(c.execute(sa.select(metrics.c.id, metrics.c.name)).all())
        slug_of = dict(c.execute(sa.select(tasks.c.id, tasks.c.slug)).all())
        declared: dict[int, list[int]] = defaultdict(list)
        for bid, mid in c.execute(
            sa.select(bench_metrics.c.benchmark_id, bench_metrics.c.metric_id).order_by(
                bench_metrics.c.benchmark_id, bench_metrics.c.position, bench_metrics.c.id
            )
        ):
            declared[bid].append(mid)
        carried: dict[int, list[int]] = defaultdict(list)
        for bid, mid in c.execute(
            sa.select(results.c.benchmark_id, values.c.metric_id)
            .join(values, values.c.result_id == results.c.id)
            .distinct()
            .order_by(results.c.benchmark_id, values.c.metric_id)
        ):
            carried[bid].append(mid)
        for bid, tid, primary in c.execute(
            sa.select(benchmarks.c.id, benchmarks.c.task_id, benchmarks.c.primary_metric_id).order_by(benchmarks.c.id)
        ).all():
            slug = slug_of.get(tid)
            order = list(dict.fromkeys([*declared.get(bid, []), *carried.get(bid, [])]))
            kept: dict[str, int] = {}
            for mid in order:
                name = names.get(mid)
                if name is None:
                    continue
                into = kept.setdefault(_variants.metric_key(name, slug), mid)
                if into != mid:
                    self._move_values(bid, mid, into, declared.get(bid, []))
                    if primary == mid:
                        c.execute(benchmarks.update().where(benchmarks.c.id == bid).values(primary_metric_id=into))

    def _move_values(self, bid: int, gone: int, into: int, declared: list[int]) -> None:
        c = self.c
        rids = sa.select(results.c.id).where(results.c.benchmark_id == bid)
        both = sa.select(values.c.result_id).where(values.c.metric_id == into, values.c.result_id.in_(rids))
        c.execute(values.delete().where(values.c.metric_id == gone, values.c.result_id.in_(both)))
        c.execute(values.update().where(values.c.metric_id == gone, values.c.result_id.in_(rids)).values(metric_id=into))
        if gone in declared:
            c.execute(bench_metrics.delete().where(bench_metrics.c.benchmark_id == bid, bench_metrics.c.metric_id == gone))
            if into not in declared:
                position = max(
                    (p for (p,) in c.execute(
                        sa.select(bench_metrics.c.position).where(bench_metrics.c.benchmark_id == bid)
                    )),
                    default=-1,
                ) + 1
                c.execute(bench_metrics.insert().values(benchmark_id=bid, metric_id=into, position=position))
                declared.append(into)

    def merge_year_spellings(self) -> None:
        """Archive rows of one benchmark, model, paper and values but for a trailing "(YYYY)": one row."""
        c = self.c
        said: dict[int, frozenset[Any]] = defaultdict(frozenset)
        archive = (results.c.source == ARCHIVE, results.c.paper_key != "")
        year_named = c.execute(  # few: the benchmarks they are on are the only ones to look at
            sa.select(results.c.benchmark_id).where(*archive, results.c.model.like("%(____)")).distinct()
        ).scalars().all()
        groups: dict[tuple[int, str, str], list[tuple[int, str]]] = defaultdict(list)
        for start in range(0, len(year_named), 500):
            part = sorted(year_named)[start:start + 500]
            for rid, bid, model, paper in c.execute(
                sa.select(results.c.id, results.c.benchmark_id, results.c.model, results.c.paper_key)
                .where(*archive, results.c.benchmark_id.in_(part))
                .order_by(results.c.id)
            ):
                groups[(bid, _variants.model_key(model), paper)].append((rid, model))
        twins = {rid for group in groups.values() if len(group) > 1 for rid, _model in group}
        if not twins:
            return
        found: dict[int, dict[int, Any]] = defaultdict(dict)
        ordered = sorted(twins)
        for start in range(0, len(ordered), 500):
            for rid, mid, value, raw in c.execute(
                sa.select(values.c.result_id, values.c.metric_id, values.c.value, values.c.raw).where(
                    values.c.result_id.in_(ordered[start:start + 500])
                )
            ):
                found[rid][mid] = _said(value, raw)
        said.update({rid: frozenset(v.items()) for rid, v in found.items()})
        for (bid, plain, _paper), group in groups.items():
            if len(group) < 2:
                continue
            by_values: dict[frozenset[Any], list[tuple[int, str]]] = defaultdict(list)
            for rid, model in group:
                by_values[said[rid]].append((rid, model))
            for same in by_values.values():
                if len(same) < 2:
                    continue
                # the row named without the year, else the oldest
                kept = next((rid for rid, model in same if model == plain), same[0][0])
                for rid, _model in same:
                    if rid != kept:
                        c.execute(events.update().where(events.c.result_id == rid).values(result_id=kept))
                        c.execute(values.delete().where(values.c.result_id == rid))
                        c.execute(results.delete().where(results.c.id == rid))
                self.touched.add(bid)


def upgrade() -> None:
    conn = op.get_bind()
    merger = _revision_0002()._Merger(conn)
    merger.merge_tasks()
    merger.merge_spellings()
    variants = _Variants(conn)
    variants.merge_metrics()
    variants.merge_year_spellings()
    merger.touched |= variants.touched
    merger.recount()
    merger.drop_unused_datasets()


def downgrade() -> None:
    """Merged rows are not split again: the merge is what every later import does too."""
