"""Daily digests: due at the channel's local time across DST, once per local date."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sotabot.bot.settings import Config
from sotabot.digests.digest import SendDueReport, due_date, next_digest_at, scheduled_instant, send_due
from sotabot.digests.message import Message
from sotabot.storage.models import Channel, Delivery, Paper, PaperRepo, Repo

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_channel(session: Session, name: str, tz: str, at: str = "09:00", **kw) -> Channel:
    ch = Channel(
        platform="slack",
        workspace="T1",
        channel=name,
        timezone=tz,
        digest_time=at,
        digest_enabled=True,
        created_at=LONG_AGO,
        **kw,
    )
    session.add(ch)
    session.commit()
    session.refresh(ch)
    return ch


@pytest.fixture
def config() -> Config:
    cfg = Config()
    cfg.digest.send_empty = True  # these tests are about *when*; content has its own tests
    return cfg


def queued(engine) -> list[tuple[int, str]]:
    with Session(engine) as s:
        return sorted((d.channel_id, d.dedupe_key) for d in s.exec(select(Delivery)).all())


@pytest.mark.parametrize(
    ("tz", "local_day", "expected_utc"),
    [
        # Europe/Berlin: summer time starts 2026-03-29, ends 2026-10-25
        ("Europe/Berlin", date(2026, 3, 28), "2026-03-28T08:00"),
        ("Europe/Berlin", date(2026, 3, 29), "2026-03-29T07:00"),
        ("Europe/Berlin", date(2026, 10, 24), "2026-10-24T07:00"),
        ("Europe/Berlin", date(2026, 10, 25), "2026-10-25T08:00"),
        # America/New_York: daylight time starts 2026-03-08, ends 2026-11-01
        ("America/New_York", date(2026, 3, 7), "2026-03-07T14:00"),
        ("America/New_York", date(2026, 3, 8), "2026-03-08T13:00"),
        ("America/New_York", date(2026, 10, 31), "2026-10-31T13:00"),
        ("America/New_York", date(2026, 11, 1), "2026-11-01T14:00"),
    ],
)
def test_nine_oclock_local_moves_in_utc_across_both_dst_changes(tz, local_day, expected_utc):
    from zoneinfo import ZoneInfo

    assert scheduled_instant(local_day, "09:00", ZoneInfo(tz)) == utc(expected_utc)


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        (
            "Europe/Berlin",
            "2026-03-27T00:00",
            ["2026-03-27T08:00", "2026-03-28T08:00", "2026-03-29T07:00", "2026-03-30T07:00"],
        ),
        (
            "Europe/Berlin",
            "2026-10-23T00:00",
            ["2026-10-23T07:00", "2026-10-24T07:00", "2026-10-25T08:00", "2026-10-26T08:00"],
        ),
        (
            "America/New_York",
            "2026-03-06T12:00",
            ["2026-03-06T14:00", "2026-03-07T14:00", "2026-03-08T13:00", "2026-03-09T13:00"],
        ),
        (
            "America/New_York",
            "2026-10-30T12:00",
            ["2026-10-30T13:00", "2026-10-31T13:00", "2026-11-01T14:00", "2026-11-02T14:00"],
        ),
    ],
)
def test_a_ticking_scheduler_queues_exactly_one_digest_per_local_day_across_dst(
    sqlite_engine, config, tz, start, expected
):
    with Session(sqlite_engine) as s:
        channel_id = make_channel(s, "C1", tz).id
    fired: list[datetime] = []
    now = utc(start)
    for _ in range(4 * 24 * 12):  # four days, a tick every five minutes
        report = send_due(sqlite_engine, config, now)
        fired += [now for _ in report.queued]
        now += timedelta(minutes=5)
    assert fired == [utc(x) for x in expected]
    assert len({key for _, key in queued(sqlite_engine)}) == 4
    assert all(cid == channel_id for cid, _ in queued(sqlite_engine))


def tick(engine, config, start: str, hours: int) -> tuple[list[datetime], dict[datetime, SendDueReport]]:
    """send_due every five minutes from `start`: the instants that queued a digest, and every report."""
    fired: list[datetime] = []
    reports: dict[datetime, SendDueReport] = {}
    now = utc(start)
    for _ in range(hours * 12):
        reports[now] = report = send_due(engine, config, now)
        fired += [now for _ in report.queued]
        now += timedelta(minutes=5)
    return fired, reports


def test_a_digest_time_skipped_by_spring_forward_fires_one_wall_clock_hour_later(sqlite_engine, config):
    # Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    with Session(sqlite_engine) as s:
        channel = make_channel(s, "C1", "Europe/Berlin", at="02:30", last_digest_date=date(2026, 3, 28))
    assert next_digest_at(channel, utc("2026-03-29T00:00")) == utc("2026-03-29T01:30")  # 03:30 CEST, not 00:30 UTC
    fired, reports = tick(sqlite_engine, config, "2026-03-29T00:00", hours=4)
    assert fired == [utc("2026-03-29T01:30")]
    assert reports[utc("2026-03-29T00:30")].queued == []
    assert queued(sqlite_engine) == [(channel.id, "digest:2026-03-29")]


def test_a_digest_time_repeated_by_fall_back_fires_once_at_its_first_occurrence(sqlite_engine, config):
    # Europe/Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    with Session(sqlite_engine) as s:
        channel = make_channel(s, "C1", "Europe/Berlin", at="02:30", last_digest_date=date(2026, 10, 24))
    assert next_digest_at(channel, utc("2026-10-25T00:00")) == utc("2026-10-25T00:30")  # the first 02:30 (CEST)
    fired, reports = tick(sqlite_engine, config, "2026-10-25T00:00", hours=4)
    assert fired == [utc("2026-10-25T00:30")]
    second = reports[utc("2026-10-25T01:30")]  # the second 02:30 (CET)
    assert (second.queued, second.already, second.missed) == ([], 0, 0)
    assert queued(sqlite_engine) == [(channel.id, "digest:2026-10-25")]
    with Session(sqlite_engine) as s:
        sent = s.get(Channel, channel.id)
        assert next_digest_at(sent, utc("2026-10-25T01:00")) == utc("2026-10-26T01:30")  # tomorrow's 02:30 CET


def test_a_channel_at_half_past_midnight_gets_the_digest_of_its_own_local_date(sqlite_engine, config):
    with Session(sqlite_engine) as s:
        make_channel(s, "C1", "Europe/Berlin", at="00:30")
    assert send_due(sqlite_engine, config, utc("2026-11-28T23:29")).queued == []
    report = send_due(sqlite_engine, config, utc("2026-11-28T23:30"))
    assert [day for _, day in report.queued] == [date(2026, 11, 29)]
    assert queued(sqlite_engine)[0][1] == "digest:2026-11-29"


def test_two_channels_in_different_zones_each_get_theirs_at_their_own_nine(sqlite_engine, config):
    with Session(sqlite_engine) as s:
        berlin = make_channel(s, "CB", "Europe/Berlin").id
        tokyo = make_channel(s, "CT", "Asia/Tokyo").id
    firsts: dict[int, datetime] = {}
    now = utc("2026-11-28T12:00")
    while now < utc("2026-11-29T12:00"):
        for cid, _ in send_due(sqlite_engine, config, now).queued:
            firsts.setdefault(cid, now)
        now += timedelta(minutes=1)
    assert firsts == {tokyo: utc("2026-11-29T00:00"), berlin: utc("2026-11-29T08:00")}


def test_send_due_twice_for_the_same_instant_queues_nothing_the_second_time(engine, config):
    with Session(engine) as s:
        make_channel(s, "C1", "UTC")
        make_channel(s, "C2", "Europe/Berlin", at="10:00")
    first = send_due(engine, config, utc("2026-11-29T09:00"))
    second = send_due(engine, config, utc("2026-11-29T09:00"))
    assert len(first.queued) == 2
    assert second.queued == [] and second.already == 0
    assert len(queued(engine)) == 2


def test_a_digest_missed_by_downtime_is_sent_late_within_grace_then_skipped(sqlite_engine, config, caplog):
    config.digest.grace_minutes = 180
    with Session(sqlite_engine) as s:
        make_channel(s, "LATE", "UTC")
        make_channel(s, "GONE", "UTC", at="06:00")
    with caplog.at_level(logging.INFO, logger="sotabot.digests.digest"):
        report = send_due(sqlite_engine, config, utc("2026-11-29T10:30"))
    assert len(report.queued) == 1  # 09:00 is 90 minutes late: still sent
    assert report.missed == 1  # 06:00 is 4.5 hours late: skipped with a log line
    assert "missed" in caplog.text
    assert send_due(sqlite_engine, config, utc("2026-11-29T10:31")).missed == 0  # logged once


def test_a_channel_created_after_its_digest_time_waits_for_the_next_day(sqlite_engine, config):
    with Session(sqlite_engine) as s:
        ch = Channel(
            platform="slack", workspace="T", channel="NEW", digest_enabled=True, created_at=utc("2026-11-29T09:30")
        )
        s.add(ch)
        s.commit()
        s.refresh(ch)
    assert due_date(ch, utc("2026-11-29T10:00"), timedelta(hours=3)) == (None, None)
    assert next_digest_at(ch, utc("2026-11-29T10:00")) == utc("2026-11-30T09:00")


def _paper_with_code(s: Session, arxiv_id: str, categories: list[str], title: str, linked_at: datetime, stars=10):
    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract="We study things.",
        authors=["A. Author", "B. Author"],
        categories=categories,
        published=linked_at - timedelta(days=1),
        first_seen_at=linked_at - timedelta(hours=1),
    )
    repo = Repo(url=f"https://github.com/lab/{arxiv_id.replace('.', '-')}", stars=stars)
    s.add(paper)
    s.add(repo)
    s.flush()
    s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="abstract", created_at=linked_at))
    s.commit()


def test_the_digest_lists_new_papers_with_code_in_the_channels_categories_and_keywords(engine):
    cfg = Config()
    with Session(engine) as s:
        make_channel(s, "C1", "UTC", categories=["cs.CV"], keywords=["diffusion"])
        _paper_with_code(s, "2611.00001", ["cs.CV"], "Seeing Better", utc("2026-11-28T20:00"), stars=50)
        _paper_with_code(s, "2611.00002", ["cs.RO"], "Robots Walk", utc("2026-11-28T20:00"))
        _paper_with_code(s, "2611.00003", ["cs.LG"], "Fast Diffusion Sampling", utc("2026-11-28T21:00"), stars=5)
        _paper_with_code(s, "2611.00004", ["cs.CV"], "Old News", utc("2026-11-20T20:00"))
    report = send_due(engine, cfg, utc("2026-11-29T09:00"))
    assert len(report.queued) == 1
    with Session(engine) as s:
        msg = Message.from_dict(s.exec(select(Delivery)).one().payload)
    texts = [getattr(b, "text", "") for b in msg.blocks]
    new_section = texts[: texts.index("**Trending**")] if "**Trending**" in texts else texts
    body = "\n".join(new_section)
    assert "Seeing Better" in body and "Fast Diffusion Sampling" in body
    assert "Robots Walk" not in body and "Old News" not in body
    assert body.index("Seeing Better") < body.index("Fast Diffusion Sampling")  # most starred first
    assert "https://github.com/lab/2611-00001" in body
    assert msg.kind == "digest"


def _old_or_new_paper_linked_today(
    s: Session, arxiv_id: str, title: str, published: datetime | None, linked_at: datetime
) -> None:
    """A paper whose code link (as the PwC sync or the archive import makes them) was created at `linked_at`."""
    paper = Paper(arxiv_id=arxiv_id, title=title, categories=["cs.CV"], published=published, first_seen_at=linked_at)
    repo = Repo(url=f"https://github.com/lab/{arxiv_id.replace('.', '-')}")
    s.add_all([paper, repo])
    s.flush()
    s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=False, found_by="pwc", created_at=linked_at))
    s.commit()


def test_a_years_old_paper_whose_code_link_was_imported_today_is_not_new(engine):
    cfg = Config()  # sources.arxiv.code_recheck_days = 5: papers published in the last 7 days are new
    linked = utc("2026-11-29T06:00")
    with Session(engine) as s:
        make_channel(s, "C1", "UTC", categories=["cs.CV"])
        _old_or_new_paper_linked_today(s, "1512.03385", "Deep Residual Learning", utc("2015-12-10T00:00"), linked)
        _old_or_new_paper_linked_today(s, "1706.03762", "Attention Undated", None, linked)  # id says June 2017
        _old_or_new_paper_linked_today(s, "2611.00010", "Eight Days Old", utc("2026-11-21T08:00"), linked)
        _old_or_new_paper_linked_today(s, "2611.00011", "Six Days Old", utc("2026-11-23T08:00"), linked)
        _old_or_new_paper_linked_today(s, "2611.00012", "Undated This Month", None, linked)
    assert len(send_due(engine, cfg, utc("2026-11-29T09:00")).queued) == 1
    with Session(engine) as s:
        msg = Message.from_dict(s.exec(select(Delivery)).one().payload)
    body = "\n".join(getattr(b, "text", "") for b in msg.blocks)
    assert "Six Days Old" in body and "Undated This Month" in body
    assert "Deep Residual Learning" not in body and "Attention Undated" not in body and "Eight Days Old" not in body


def test_an_empty_day_is_skipped_unless_send_empty(sqlite_engine):
    cfg = Config()
    with Session(sqlite_engine) as s:
        make_channel(s, "C1", "UTC")
    report = send_due(sqlite_engine, cfg, utc("2026-11-29T09:00"))
    assert report.queued == [] and report.empty == 1
    assert send_due(sqlite_engine, cfg, utc("2026-11-29T09:05")).empty == 0  # decided once per day
    cfg.digest.send_empty = True
    assert len(send_due(sqlite_engine, cfg, utc("2026-11-30T09:00")).queued) == 1
