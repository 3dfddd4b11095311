"""`sotabot sota`, `sotabot tasks`, `sotabot doctor` through the real entry point (`bot.cli.main`).

Each test gets its own SQLite file (SOTABOT_DATABASE__URL) seeded with the models; the
upstreams `doctor` probes are a local FakeUpstream and a closed port, never the network.
"""

from __future__ import annotations

import json
import socket
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from sotabot.bot.cli import main
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Benchmark, BenchmarkMetric, Dataset, Metric, Result, ResultValue, Task, TaskAlias
from tests.fakes.upstream import FakeUpstream, Fault

SCHEMA_ROW_KEYS = {"rank", "model", "value", "raw", "paper_title", "paper_url", "code_url", "date", "extra_data",
                   "verified", "source"}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded database the CLI finds through the environment; no ./sotabot.toml around."""
    path = tmp_path / "cli.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as s:
        _seed(s)
        s.commit()
    engine.dispose()
    return path


def _bench(s: Session, task: Task, dataset: str, metrics: list[tuple[str, str]]) -> tuple[Benchmark, dict[str, int]]:
    d = Dataset(name=dataset)
    s.add(d)
    s.flush()
    b = Benchmark(task_id=task.id, dataset_id=d.id)
    s.add(b)
    s.flush()
    ids = {}
    for pos, (name, direction) in enumerate(metrics):
        m = Metric(name=name, direction=direction)
        s.add(m)
        s.flush()
        s.add(BenchmarkMetric(benchmark_id=b.id, metric_id=m.id, position=pos))
        ids[name] = m.id
    return b, ids


def _row(s: Session, b: Benchmark, model: str, metric: int, value: float | None, raw: str, day: date | None,
         **kw: object) -> None:
    r = Result(benchmark_id=b.id, model=model, paper_key=model, result_date=day, **kw)
    s.add(r)
    s.flush()
    s.add(ResultValue(result_id=r.id, metric_id=metric, value=value, raw=raw))


def _seed(s: Session) -> None:
    asr = Task(slug="zz-speech-recognition", name="Zz Speech Recognition")
    lm = Task(slug="zz-language-modelling", name="Zz Language Modelling")
    s.add_all([asr, lm])
    s.flush()
    s.add(TaskAlias(alias="zz asr", task_id=asr.id, source="curated"))
    clean, m = _bench(s, asr, "LibriSpeech test-clean", [("Word Error Rate (WER)", "lower")])
    wer = m["Word Error Rate (WER)"]
    _row(s, clean, "Conformer", wer, 1.9, "1.9", date(2020, 5, 16),
         paper_title="Conformer", paper_url="https://arxiv.org/abs/2005.08100", code_url="https://github.com/x/conformer")
    _row(s, clean, "w2v-BERT XXL", wer, 1.4, "1.4", date(2021, 8, 7), extra_data=True)
    _row(s, clean, "Deep Speech 2", wer, 5.33, "5.33%", date(2015, 12, 8))
    _row(s, clean, "[bold]Mystery[/bold]", wer, None, "-", None)
    other, m2 = _bench(s, asr, "LibriSpeech test-other", [("WER other", "lower")])
    _row(s, other, "Conformer", m2["WER other"], 4.3, "4.3", date(2020, 5, 16))
    ppl, m3 = _bench(s, lm, "Penn Treebank", [("Test perplexity", "lower"), ("Params", "lower")])
    _row(s, ppl, "GPT-2", m3["Test perplexity"], 35.76, "35.76", date(2019, 2, 14))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_sota_json_prints_exactly_the_documented_schema(db, capsys):
    code, out, _ = run(capsys, "sota", "zz", "speech", "recognition", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"as_of", "data_sources", "task", "benchmark", "rows", "other_benchmarks"}
    assert data["as_of"] is None  # rows written here by hand: no source_state says when they were refreshed
    assert data["data_sources"] == [{"name": "Papers with Code archive", "updated_at": None}]
    assert data["task"] == {"slug": "zz-speech-recognition", "name": "Zz Speech Recognition"}
    assert data["benchmark"] == {"dataset": "LibriSpeech test-clean", "metric": "Word Error Rate (WER)",
                                 "higher_is_better": False}
    assert all(set(row) == SCHEMA_ROW_KEYS for row in data["rows"])
    assert data["rows"][0] == {
        "rank": 1, "model": "w2v-BERT XXL", "value": 1.4, "raw": "1.4", "paper_title": None, "paper_url": None,
        "code_url": None, "date": "2021-08-07", "extra_data": True, "verified": True, "source": "pwc_archive",
    }
    assert data["rows"][1]["code_url"] == "https://github.com/x/conformer"
    assert data["other_benchmarks"] == [{"dataset": "LibriSpeech test-other", "metric": "WER other", "results": 1}]


def test_lower_is_better_ranks_ascending_and_missing_values_come_last(db, capsys):
    _, out, _ = run(capsys, "sota", "zz asr", "--json")
    rows = json.loads(out)["rows"]
    assert [(r["rank"], r["model"], r["value"]) for r in rows] == [
        (1, "w2v-BERT XXL", 1.4), (2, "Conformer", 1.9), (3, "Deep Speech 2", 5.33), (4, "[bold]Mystery[/bold]", None),
    ]
    assert (rows[2]["raw"], rows[3]["raw"], rows[3]["date"]) == ("5.33%", "-", None)
    assert [r["extra_data"] for r in rows] == [True, False, False, False]


def test_limit_dataset_and_metric_choose_what_is_shown(db, capsys):
    _, out, _ = run(capsys, "sota", "zz-speech-recognition", "--limit", "2", "--json")
    assert [r["model"] for r in json.loads(out)["rows"]] == ["w2v-BERT XXL", "Conformer"]
    _, out, _ = run(capsys, "sota", "zz asr", "--dataset", "librispeech TEST other", "--json")
    assert json.loads(out)["benchmark"]["dataset"] == "LibriSpeech test-other"
    _, out, _ = run(capsys, "sota", "zz language modelling", "--metric", "params", "--json")
    assert json.loads(out)["benchmark"] == {"dataset": "Penn Treebank", "metric": "Params", "higher_is_better": False}


def test_an_unknown_task_with_json_exits_1_with_suggestions(db, capsys):
    code, out, _ = run(capsys, "sota", "zz speech recognitoin models", "--json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"error", "query", "suggestions"}
    assert (data["error"], data["query"]) == ("unknown task", "zz speech recognitoin models")
    assert {"slug": "zz-speech-recognition", "name": "Zz Speech Recognition"} in data["suggestions"]


def test_an_unknown_task_without_json_says_did_you_mean(db, capsys):
    code, _out, err = run(capsys, "sota", "zz", "speech", "recognitoin", "models")
    assert code == 1
    assert "Unknown task 'zz speech recognitoin models'. Did you mean: Zz Speech Recognition" in err
    code, _, err = run(capsys, "sota", "qwzxv plmkj")
    assert code == 1 and "Unknown task 'qwzxv plmkj'" in err


def test_an_unknown_dataset_or_metric_exits_1_listing_the_choices(db, capsys):
    code, _, err = run(capsys, "sota", "zz asr", "--dataset", "TIMIT")
    assert code == 1
    assert "Unknown dataset 'TIMIT'" in err and "LibriSpeech test-clean, LibriSpeech test-other" in err
    code, out, _ = run(capsys, "sota", "zz asr", "--metric", "BLEU", "--json")
    assert code == 1
    assert json.loads(out) == {
        "error": "unknown metric", "query": "BLEU",
        "task": {"slug": "zz-speech-recognition", "name": "Zz Speech Recognition"},
        "choices": ["WER other", "Word Error Rate (WER)"],
    }


def test_the_table_shows_header_direction_rows_flags_and_other_benchmarks(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = run(capsys, "sota", "zz asr")
    assert code == 0
    assert "Zz Speech Recognition · LibriSpeech test-clean · Word Error Rate (WER) ↓ lower is better" in out
    assert out.index("w2v-BERT XXL") < out.index("Conformer") < out.index("Deep Speech 2")
    assert "+data" in out
    assert "[bold]Mystery[/bold]" in out  # names are text, never markup
    assert "x/conformer" in out  # GitHub repositories shown as owner/name
    assert "2021-08-07" in out
    assert "Other benchmarks (1)" in out and "LibriSpeech test-other" in out


def test_a_fuzzy_match_is_announced_in_the_table(db, capsys):
    _, out, _ = run(capsys, "sota", "zz speech recog")
    assert "matched 'zz speech recog' to Zz Speech Recognition" in out


def test_bad_limits_are_rejected_by_the_parser(db, capsys):
    for bad in ("0", "-3", "abc", "100000"):
        with pytest.raises(SystemExit) as exit_:
            main(["sota", "zz asr", "--limit", bad])
        assert exit_.value.code == 2
        assert "--limit" in capsys.readouterr().err


def test_a_task_without_results_is_a_clear_error(db, capsys):
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        s.add(Task(slug="zz-empty-task", name="Zz Empty Task"))
        s.commit()
    engine.dispose()
    code, _, err = run(capsys, "sota", "zz-empty-task")
    assert code == 1 and "No leaderboard for Zz Empty Task" in err
    code, out, _ = run(capsys, "sota", "zz-empty-task", "--json")
    assert code == 1 and json.loads(out)["error"] == "no leaderboard"


def test_tasks_searches_and_prints_json(db, capsys):
    code, out, _ = run(capsys, "tasks", "zz", "lang", "--json")
    assert code == 0
    assert json.loads(out)[0] == {"slug": "zz-language-modelling", "name": "Zz Language Modelling"}
    code, out, _ = run(capsys, "tasks", "zz speech")
    assert code == 0 and "zz-speech-recognition" in out
    code, out, _ = run(capsys, "tasks", "--limit", "1", "--json")
    assert len(json.loads(out)) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_reports_config_database_tokens_and_each_upstream(db, capsys, monkeypatch):
    secret = "xoxb-super-secret-value"
    monkeypatch.setenv("SOTABOT_SLACK__BOT_TOKEN", secret)
    with FakeUpstream() as up:
        up.fail("/broken", Fault("status", status=503), times=5)
        urls = {
            "SOTABOT_SLACK__API_URL": f"{up.url}/slack/",
            "SOTABOT_DISCORD__API_URL": f"{up.url}/discord",
            "SOTABOT_SOURCES__ARXIV__RSS_URL": f"{up.url}/rss",
            "SOTABOT_SOURCES__ARXIV__API_URL": f"http://127.0.0.1:{_closed_port()}/api",
            "SOTABOT_SOURCES__GITHUB__API_URL": f"{up.url}/broken",
            "SOTABOT_SOURCES__GITHUB__GRAPHQL_URL": f"{up.url}/graphql",
            "SOTABOT_SOURCES__HUGGINGFACE__API_URL": f"{up.url}/hf",
            "SOTABOT_SOURCES__PAPERSWITHCODE__API_URL": f"{up.url}/pwc",
        }
        for key, value in urls.items():
            monkeypatch.setenv(key, value)
        code, out, err = run(capsys, "doctor")
    assert code == 0  # upstreams down do not fail doctor: the service works offline
    assert secret not in out + err
    assert "set      slack.bot_token" in out and "not set  discord.token" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.strip().startswith(("ok", "FAIL"))}
    assert lines["sources.arxiv.api_url"].split()[0] == "FAIL"
    assert lines["sources.github.api_url"].split()[0] == "FAIL" and "HTTP 503" in lines["sources.github.api_url"]
    hf = lines["sources.huggingface.api_url"]
    assert hf.split()[0] == "ok" and "HTTP 404" in hf
    assert lines["database"].split()[0] == "ok" and "up to date" in lines["database"]
    assert "6/8 upstreams reachable" in out
    assert {r.method for r in up.requests_to("/hf")} == {"HEAD"}


def test_doctor_fails_when_the_database_is_unreachable(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"postgresql+psycopg://nobody:pw@127.0.0.1:{_closed_port()}/x")
    for key in ("SLACK__API_URL", "DISCORD__API_URL", "SOURCES__ARXIV__RSS_URL", "SOURCES__ARXIV__API_URL",
                "SOURCES__GITHUB__API_URL", "SOURCES__GITHUB__GRAPHQL_URL", "SOURCES__HUGGINGFACE__API_URL",
                "SOURCES__PAPERSWITHCODE__API_URL"):
        monkeypatch.setenv(f"SOTABOT_{key}", f"http://127.0.0.1:{_closed_port()}/")
    code, out, _ = run(capsys, "doctor", "--timeout", "0.5")
    assert code == 1
    assert "FAIL" in out and "unreachable" in out
    assert ":pw@" not in out  # the password in the URL is never shown


def test_chart_writes_the_sota_over_time_png(db, capsys, tmp_path):
    target = tmp_path / "asr.png"
    code, out, _ = run(capsys, "sota", "zz asr", "--chart", str(target), "--json")
    assert code == 0
    assert json.loads(out)["benchmark"]["dataset"] == "LibriSpeech test-clean"  # stdout stays pure JSON
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run(capsys, "sota", "zz asr", "--chart", str(tmp_path / "b.png"))
    assert code == 0 and "chart written to" in out


def test_a_chart_that_cannot_be_written_is_a_one_line_error(db, capsys, tmp_path):
    code, out, err = run(capsys, "sota", "zz asr", "--chart", str(tmp_path / "missing-dir" / "x.png"))
    assert code == 1
    assert err.startswith("sotabot: chart ") and len(err.strip().splitlines()) == 1
    assert out == ""


def test_chart_writes_a_png_that_decodes_for_the_benchmark_shown(db, capsys, tmp_path):
    import matplotlib.image

    for argv, name in ((("zz asr",), "main.png"), (("zz asr", "--dataset", "LibriSpeech test-other"), "other.png")):
        target = tmp_path / name
        code, out, _ = run(capsys, "sota", *argv, "--chart", str(target))
        assert code == 0 and "chart written to" in out
        height, width, channels = matplotlib.image.imread(target).shape  # a real, decodable PNG
        assert width > 600 and height > 300 and channels in (3, 4)


def test_a_dataset_query_names_the_other_tasks_on_the_dataset_as_chat_does(tmp_path, monkeypatch, capsys):
    """`sotabot sota coco` is COCO's object-detection board; COCO is also an Instance Segmentation
    benchmark, and the terminal says so in the words chat uses."""
    from sotabot.bot.commands import CommandContext, handle
    from sotabot.bot.render.inline import plain_text
    from sotabot.bot.settings import Config
    from sotabot.digests.message import Context
    from sotabot.sources.archive.starter import ensure_starter_data

    url = f"sqlite:///{tmp_path / 'starter.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", url)
    engine = make_engine(url)
    upgrade(engine)
    ensure_starter_data(engine)
    chat = handle(engine, Config(), CommandContext(platform="slack", workspace="T1", channel="C1", user="U1"),
                  "/sota coco", charts=False)
    engine.dispose()
    (note,) = [plain_text(b.text) for b in chat.blocks if isinstance(b, Context) and "also a benchmark of" in b.text]
    assert "Instance Segmentation" in note
    code, out, _ = run(capsys, "sota", "coco")
    assert code == 0 and "Object Detection · COCO test-dev" in out
    assert note in out


def test_speech_recognition_reads_and_answers_to_wer_on_the_starter_set(tmp_path, monkeypatch, capsys):
    """The archive's "Percentage error" on LibriSpeech is shown as WER, and `--metric WER` means that board."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{tmp_path / 'starter.db'}")
    monkeypatch.setenv("COLUMNS", "120")
    for extra in ([], ["--metric", "WER"], ["--metric", "wer"]):
        code, out, _ = run(capsys, "sota", "speech recognition", *extra)
        assert code == 0
        assert out.splitlines()[0].startswith("Speech Recognition · LibriSpeech test-clean · WER "), out
        assert "Percentage error" not in out
