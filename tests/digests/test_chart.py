"""The SOTA-over-time chart: a PNG whose plotted series is the benchmark's best-by-date series."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import matplotlib.image
import pytest
from sqlmodel import Session

from sotabot.digests.chart import HIGHER, LOWER, MAX_LABELS, ChartError, chart_for_task, render_sota_chart
from sotabot.storage.leaderboards import SeriesPoint, sota_series
from sotabot.storage.models import Benchmark, Dataset, Metric, Task
from sotabot.storage.results import record_result

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def seed(
    engine, slug: str, dataset: str, metric: str, direction: str, rows: list[tuple[date, float, str]]
) -> tuple[int, int, int]:
    """A task with one benchmark and its results; returns (task, benchmark, metric) ids."""
    with Session(engine) as s:
        task = Task(slug=slug, name=slug.replace("-", " ").title())
        ds = Dataset(name=dataset)
        m = Metric(name=metric, direction=direction)
        s.add_all([task, ds, m])
        s.flush()
        bench = Benchmark(task_id=task.id, dataset_id=ds.id, primary_metric_id=m.id)
        s.add(bench)
        s.flush()
        for day, value, model in rows:
            record_result(
                s, benchmark_id=bench.id, model=model, paper_key=f"key-{model}", values={m.id: (value, str(value))},
                result_date=day, source="pwc_api", verified=True,
            )
        s.commit()
        return task.id, bench.id, m.id


def best_by_date(rows: list[tuple[date, float, str]], higher: bool) -> list[tuple[date, float]]:
    """The expected record line, computed here from the raw rows, independently of the code."""
    out: list[tuple[date, float]] = []
    for day, value, _ in sorted(rows, key=lambda r: (r[0], -r[1] if higher else r[1])):
        if not out or (value > out[-1][1] if higher else value < out[-1][1]):
            out.append((day, value))
    return out


def random_rows(n: int, seed_: int) -> list[tuple[date, float, str]]:
    rng = random.Random(seed_)
    start = date(2015, 1, 1)
    return [
        (start + timedelta(days=rng.randrange(0, 3650)), round(rng.uniform(10, 90), 2), f"Model-{i}-" + "x" * (i % 40))
        for i in range(n)
    ]


def decodes_as_png(path: Path) -> tuple[int, ...]:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return matplotlib.image.imread(path).shape


@pytest.mark.parametrize(("direction", "higher"), [("higher", True), ("lower", False)])
def test_the_chart_plots_the_benchmarks_best_by_date_series(engine, tmp_path, direction, higher):
    rows = random_rows(60, seed_=7)
    task_id, bench_id, metric_id = seed(engine, "image-classification", "ImageNet", "Top 1 Accuracy", direction, rows)
    png = tmp_path / "sota.png"
    with Session(engine) as s:
        data = chart_for_task(s, task_id, png)
        series = sota_series(s, bench_id, metric_id)
    assert list(zip(data.best_dates, data.best_values, strict=True)) == best_by_date(rows, higher)
    assert [(p.date, p.value) for p in series if p.is_record] == best_by_date(rows, higher)
    assert sorted(zip(data.dates, data.values, strict=True)) == sorted((d, v) for d, v, _ in rows)
    height, width, _channels = decodes_as_png(png)
    assert width > 600 and height > 300
    assert data.ylabel == f"Top 1 Accuracy ({HIGHER if higher else LOWER})"
    assert data.title == "Image Classification: state of the art on ImageNet"


def test_record_holders_are_labelled_at_most_eight_with_short_names_first_and_current_included(tmp_path):
    points = [
        SeriesPoint(date(2016, 1, 1) + timedelta(days=30 * i), 50.0 + i, f"A very long model name no {i}", None, True)
        for i in range(20)
    ]
    data = render_sota_chart(points, tmp_path / "c.png", title="t", metric="Accuracy", higher_is_better=True)
    assert len(data.labels) == MAX_LABELS
    assert data.labels[0].date == points[0].date and data.labels[-1].date == points[-1].date
    assert all(len(label.text.split(" (")[0]) <= 24 for label in data.labels)
    assert data.labels[-1].text == "A very long model name… (69)"
    decodes_as_png(tmp_path / "c.png")


def test_a_lower_error_is_a_record_and_a_higher_one_is_a_dot_only(tmp_path):
    points = [
        SeriesPoint(date(2020, 1, 1), 5.0, "A", None, False),
        SeriesPoint(date(2021, 1, 1), 6.0, "B", None, False),
        SeriesPoint(date(2022, 1, 1), 3.0, "C", None, False),
    ]
    data = render_sota_chart(points, tmp_path / "e.png", title="t", metric="Error", higher_is_better=False)
    assert (data.best_values, [lab.text for lab in data.labels]) == ([5.0, 3.0], ["A (5)", "C (3)"])
    assert data.values == [5.0, 6.0, 3.0]
    assert data.ylabel == "Error (↓ lower is better)"


def test_the_record_line_runs_on_to_the_latest_result(tmp_path):
    points = [
        SeriesPoint(date(2020, 1, 1), 90.0, "Leader", None, True),
        SeriesPoint(date(2024, 6, 1), 80.0, "Later", None, False),
    ]
    data = render_sota_chart(points, tmp_path / "l.png", title="t", metric="F1", higher_is_better=True)
    assert data.extends_to == date(2024, 6, 1)


@pytest.mark.parametrize(
    ("direction", "higher", "values"),
    [("higher", True, (80.0, 85.0, 85.0, 86.0)), ("lower", False, (3.0, 2.0, 2.0, 1.5))],
)
def test_a_later_result_that_only_ties_the_record_is_a_dot_not_a_step(engine, tmp_path, direction, higher, values):
    days = [date(2019, 1, 1), date(2020, 1, 1), date(2021, 1, 1), date(2022, 1, 1)]
    rows = list(zip(days, values, ["Old", "Leader", "Tie", "New"], strict=True))
    task_id, _, _ = seed(engine, "some-task", "D", "Score", direction, rows)
    with Session(engine) as s:
        data = chart_for_task(s, task_id, tmp_path / "tie.png")
    old, leader, _tie, new = rows
    assert list(zip(data.best_dates, data.best_values, strict=True)) == [old[:2], leader[:2], new[:2]]
    assert data.values == list(values)  # the tie is still plotted, as a dot
    assert all(not label.text.startswith("Tie") for label in data.labels)
    unflagged = [SeriesPoint(d, v, m, None, False) for d, v, m in rows]  # the chart recomputes records itself
    again = render_sota_chart(unflagged, tmp_path / "tie2.png", title="t", metric="Score", higher_is_better=higher)
    assert again.best_values == [old[1], leader[1], new[1]]


def test_nothing_to_chart_is_a_clear_error_or_none(engine, tmp_path):
    with pytest.raises(ChartError, match="nothing to chart"):
        render_sota_chart([], tmp_path / "x.png", title="t", metric="m", higher_is_better=True)
    task_id, _, _ = seed(engine, "empty-task", "Nothing", "Score", "higher", [])
    with Session(engine) as s:
        assert chart_for_task(s, task_id, tmp_path / "y.png") is None
    assert not (tmp_path / "y.png").exists()


def test_an_unwritable_path_is_a_clear_error(tmp_path):
    point = [SeriesPoint(date(2020, 1, 1), 1.0, "A", None, True)]
    with pytest.raises(ChartError, match="cannot write the chart"):
        render_sota_chart(point, tmp_path / "missing-dir" / "c.png", title="t", metric="m", higher_is_better=True)


def test_sotabot_sota_writes_the_chart(tmp_path, monkeypatch, capsys):
    from sotabot.bot.cli import main
    from sotabot.storage.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    rows = [(date(2019, 1, 1), 3.0, "Old"), (date(2021, 1, 1), 2.1, "Mid"), (date(2023, 1, 1), 1.8, "New")]
    seed(engine, "speech-recognition", "LibriSpeech test-clean", "Word Error Rate (WER)", "lower", rows)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", url)
    png = tmp_path / "wer.png"
    assert main(["sota", "speech-recognition", "--chart", str(png)]) == 0
    decodes_as_png(png)
