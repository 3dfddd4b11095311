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


def test_status_lists_two_channels_due_at_the_same_instant_in_channel_order(db, capsys):
    with Session(db) as s:
        for name in ("C-LONDON-2", "C-LONDON-1"):  # both 09:00 Europe/London: the same UTC instant
            s.add(
                Channel(
                    platform="slack",
                    workspace="T1",
                    channel=name,
                    timezone="Europe/London",
                    digest_enabled=True,
                    created_at=datetime(2020, 1, 1, tzinfo=UTC),
                )
            )
        s.commit()
    assert main(["status", "--json"]) == 0
    due = [d for d in json.loads(capsys.readouterr().out)["next_digests"] if "LONDON" in d["channel"]]
    assert [d["channel"] for d in due] == ["slack:T1:C-LONDON-2", "slack:T1:C-LONDON-1"]  # by id on a tie
    assert due[0]["at_utc"] == due[1]["at_utc"]
    assert main(["status"]) == 0
    assert "C-LONDON-1" in capsys.readouterr().out


def test_a_database_from_a_newer_sotabot_is_named_not_a_traceback(db, capsys):
    from sqlalchemy import text

    with db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfacecafe'"))
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "this database was written by a newer sotabot (revision f00dfacecafe); upgrade sotabot" in err
    assert "Traceback" not in err


def test_a_full_disk_is_said_in_words_with_the_path(tmp_path):
    import errno

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from sotabot.storage.db import disk_full_message

    url = f"sqlite:///{tmp_path / 'full.db'}"
    engine = make_engine(url)
    with pytest.raises(OperationalError) as err, engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA max_page_count = 2")  # SQLite's own "database or disk is full"
        conn.execute(text("CREATE TABLE big (x TEXT)"))
        conn.execute(text("INSERT INTO big VALUES (:x)"), [{"x": "x" * 4000}] * 20)
    assert disk_full_message(err.value, url) == f"no space left on device: {tmp_path / 'full.db'}"
    enospc = OSError(errno.ENOSPC, "No space left on device", "/var/lib/sotabot/import.tmp")
    assert disk_full_message(enospc) == "no space left on device: /var/lib/sotabot/import.tmp"
    assert disk_full_message(OSError(errno.EACCES, "Permission denied")) is None
    engine.dispose()
