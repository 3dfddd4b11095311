"""Daily digests: which channels are due at an instant, and what their digest says.

A channel's digest is due at its local `digest_time` on each local date (zoneinfo, so DST
changes move the UTC instant, not the local one). `send_due(now)` queues one delivery per
channel per local date (dedupe key `digest:YYYY-MM-DD`) and records that date on the channel
in the same transaction, so running it twice, or after a crash, queues nothing twice. A
digest missed by downtime is still queued up to `digest.grace_minutes` late; later than that
it is skipped with a log line. A local time that does not exist on a spring-forward day
(02:30 in Berlin) fires at the same UTC offset as the day before, i.e. one hour later on
the wall clock; an ambiguous one on the fall-back day fires at its first occurrence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.digests.message import Block, Context, Divider, Header, Item, Link, Message, Section, md_escape
from sotabot.digests.settings import DigestsSettings
from sotabot.digests.trending import TrendingPaper, TrendingPool
from sotabot.sources.normalise.values import arxiv_month
from sotabot.sources.settings import ArxivConfig
from sotabot.storage.db import chunks
from sotabot.storage.models import Channel, Paper, PaperRepo, Repo, as_utc
from sotabot.storage.outbox import enqueue

log = logging.getLogger(__name__)

HEADLINE_ITEMS = 3  # papers in a digest's parent message; the rest go in its thread...
SMALL_DIGEST_ITEMS = 6  # ...unless the whole digest is this short: then it is one message

ARXIV_ABS = "https://arxiv.org/abs/"
RECENT_EXTRA_DAYS = 2  # a paper counts as new for code_recheck_days + this (a weekend of slack)
DEFAULT_RECENT_DAYS = ArxivConfig().code_recheck_days + RECENT_EXTRA_DAYS
TRENDING_DAYS = 7
QUEUE_BATCH = 200  # channels whose digests are queued (and marked done) in one transaction


@dataclass
class SendDueReport:
    queued: list[tuple[int, date]] = field(default_factory=list)
    empty: int = 0
    missed: int = 0
    already: int = 0


@dataclass(frozen=True)
class DigestPaper:
    arxiv_id: str
    title: str
    authors: list[str]
    categories: list[str]
    repo_url: str
    stars: int | None
    official: bool


def scheduled_instant(local_date: date, hhmm: str, tz: ZoneInfo) -> datetime:
    """The UTC instant of `hhmm` on `local_date` in `tz` (see module docstring for DST)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    local = datetime.combine(local_date, time(hour, minute), tzinfo=tz)
    return local.astimezone(UTC)


def channel_zone(channel: Channel) -> ZoneInfo:
    try:
        return ZoneInfo(channel.timezone)
    except (KeyError, ValueError):
        log.warning("channel %s has an unknown time zone %r; using UTC", channel.id, channel.timezone)
        return ZoneInfo("UTC")


def due_date(channel: Channel, now: datetime, grace: timedelta) -> tuple[date | None, date | None]:
    """(local date due now, local date missed for good) for one channel at `now`."""
    tz = channel_zone(channel)
    today = now.astimezone(tz).date()
    created = as_utc(channel.created_at)
    due: date | None = None
    missed: date | None = None
    for day in (today - timedelta(days=1), today):
        if channel.last_digest_date is not None and channel.last_digest_date >= day:
            continue
        at = scheduled_instant(day, channel.digest_time, tz)
        if at > now or (created is not None and at < created):
            continue
        if now < at + grace:
            due = day
        else:
            missed = day
    return due, missed


class _Dated(Protocol):
    arxiv_id: str | None
    published: datetime | None
    first_seen_at: datetime | None


def is_recent(paper: _Dated, since: datetime, until: datetime, recent_days: int) -> bool:
    """Whether a paper is new enough for "new papers with code" (see `new_papers_with_code`)."""
    cutoff = until - timedelta(days=recent_days)
    published = as_utc(paper.published)
    if published is not None:
        return published >= cutoff
    month = arxiv_month(paper.arxiv_id)
    if month is not None:
        return month >= cutoff.date().replace(day=1)
    first_seen = as_utc(paper.first_seen_at)
    return first_seen is not None and since < first_seen <= until


class Candidate(NamedTuple):
    """One (paper, repository) link of the window, as plain values: what a channel's filter reads."""

    arxiv_id: str
    title: str
    text: str  # title and abstract, lowercased: what keywords match
    authors: list[str]
    categories: frozenset[str]  # lowercased
    category_names: list[str]
    published: datetime | None
    first_seen_at: datetime | None
    repo_url: str
    stars: int | None
    official: bool


_P = Paper.__table__  # type: ignore[attr-defined]
_PR = PaperRepo.__table__  # type: ignore[attr-defined]
_REPO = Repo.__table__  # type: ignore[attr-defined]


def read_candidates(session: Session, since: datetime, until: datetime, recent_days: int) -> list[Candidate]:
    """Every recent paper's code link created in (since, until], read once for all channels of a tick.

    Four plain selects, each with one sensible plan whatever the planner's statistics say:
    the ids of recent papers (`ix_papers_published`, `ix_papers_arxiv_id`), their links in the
    window (`ix_paper_repos_paper_id`), then those papers and repositories by primary key. A
    paper without a published date is a candidate when its arXiv id's month may be recent
    (new-style ids sort by YYMM; old-style ones sort after every digit and are all read);
    `is_recent` then decides exactly, as before.
    """
    cutoff = until - timedelta(days=recent_days)
    recent_ids = session.execute(
        select(_P.c.id).where(
            _P.c.arxiv_id.is_not(None),
            or_(_P.c.published >= cutoff, and_(_P.c.published.is_(None), _P.c.arxiv_id >= f"{cutoff:%y%m}")),
        )
    ).scalars().all()
    links: list[Any] = []
    for chunk in chunks(sorted(recent_ids)):
        links += session.execute(
            select(_PR.c.paper_id, _PR.c.repo_id, _PR.c.official).where(
                _PR.c.paper_id.in_(chunk), _PR.c.created_at > since, _PR.c.created_at <= until
            )
        ).all()
    papers: dict[int, Any] = {}
    for chunk in chunks(sorted({paper_id for paper_id, _, _ in links})):
        for row in session.execute(
            select(_P.c.id, _P.c.arxiv_id, _P.c.title, _P.c.abstract, _P.c.authors, _P.c.categories,
                   _P.c.published, _P.c.first_seen_at).where(_P.c.id.in_(chunk))
        ):
            if is_recent(row, since, until, recent_days):
                papers[row.id] = row
    repos: dict[int, tuple[str, int | None]] = {}
    for chunk in chunks(sorted({repo_id for paper_id, repo_id, _ in links if paper_id in papers})):
        for repo_id, url, stars in session.execute(
            select(_REPO.c.id, _REPO.c.url, _REPO.c.stars).where(_REPO.c.id.in_(chunk))
        ):
            repos[repo_id] = (url, stars)
    out: list[Candidate] = []
    for paper_id, repo_id, official in links:
        paper = papers.get(paper_id)
        if paper is None or repo_id not in repos:
            continue
        names = list(paper.categories or [])
        out.append(
            Candidate(
                arxiv_id=paper.arxiv_id or "", title=paper.title, text=f"{paper.title}\n{paper.abstract}".lower(),
                authors=list(paper.authors or []), categories=frozenset(c.lower() for c in names),
                category_names=names, published=paper.published, first_seen_at=paper.first_seen_at,
                repo_url=repos[repo_id][0], stars=repos[repo_id][1], official=bool(official),
            )
        )
    return out


def pick_papers(
    candidates: list[Candidate], categories: list[str], keywords: list[str], limit: int
) -> tuple[list[DigestPaper], int]:
    """One channel's new papers with code: a filter over the window's candidates (see `new_papers_with_code`)."""
    wanted = {c.lower() for c in categories}
    words = [k.lower() for k in keywords if k.strip()]
    best: dict[str, Candidate] = {}
    for c in candidates:
        if not (wanted & c.categories or any(word in c.text for word in words)):
            continue
        known = best.get(c.arxiv_id)
        if known is None or (c.official, c.stars or 0) > (known.official, known.stars or 0):
            best[c.arxiv_id] = c
    ordered = sorted(best.values(), key=lambda p: (-(p.stars or 0), p.arxiv_id))
    return [
        DigestPaper(
            arxiv_id=c.arxiv_id, title=" ".join(c.title.split()), authors=list(c.authors),
            categories=list(c.category_names), repo_url=c.repo_url, stars=c.stars, official=c.official,
        )
        for c in ordered[:limit]
    ], len(ordered)


def new_papers_with_code(
    session: Session,
    since: datetime,
    until: datetime,
    categories: list[str],
    keywords: list[str],
    limit: int,
    *,
    recent_days: int = DEFAULT_RECENT_DAYS,
) -> tuple[list[DigestPaper], int]:
    """Recent papers whose code appeared in (since, until], in the categories or matching a keyword.

    Returns the first `limit` (most starred first) and the total count. The time window is
    bounded, so filtering categories and keywords in Python stays cheap and portable.

    A link created in the window is not enough: the Papers with Code sync and the archive
    import link years-old papers today. The paper itself must be recent: published within
    `recent_days` before `until` (`sources.arxiv.code_recheck_days` + 2 from the digest: code
    found while we still re-check a paper, plus a weekend); without a published date, its
    arXiv id's month (YYMM) must not be before that cutoff's month; with neither, it must have
    been first seen in the window.
    """
    return pick_papers(read_candidates(session, since, until, recent_days), categories, keywords, limit)


class TickInputs:
    """What one digest tick reads once and every channel's digest filters: the window's
    candidates (per (since, until, recent_days)) and the trending pool (per instant)."""

    def __init__(self) -> None:
        self._candidates: dict[tuple[datetime, datetime, int], list[Candidate]] = {}
        self._pools: dict[datetime, TrendingPool] = {}

    def candidates(self, session: Session, since: datetime, until: datetime, recent_days: int) -> list[Candidate]:
        key = (since, until, recent_days)
        if key not in self._candidates:
            self._candidates[key] = read_candidates(session, since, until, recent_days)
        return self._candidates[key]

    def trending(self, session: Session, now: datetime) -> TrendingPool:
        if now not in self._pools:
            self._pools[now] = TrendingPool(session, TRENDING_DAYS, now)
        return self._pools[now]


def _authors(authors: list[str]) -> str:
    if not authors:
        return ""
    return authors[0] + (" et al." if len(authors) > 1 else "")


def _repo_label(url: str) -> str:
    return url.removeprefix("https://github.com/")


def _trending(
    session: Session, categories: list[str], limit: int, now: datetime, inputs: TickInputs
) -> list[TrendingPaper]:
    """Trending papers across the categories, from the tick's one trending pool."""
    pool = inputs.trending(session, now)
    seen: dict[str | None, TrendingPaper] = {}
    for category in categories or [None]:
        for item in pool.top(category, limit):
            seen.setdefault(item.arxiv_id, item)
    return sorted(seen.values(), key=lambda t: -t.score)[:limit]


def build_digest(
    session: Session,
    config: DigestsSettings,
    *,
    categories: list[str],
    keywords: list[str],
    since: datetime,
    now: datetime,
    local_date: date,
    inputs: TickInputs | None = None,
) -> Message | None:
    """The digest Message, or None when there is nothing to say; `inputs` shares reads within a tick."""
    inputs = inputs or TickInputs()
    recent_days = config.sources.arxiv.code_recheck_days + RECENT_EXTRA_DAYS
    papers, total = pick_papers(
        inputs.candidates(session, since, now, recent_days), categories, keywords, config.digest.max_new_papers
    )
    hot = _trending(session, categories, config.digest.max_trending, now, inputs)
    if not papers and not hot and not config.digest.send_empty:
        return None
    scope = ", ".join(categories) + (f"; keywords: {', '.join(keywords)}" if keywords else "")
    entries: list[Item] = []
    for p in papers:
        stars = f" ★{p.stars}" if p.stars is not None else ""
        official = " (official)" if p.official else ""
        entries.append(
            Item(
                title=p.title,
                url=f"{ARXIV_ABS}{p.arxiv_id}",
                byline=_authors(p.authors),
                links=[Link(_repo_label(p.repo_url), p.repo_url)],
                note=f"{stars}{official}",
            )
        )
    trending_entries: list[Item] = []
    for t in hot:
        repo = getattr(t, "repo_url", None)
        stars = f" ★{t.stars}" if getattr(t, "stars", None) is not None else ""
        trending_entries.append(
            Item(title=t.title, url=f"{ARXIV_ABS}{t.arxiv_id}", links=[Link(_repo_label(repo), repo)] if repo else [],
                 note=stars)
        )
    return _digest_message(local_date, scope, total, entries, trending_entries)


def _digest_message(local_date: date, scope: str, total: int, papers: list[Item], hot: list[Item]) -> Message:
    """One parent message (date, counts, the top 3) and the rest in its thread."""
    counts = f"**{total}** new paper{'s' if total != 1 else ''} with code in {md_escape(scope)}"
    if hot:
        counts += f" · **{len(hot)}** trending"
    top = papers[:HEADLINE_ITEMS] if papers else hot[:HEADLINE_ITEMS]
    blocks: list[Block] = [Header(f"sotabot digest — {local_date:%a %d %b %Y}"), Section(counts), *top]
    if not papers:
        blocks.insert(2, Section("No new papers with code since the last digest." + (" Trending:" if hot else "")))
    thread: list[Block] = list(papers[HEADLINE_ITEMS:])
    if total > len(papers):
        thread.append(Context(f"and {total - len(papers)} more new papers with code"))
    rest_hot = hot if papers else hot[HEADLINE_ITEMS:]
    if rest_hot:
        if thread or papers:
            thread.append(Divider())
        thread.append(Section("**Trending**"))
        thread.extend(rest_hot)
    if len(papers) + len(hot) <= SMALL_DIGEST_ITEMS:
        blocks, thread = blocks + thread, []
    elif thread:
        blocks.append(Context("The full list is in the thread."))
    text = f"sotabot digest {local_date.isoformat()}: {total} new papers with code" + (
        f", {len(hot)} trending" if hot else ""
    )
    return Message(text=text, blocks=blocks, kind="digest", thread=thread)


def send_due(engine: Engine, config: DigestsSettings, now: datetime) -> SendDueReport:
    """Queue the digests due at `now`, `QUEUE_BATCH` channels a transaction.

    The window's candidates and the trending pool are read once for the tick (`TickInputs`);
    each channel's digest is a filter over them. A channel's delivery and its
    `last_digest_date` commit together, so a crash mid-tick re-queues nothing.
    """
    grace = timedelta(minutes=config.digest.grace_minutes)
    report = SendDueReport()
    with Session(engine) as session:  # one read to find the channels with work at this instant
        candidates = session.exec(
            select(Channel).where(col(Channel.digest_enabled).is_(True), col(Channel.active).is_(True))
        ).all()
        channel_ids = [ch.id for ch in candidates if due_date(ch, now, grace) != (None, None)]
    inputs = TickInputs()
    for start in range(0, len(channel_ids), QUEUE_BATCH):
        batch = channel_ids[start : start + QUEUE_BATCH]
        with Session(engine) as session:
            found = {ch.id: ch for ch in session.exec(select(Channel).where(col(Channel.id).in_(batch))).all()}
            for channel_id in batch:
                channel = found.get(channel_id)
                if channel is not None:
                    _queue_one(session, config, channel, now, grace, inputs, report)
            session.commit()
    return report


def _queue_one(
    session: Session,
    config: DigestsSettings,
    channel: Channel,
    now: datetime,
    grace: timedelta,
    inputs: TickInputs,
    report: SendDueReport,
) -> None:
    """One channel's part of a tick, in the batch's transaction."""
    day, missed = due_date(channel, now, grace)
    if missed is not None and day is None:
        log.info("digest for channel %s on %s missed by more than %s; skipped", channel.id, missed, grace)
        report.missed += 1
        channel.last_digest_date = missed
        session.add(channel)
        return
    if day is None:
        return
    since = as_utc(channel.last_digest_at) or (now - timedelta(days=1))
    message = build_digest(
        session,
        config,
        categories=channel.categories or list(config.sources.arxiv.categories),
        keywords=list(channel.keywords),
        since=since,
        now=now,
        local_date=day,
        inputs=inputs,
    )
    channel.last_digest_date = day
    channel.last_digest_at = now
    session.add(channel)
    if message is None:
        report.empty += 1
    elif enqueue(session, channel.id or 0, f"digest:{day.isoformat()}", message.to_dict(), kind="digest"):
        report.queued.append((channel.id or 0, day))
    else:
        report.already += 1


def next_digest_at(channel: Channel, now: datetime) -> datetime:
    """The next UTC instant this channel's digest is scheduled for (for `sotabot status`)."""
    tz = channel_zone(channel)
    today = now.astimezone(tz).date()
    for offset in range(3):
        day = today + timedelta(days=offset)
        if channel.last_digest_date is not None and channel.last_digest_date >= day:
            continue
        at = scheduled_instant(day, channel.digest_time, tz)
        if at >= now:
            return at
    return scheduled_instant(today + timedelta(days=3), channel.digest_time, tz)


def preview(
    engine: Engine,
    config: DigestsSettings,
    *,
    categories: list[str],
    keywords: list[str],
    now: datetime | None = None,
    days: int = 1,
) -> Message:
    """A digest of the last `days` days without queueing anything (`digest preview`)."""
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        message = build_digest(
            session,
            config,
            categories=categories,
            keywords=keywords,
            since=now - timedelta(days=days),
            now=now,
            local_date=now.date(),
        )
    if message is None:
        return Message(
            text="Nothing new for this digest yet.",
            blocks=[
                Section(f"No new or trending papers with code in {', '.join(categories)} in the last {days} day(s).")
            ],
            kind="digest",
        )
    return message
