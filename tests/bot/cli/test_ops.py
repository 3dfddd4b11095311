"""Operator commands: send-due is deterministic and idempotent; status and channels report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from sotabot.bot.cli import main
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Channel, SourceState


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("SOTABOT_DATABASE__URL", url)
    monkeypatch.setenv("SOTABOT_DIGEST__SEND_EMPTY", "true")
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        for name, tz in (("C-BERLIN", "Europe/Berlin"), ("C-NY", "America/New_York")):
            s.add(
                Channel(
                    platform="slack",
                    workspace="T1",
                    channel=name,
                    timezone=tz,
                    digest_enabled=True,
                    created_at=datetime(2020, 1, 1, tzinfo=UTC),
                )
            )
        s.add(SourceState(source="arxiv:rss", last_error="HTTP 503", last_error_at=datetime(2026, 11, 29, tzinfo=UTC)))
        s.commit()
    return engine


def test_send_due_twice_for_the_same_instant_queues_nothing_the_second_time(db, capsys):
    assert main(["digest", "send-due", "--now", "2026-11-29T08:00:00Z"]) == 0
    assert capsys.readouterr().out.startswith("1 digests queued")  # 09:00 in Berlin
    assert main(["digest", "send-due", "--now", "2026-11-29T08:00:00Z"]) == 0
    assert capsys.readouterr().out.startswith("0 digests queued")
    assert main(["digest", "send-due", "--now", "2026-11-29T14:00:00+00:00"]) == 0
    assert capsys.readouterr().out.startswith("1 digests queued")  # 09:00 in New York


def test_send_due_refuses_an_instant_without_a_time_zone(db, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["digest", "send-due", "--now", "2026-11-29T08:00:00"])
    assert exc.value.code == 2
    assert "time zone" in capsys.readouterr().err


def test_status_shows_source_errors_outbox_depth_and_next_digests(db, capsys):
    main(["digest", "send-due", "--now", "2026-11-29T08:00:00Z"])
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    sources = {s["source"]: s for s in report["sources"]}
    assert sources["arxiv:rss"]["last_error"] == "HTTP 503"
    assert sources["archive:starter"]["last_error"] is None  # the starter set, loaded at first use
    assert report["outbox"]["pending"] == 1
    assert {d["channel"] for d in report["next_digests"]} == {"slack:T1:C-BERLIN", "slack:T1:C-NY"}


def test_channels_lists_settings(db, capsys):
    assert main(["channels", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["channel"], r["timezone"], r["digest"]) for r in rows] == [
        ("C-BERLIN", "Europe/Berlin", True),
        ("C-NY", "America/New_York", True),
    ]


def test_deliver_without_a_platform_token_says_so(db, capsys):
    assert main(["deliver", "--once"]) == 1
    assert "no platform token" in capsys.readouterr().err
