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

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The naming rules as the importer applies them (allowed to data migrations by tests/test_layers.py).
from sotabot.sources.normalise import variants as _variants  # noqa: E402

ARCHIVE = "pwc_archive"


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
    """The merges 0002 did not know; `t` is revision 0002's module, for its table definitions."""

    def __init__(self, conn: sa.Connection, t: ModuleType) -> None:
        self.c = conn
        self.t = t
        self.touched: set[int] = set()  # benchmarks that lost rows

    def merge_metrics(self) -> None:
        """Within a benchmark, one metric per quantity of its task ("Percentage error" and "WER")."""
        c, t = self.c, self.t
        names = dict(c.execute(sa.select(t.metrics.c.id, t.metrics.c.name)).all())
        slug_of = dict(c.execute(sa.select(t.tasks.c.id, t.tasks.c.slug)).all())
        declared: dict[int, list[int]] = defaultdict(list)
        for bid, mid in c.execute(
            sa.select(t.bench_metrics.c.benchmark_id, t.bench_metrics.c.metric_id).order_by(
                t.bench_metrics.c.benchmark_id, t.bench_metrics.c.position, t.bench_metrics.c.id
            )
        ):
            declared[bid].append(mid)
        carried: dict[int, list[int]] = defaultdict(list)
        for bid, mid in c.execute(
            sa.select(t.results.c.benchmark_id, t.values.c.metric_id)
            .join(t.values, t.values.c.result_id == t.results.c.id)
            .distinct()
            .order_by(t.results.c.benchmark_id, t.values.c.metric_id)
        ):
            carried[bid].append(mid)
        bench = t.benchmarks.c
        for bid, tid, primary in c.execute(
            sa.select(bench.id, bench.task_id, bench.primary_metric_id).order_by(bench.id)
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
                        c.execute(t.benchmarks.update().where(t.benchmarks.c.id == bid).values(primary_metric_id=into))

    def _move_values(self, bid: int, gone: int, into: int, declared: list[int]) -> None:
        c, t = self.c, self.t
        rids = sa.select(t.results.c.id).where(t.results.c.benchmark_id == bid)
        both = sa.select(t.values.c.result_id).where(t.values.c.metric_id == into, t.values.c.result_id.in_(rids))
        c.execute(t.values.delete().where(t.values.c.metric_id == gone, t.values.c.result_id.in_(both)))
        c.execute(
            t.values.update().where(t.values.c.metric_id == gone, t.values.c.result_id.in_(rids)).values(metric_id=into)
        )
        bm = t.bench_metrics.c
        if gone in declared:
            c.execute(t.bench_metrics.delete().where(bm.benchmark_id == bid, bm.metric_id == gone))
            if into not in declared:
                position = max(
                    (p for (p,) in c.execute(
                        sa.select(t.bench_metrics.c.position).where(t.bench_metrics.c.benchmark_id == bid)
                    )),
                    default=-1,
                ) + 1
                c.execute(t.bench_metrics.insert().values(benchmark_id=bid, metric_id=into, position=position))
                declared.append(into)

    def merge_year_spellings(self) -> None:
        """Archive rows of one benchmark, model, paper and values but for a trailing "(YYYY)": one row."""
        c, t = self.c, self.t
        said: dict[int, frozenset[Any]] = defaultdict(frozenset)
        archive = (t.results.c.source == ARCHIVE, t.results.c.paper_key != "")
        year_named = c.execute(  # few: the benchmarks they are on are the only ones to look at
            sa.select(t.results.c.benchmark_id).where(*archive, t.results.c.model.like("%(____)")).distinct()
        ).scalars().all()
        groups: dict[tuple[int, str, str], list[tuple[int, str]]] = defaultdict(list)
        for start in range(0, len(year_named), 500):
            part = sorted(year_named)[start:start + 500]
            for rid, bid, model, paper in c.execute(
                sa.select(t.results.c.id, t.results.c.benchmark_id, t.results.c.model, t.results.c.paper_key)
                .where(*archive, t.results.c.benchmark_id.in_(part))
                .order_by(t.results.c.id)
            ):
                groups[(bid, _variants.model_key(model), paper)].append((rid, model))
        twins = {rid for group in groups.values() if len(group) > 1 for rid, _model in group}
        if not twins:
            return
        found: dict[int, dict[int, Any]] = defaultdict(dict)
        ordered = sorted(twins)
        for start in range(0, len(ordered), 500):
            for rid, mid, value, raw in c.execute(
                sa.select(t.values.c.result_id, t.values.c.metric_id, t.values.c.value, t.values.c.raw).where(
                    t.values.c.result_id.in_(ordered[start:start + 500])
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
                        c.execute(t.events.update().where(t.events.c.result_id == rid).values(result_id=kept))
                        c.execute(t.values.delete().where(t.values.c.result_id == rid))
                        c.execute(t.results.delete().where(t.results.c.id == rid))
                self.touched.add(bid)


def upgrade() -> None:
    conn = op.get_bind()
    revision_0002 = _revision_0002()
    merger = revision_0002._Merger(conn)
    merger.merge_tasks()
    merger.merge_spellings()
    variants = _Variants(conn, revision_0002)
    variants.merge_metrics()
    variants.merge_year_spellings()
    merger.touched |= variants.touched
    merger.recount()
    merger.drop_unused_datasets()


def downgrade() -> None:
    """Merged rows are not split again: the merge is what every later import does too."""
