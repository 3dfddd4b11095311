"""`sotabot events`: recent result events, newest first, as lines or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from sotabot.bot.cli import main
from sotabot.storage.models import Benchmark, Dataset, Metric, Paper, PaperRepo, Repo, Task
from sotabot.storage.results import paper_got_code, record_result

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def cli_db(engine, db_url, monkeypatch):
    """The migrated test database (SQLite or PostgreSQL) as the CLI's database."""
    monkeypatch.setenv("SOTABOT_DATABASE__URL", db_url)
    return engine


def seed(engine) -> None:
    with Session(engine) as s:
        task = Task(slug="speech-recognition", name="Speech Recognition")
        ds = Dataset(name="LibriSpeech test-clean")
        wer = Metric(name="WER", direction="lower")
        s.add_all([task, ds, wer])
        s.flush()
        b = Benchmark(task_id=task.id, dataset_id=ds.id, primary_metric_id=wer.id)
        paper = Paper(arxiv_id="2501.01234", title="Whisper Next")
        s.add_all([b, paper])
        s.flush()

        def add(model: str, value: float, day: int, **kw: object) -> None:
            record_result(
                s, benchmark_id=b.id, model=model, paper_key=f"k-{model}", values={wer.id: (value, f"{value}")},
                source=kw.pop("source", "pwc_api"), verified=kw.pop("verified", True),
                now=T0 + timedelta(days=day), **kw,
            )

        add("Conformer", 2.5, 0)
        add("Whisper-Next", 1.9, 1, paper_id=paper.id)
        add("Claimed", 1.5, 2, source="claim", verified=False, evidence="We get 1.5 WER.")
        repo = Repo(url="https://github.com/example/official")
        s.add(repo)
        s.flush()
        s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="pwc"))
        s.flush()
        paper_got_code(s, paper.id, now=T0 + timedelta(days=3))
        s.commit()


def test_events_are_listed_newest_first_one_line_each(cli_db, capsys):
    seed(cli_db)
    assert main(["events"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "2026-03-04 09:30  new_paper_with_code  speech-recognition: Whisper Next -> https://github.com/example/official",
        "2026-03-03 09:30  new_sota             speech-recognition / LibriSpeech test-clean: Claimed WER 1.5 "
        "(was 1.9, Whisper-Next) (claimed, unverified)",
        "2026-03-03 09:30  new_result           speech-recognition / LibriSpeech test-clean: Claimed WER 1.5 "
        "(claimed, unverified)",
        "2026-03-02 09:30  new_sota             speech-recognition / LibriSpeech test-clean: Whisper-Next WER 1.9 "
        "(was 2.5, Conformer)",
        "2026-03-02 09:30  new_result           speech-recognition / LibriSpeech test-clean: Whisper-Next WER 1.9",
        "2026-03-01 09:30  new_result           speech-recognition / LibriSpeech test-clean: Conformer WER 2.5",
    ]


def test_events_as_json_filtered_by_kind_since_and_limit(cli_db, capsys):
    seed(cli_db)
    assert main(["events", "--json", "--kind", "new_sota", "--since", "2026-03-03"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["payload"]["model"], e["payload"]["verified"]) for e in events] == [
        ("new_sota", "Claimed", False)
    ]
    assert events[0]["created_at"] == "2026-03-03T09:30:00+00:00"
    assert events[0]["alerted_at"] is None
    assert main(["events", "--json", "--limit", "2"]) == 0
    assert [e["kind"] for e in json.loads(capsys.readouterr().out)] == ["new_paper_with_code", "new_sota"]


def test_no_events_says_so(cli_db, capsys):
    assert main(["events", "--since", "2030-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "no events since 2030-01-01."


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["events", "--since", "yesterday"], "not a date (YYYY-MM-DD): 'yesterday'"),
        (["events", "--limit", "0"], "must be a whole number from 1 to 10000"),
        (["events", "--kind", "new_thing"], "invalid choice: 'new_thing'"),
    ],
)
def test_bad_options_get_a_one_line_answer_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
