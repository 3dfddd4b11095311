"""Task alerts: result events matched to channel subscriptions, queued as deliveries.

Events not yet alerted are read in id order, matched to subscriptions (task slug for result
events; task, arXiv category or keyword for new papers with code), grouped per channel and
queued: one event gives one message, many at once give one batched message per channel.
Queueing and stamping `alerted_at` commit together, so a crash or a second run alerts
nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.digests.message import Context, Header, Message, Section, md_escape, md_link
from sotabot.storage.db import is_postgres
from sotabot.storage.models import (
    Benchmark,
    Channel,
    Dataset,
    Metric,
    Paper,
    Result,
    ResultEvent,
    ResultValue,
    Subscription,
    Task,
)
from sotabot.storage.outbox import enqueue

log = logging.getLogger(__name__)

MAX_EVENTS_PER_RUN = 2000
MAX_LINES_PER_MESSAGE = 25
KIND_LABEL = {
    "new_sota": "New state of the art",
    "new_result": "New result",
    "new_paper_with_code": "New paper with code",
}


@dataclass
class AlertReport:
    events: int = 0
    deliveries: int = 0
    channels: int = 0


@dataclass(frozen=True)
class EventView:
    """What an alert line says about one event, resolved from the database."""

    id: int
    kind: str
    task_slug: str | None
    task_name: str | None
    line: str
    categories: tuple[str, ...]
    text: str  # title + abstract, for keyword subscriptions
    subscribed_by: date | None = None  # a first sync's dated row: news only to task channels subscribed by then


def _md_link(text: str, url: str | None) -> str:
    return md_link(text, url)


def _describe(session: Session, event: ResultEvent) -> EventView:
    task = session.get(Task, event.task_id) if event.task_id else None
    paper = session.get(Paper, event.paper_id) if event.paper_id else None
    result = session.get(Result, event.result_id) if event.result_id else None
    label = KIND_LABEL.get(event.kind, event.kind)
    where = ""
    if event.benchmark_id:
        bench = session.get(Benchmark, event.benchmark_id)
        dataset = session.get(Dataset, bench.dataset_id) if bench else None
        where = f" on {md_escape(dataset.name)}" if dataset else ""
    if result is not None:
        value = ""
        rows = session.exec(
            select(ResultValue, Metric)
            .join(Metric, col(Metric.id) == ResultValue.metric_id)
            .where(ResultValue.result_id == result.id)
        ).all()
        bench = session.get(Benchmark, result.benchmark_id)
        primary = bench.primary_metric_id if bench else None
        chosen = next((r for r in rows if r[1].id == primary), rows[0] if rows else None)
        if chosen is not None:
            value = f": {md_escape(chosen[1].name)} {md_escape(str(chosen[0].raw or chosen[0].value))}"
        unverified = "" if result.verified else " _(claimed, unverified)_"
        paper_part = f" — {_md_link(result.paper_title, result.paper_url)}" if result.paper_title else ""
        code = f" · {md_link('code', result.code_url)}" if result.code_url else ""
        line = f"**{label}**{where}{value} by **{md_escape(result.model)}**{paper_part}{code}{unverified}"
    elif paper is not None:
        url = f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else paper.url
        repo = event.payload.get("repo_url") if isinstance(event.payload, dict) else None
        code = f" · {md_link('code', repo)}" if repo else ""
        line = f"**{label}**: {_md_link(paper.title or paper.arxiv_id or 'paper', url)}{code}"
    else:
        summary = event.payload.get("summary", "") if isinstance(event.payload, dict) else ""
        line = f"**{label}**{where}: {md_escape(str(summary))}"
    if task is not None:
        line += f" ({md_escape(task.name)})"
    return EventView(
        id=event.id or 0,
        kind=event.kind,
        task_slug=task.slug if task else None,
        task_name=task.name if task else None,
        line=line,
        categories=tuple(c.lower() for c in (paper.categories if paper else [])),
        text=f"{paper.title}\n{paper.abstract}".lower() if paper else "",
        subscribed_by=_day(event.payload.get("subscribed_by") if isinstance(event.payload, dict) else None),
    )


def _utc_day(moment: datetime) -> date:
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC).date()  # SQLite's are naive UTC


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _matches(sub: Subscription, view: EventView) -> bool:
    if sub.kind == "task":
        late = view.subscribed_by is not None and _utc_day(sub.created_at) > view.subscribed_by
        return view.task_slug == sub.target and not late  # a later follower saw the row on the board
    if view.kind != "new_paper_with_code":
        return False
    if sub.kind == "category":
        return sub.target.lower() in view.categories
    if sub.kind == "keyword":
        return sub.target.lower() in view.text
    return False


def alert_message(views: list[EventView]) -> Message:
    """One message for one or many events of one channel."""
    if len(views) == 1:
        v = views[0]
        return Message(text=v.line, blocks=[Section(v.line)], kind="alert")
    tasks = sorted({v.task_name for v in views if v.task_name})
    header = f"{len(views)} new results" + (f" in {', '.join(tasks[:3])}" if tasks else "")
    if len(tasks) > 3:
        header += f" and {len(tasks) - 3} more tasks"
    header = md_escape(header[:150])
    blocks: list = [Header(header)]
    ordered = sorted(views, key=lambda v: (v.kind != "new_sota", v.id))
    blocks.extend(Section(v.line) for v in ordered[:MAX_LINES_PER_MESSAGE])
    if len(views) > MAX_LINES_PER_MESSAGE:
        blocks.append(Context(f"and {len(views) - MAX_LINES_PER_MESSAGE} more; `/sota TASK` shows each leaderboard"))
    return Message(text=header, blocks=blocks, kind="alert")


def build_alerts(engine: Engine, now: datetime, limit: int = MAX_EVENTS_PER_RUN) -> AlertReport:
    """Queue alerts for events not yet alerted; safe to run twice or concurrently on PostgreSQL."""
    report = AlertReport()
    with Session(engine) as session:
        query = (
            select(ResultEvent).where(col(ResultEvent.alerted_at).is_(None)).order_by(col(ResultEvent.id)).limit(limit)
        )
        if is_postgres(engine):
            query = query.with_for_update(skip_locked=True)
        events = session.exec(query).all()
        if not events:
            return report
        subs = session.exec(
            select(Subscription)
            .join(Channel, col(Channel.id) == Subscription.channel_id)
            .where(col(Channel.active).is_(True))
        ).all()
        per_channel: dict[int, list[EventView]] = defaultdict(list)
        for event in events:
            view = _describe(session, event)
            for channel_id in sorted({s.channel_id for s in subs if _matches(s, view)}):
                per_channel[channel_id].append(view)
            event.alerted_at = now
            session.add(event)
        for channel_id, views in per_channel.items():
            ids = [v.id for v in views]
            key = f"event:{ids[0]}" if len(ids) == 1 else f"events:{ids[0]}-{ids[-1]}:{len(ids)}"
            if enqueue(session, channel_id, key, alert_message(views).to_dict(), kind="alert"):
                report.deliveries += 1
        session.commit()
        report.events = len(events)
        report.channels = len(per_channel)
    if report.deliveries:
        log.info("alerts: %d events -> %d deliveries", report.events, report.deliveries)
    return report
