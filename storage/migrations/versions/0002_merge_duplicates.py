"""merge duplicates an older importer stored apart

An older sotabot kept "SQuAD1.1" and "SQuAD v1.1" of one task as two benchmarks, and a task
"ASR" beside "Speech Recognition". Today's import merges them as it reads; this revision merges
what is already stored the same way, so a later import of the old spelling lands in one place:

- tasks whose name is a curated alias of another task are folded into it (benchmarks,
  subscriptions, aliases, subtasks, events); the old name and slug stay as aliases;
- benchmarks of one task on spellings of one dataset (same `dataset_key`) become the benchmark
  the import path keeps: the spelling of the task's oldest top-level benchmark. On a
  model+paper both hold, the kept benchmark's row stays and the other is dropped.

No schema change; running it on a clean database changes nothing.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME_CHARS = 300

# A data migration applies the naming rules the importer applies (sources.normalise: pure functions,
# no I/O); tests/test_layers.py allows data migrations exactly this import and no other.
from sotabot.sources.normalise import taxonomy as _taxonomy  # noqa: E402
from sotabot.sources.normalise import variants as _variants  # noqa: E402

_m = sa.MetaData()
tasks = sa.Table(
    "tasks", _m, sa.Column("id", sa.Integer), sa.Column("slug", sa.String), sa.Column("name", sa.String),
    sa.Column("parent_id", sa.Integer), sa.Column("default_benchmark_id", sa.Integer),
)
aliases = sa.Table(
    "task_aliases", _m, sa.Column("id", sa.Integer), sa.Column("alias", sa.String),
    sa.Column("task_id", sa.Integer), sa.Column("source", sa.String),
)
datasets = sa.Table(
    "datasets", _m, sa.Column("id", sa.Integer), sa.Column("name", sa.String), sa.Column("parent_id", sa.Integer),
    sa.Column("description", sa.Text),
)
benchmarks = sa.Table(
    "benchmarks", _m, sa.Column("id", sa.Integer), sa.Column("task_id", sa.Integer),
    sa.Column("dataset_id", sa.Integer), sa.Column("primary_metric_id", sa.Integer),
    sa.Column("priority", sa.Integer), sa.Column("result_count", sa.Integer),
    sa.Column("last_result_date", sa.Date),
)
bench_metrics = sa.Table(
    "benchmark_metrics", _m, sa.Column("id", sa.Integer), sa.Column("benchmark_id", sa.Integer),
    sa.Column("metric_id", sa.Integer), sa.Column("position", sa.Integer),
)
results = sa.Table(
    "results", _m, sa.Column("id", sa.Integer), sa.Column("benchmark_id", sa.Integer),
    sa.Column("model", sa.String), sa.Column("paper_key", sa.String), sa.Column("result_date", sa.Date),
    sa.Column("source", sa.String),
)
values = sa.Table(
    "result_values", _m, sa.Column("id", sa.Integer), sa.Column("result_id", sa.Integer),
    sa.Column("metric_id", sa.Integer), sa.Column("value", sa.Float), sa.Column("raw", sa.String),
)
metrics = sa.Table("metrics", _m, sa.Column("id", sa.Integer), sa.Column("name", sa.String))  # for 0005
events = sa.Table(
    "result_events", _m, sa.Column("id", sa.Integer), sa.Column("task_id", sa.Integer),
    sa.Column("benchmark_id", sa.Integer), sa.Column("result_id", sa.Integer),
)
subscriptions = sa.Table(
    "subscriptions", _m, sa.Column("id", sa.Integer), sa.Column("channel_id", sa.Integer),
    sa.Column("kind", sa.String), sa.Column("target", sa.String),
)


def _norm(name: str) -> str:
    return _taxonomy.normalise(name)[:NAME_CHARS]


def _as_date(value: Any) -> date | None:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


class _Merger:
    def __init__(self, conn: sa.Connection) -> None:
        self.c = conn
        self.touched: set[int] = set()  # benchmarks that received rows
        self.loser_datasets: set[int] = set()

    # -- benchmarks ----------------------------------------------------------------------

    def merge_benchmark(self, loser: int, winner: int) -> None:
        """Move the loser's rows onto the winner; a model+paper both hold keeps the winner's row."""
        c = self.c
        kept = {
            (model, key): rid
            for rid, model, key in c.execute(
                sa.select(results.c.id, results.c.model, results.c.paper_key).where(results.c.benchmark_id == winner)
            )
        }
        dropped: dict[int, int] = {}
        for rid, model, key in c.execute(
            sa.select(results.c.id, results.c.model, results.c.paper_key).where(results.c.benchmark_id == loser)
        ).all():
            if (model, key) in kept:
                dropped[rid] = kept[(model, key)]
        for rid, into in dropped.items():
            c.execute(events.update().where(events.c.result_id == rid).values(result_id=into))
            c.execute(values.delete().where(values.c.result_id == rid))
            c.execute(results.delete().where(results.c.id == rid))
        c.execute(results.update().where(results.c.benchmark_id == loser).values(benchmark_id=winner))
        have = {
            mid: pos
            for mid, pos in c.execute(
                sa.select(bench_metrics.c.metric_id, bench_metrics.c.position).where(
                    bench_metrics.c.benchmark_id == winner
                )
            )
        }
        nxt = max(have.values(), default=-1) + 1
        for mid, _pos in c.execute(
            sa.select(bench_metrics.c.metric_id, bench_metrics.c.position)
            .where(bench_metrics.c.benchmark_id == loser)
            .order_by(bench_metrics.c.position)
        ).all():
            if mid not in have:
                c.execute(bench_metrics.insert().values(benchmark_id=winner, metric_id=mid, position=nxt))
                have[mid] = nxt
                nxt += 1
        c.execute(bench_metrics.delete().where(bench_metrics.c.benchmark_id == loser))
        c.execute(events.update().where(events.c.benchmark_id == loser).values(benchmark_id=winner))
        c.execute(tasks.update().where(tasks.c.default_benchmark_id == loser).values(default_benchmark_id=winner))
        w_primary, w_priority = c.execute(
            sa.select(benchmarks.c.primary_metric_id, benchmarks.c.priority).where(benchmarks.c.id == winner)
        ).one()
        l_primary, l_priority, l_dataset = c.execute(
            sa.select(benchmarks.c.primary_metric_id, benchmarks.c.priority, benchmarks.c.dataset_id).where(
                benchmarks.c.id == loser
            )
        ).one()
        fill: dict[str, Any] = {}
        if w_primary is None and l_primary is not None:
            fill["primary_metric_id"] = l_primary
        if w_priority is None and l_priority is not None:
            fill["priority"] = l_priority
        if fill:
            c.execute(benchmarks.update().where(benchmarks.c.id == winner).values(**fill))
        c.execute(benchmarks.delete().where(benchmarks.c.id == loser))
        self.loser_datasets.add(l_dataset)
        self.touched.add(winner)

    def recount(self) -> None:
        for bid in sorted(self.touched):
            count, last = self.c.execute(
                sa.select(sa.func.count(results.c.id), sa.func.max(results.c.result_date)).where(
                    results.c.benchmark_id == bid
                )
            ).one()
            self.c.execute(
                benchmarks.update()
                .where(benchmarks.c.id == bid)
                .values(result_count=count, last_result_date=_as_date(last))
            )

    # -- datasets ------------------------------------------------------------------------

    def _dataset(self, name: str, parent: int | None) -> int:
        """The dataset row (name, parent), created when missing."""
        cond = datasets.c.parent_id.is_(None) if parent is None else datasets.c.parent_id == parent
        found = self.c.execute(sa.select(datasets.c.id).where(datasets.c.name == name, cond)).scalar()
        if found is not None:
            return found
        return self.c.execute(datasets.insert().values(name=name, parent_id=parent).returning(datasets.c.id)).scalar_one()

    def merge_spellings(self) -> None:
        """Within each task, one benchmark per dataset_key of the top-level dataset (and subdataset path)."""
        c = self.c
        ds = {did: (name, parent) for did, name, parent in c.execute(sa.select(datasets.c.id, datasets.c.name,
                                                                               datasets.c.parent_id))}

        def path(did: int) -> tuple[str, ...]:
            out: list[str] = []
            seen: set[int] = set()
            cur: int | None = did
            while cur is not None and cur in ds and cur not in seen:
                seen.add(cur)
                out.append(ds[cur][0])
                cur = ds[cur][1]
            return tuple(reversed(out))

        by_task: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for bid, tid, did in c.execute(
            sa.select(benchmarks.c.id, benchmarks.c.task_id, benchmarks.c.dataset_id).order_by(benchmarks.c.id)
        ):
            by_task[tid].append((bid, did))
        slug_of = dict(c.execute(sa.select(tasks.c.id, tasks.c.slug)).all())
        for tid, items in by_task.items():
            slug = slug_of.get(tid)

            def key(name: str, slug: str | None = slug) -> str:
                return _variants.dataset_key(name, slug)  # with the task's own variants ("PTB")

            spelled: dict[str, str] = {}  # dataset_key -> the top-level name the import keeps
            for _bid, did in items:  # the importer's rule: the oldest top-level benchmark's spelling,
                if ds.get(did, ("", 0))[1] is None:  # a curated variant giving way to a readable one
                    name = ds[did][0]
                    kept = spelled.setdefault(key(name), name)
                    if _variants.is_variant_spelling(kept) and not _variants.is_variant_spelling(name):
                        spelled[key(name)] = name
            paths = {bid: path(did) for bid, did in items}
            for bid, _did in items:
                spelled.setdefault(key(paths[bid][0]), paths[bid][0])
            if len(spelled) == len({p[0] for p in paths.values()}):
                continue  # no two spellings of one dataset in this task
            wanted: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
            for bid, did in items:  # in id order: the oldest benchmark of a dataset is the one kept
                wanted[(spelled[key(paths[bid][0])], *paths[bid][1:])].append((bid, did))
            for want, group in wanted.items():
                (kept, kept_dataset), *others = group
                for bid, _did in others:
                    self.merge_benchmark(bid, kept)
                if paths[kept] != want:  # it takes the kept spelling's name ("LibriSpeech test-clean")
                    parent: int | None = None
                    for name in want:
                        parent = self._dataset(name, parent)
                    c.execute(benchmarks.update().where(benchmarks.c.id == kept).values(dataset_id=parent))
                    self.loser_datasets.add(kept_dataset)

    def drop_unused_datasets(self) -> None:
        """Datasets left behind by a merge that no benchmark and no subdataset uses (leaves first)."""
        c = self.c
        pending = set(self.loser_datasets)
        while pending:
            did = pending.pop()
            used = c.execute(sa.select(benchmarks.c.id).where(benchmarks.c.dataset_id == did).limit(1)).first()
            child = c.execute(sa.select(datasets.c.id).where(datasets.c.parent_id == did).limit(1)).first()
            if used or child:
                continue
            parent = c.execute(sa.select(datasets.c.parent_id).where(datasets.c.id == did)).scalar()
            c.execute(datasets.delete().where(datasets.c.id == did))
            if parent is not None:
                pending.add(parent)

    # -- tasks ---------------------------------------------------------------------------

    def merge_tasks(self) -> None:
        """Fold each task whose name is a curated alias of another existing task into that task."""
        c = self.c
        rows = c.execute(sa.select(tasks.c.id, tasks.c.slug, tasks.c.name).order_by(tasks.c.id)).all()
        by_slug = {slug: (tid, name) for tid, slug, name in rows}
        curated = {_norm(alias): target for alias, target in _taxonomy.CURATED_ALIASES.items()}
        for tid, slug, name in rows:
            target = curated.get(_norm(name))
            if not target or target == slug or target not in by_slug:
                continue
            self.merge_task(tid, slug, name, by_slug[target][0], target)

    def merge_task(self, loser: int, slug: str, name: str, winner: int, target: str) -> None:
        c = self.c
        held = {
            did: bid
            for bid, did in c.execute(
                sa.select(benchmarks.c.id, benchmarks.c.dataset_id).where(benchmarks.c.task_id == winner)
            )
        }
        for bid, did in c.execute(
            sa.select(benchmarks.c.id, benchmarks.c.dataset_id).where(benchmarks.c.task_id == loser)
        ).all():
            if did in held:
                self.merge_benchmark(bid, held[did])
            else:
                c.execute(benchmarks.update().where(benchmarks.c.id == bid).values(task_id=winner))
        for sid, channel in c.execute(
            sa.select(subscriptions.c.id, subscriptions.c.channel_id).where(
                subscriptions.c.kind == "task", subscriptions.c.target == slug
            )
        ).all():
            dup = c.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.channel_id == channel,
                    subscriptions.c.kind == "task",
                    subscriptions.c.target == target,
                )
            ).first()
            if dup:
                c.execute(subscriptions.delete().where(subscriptions.c.id == sid))
            else:
                c.execute(subscriptions.update().where(subscriptions.c.id == sid).values(target=target))
        c.execute(aliases.update().where(aliases.c.task_id == loser).values(task_id=winner))
        for alias, source in ((_norm(name), "name"), (_norm(slug), "slug")):
            if alias and c.execute(sa.select(aliases.c.id).where(aliases.c.alias == alias)).first() is None:
                c.execute(aliases.insert().values(alias=alias, task_id=winner, source=source))
        c.execute(tasks.update().where(tasks.c.parent_id == loser).values(parent_id=winner))
        c.execute(events.update().where(events.c.task_id == loser).values(task_id=winner))
        w_default = c.execute(sa.select(tasks.c.default_benchmark_id).where(tasks.c.id == winner)).scalar()
        l_default = c.execute(sa.select(tasks.c.default_benchmark_id).where(tasks.c.id == loser)).scalar()
        if w_default is None and l_default is not None:
            c.execute(tasks.update().where(tasks.c.id == winner).values(default_benchmark_id=l_default))
        c.execute(tasks.delete().where(tasks.c.id == loser))


def upgrade() -> None:
    merger = _Merger(op.get_bind())
    merger.merge_tasks()
    merger.merge_spellings()
    merger.recount()
    merger.drop_unused_datasets()


def downgrade() -> None:
    """Merged rows are not split again: the merge is what every later import does too."""
