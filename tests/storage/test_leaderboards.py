"""Leaderboards: main benchmark rule, ranking in the metric's direction, choices, SOTA series.

Data is written with the models directly, on SQLite and on PostgreSQL (`engine` fixture).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from sotabot.storage.leaderboards import (
    LookupProblem,
    leaderboard,
    sota_series,
    task_benchmarks,
)
from sotabot.storage.models import (
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultValue,
    Task,
)


class Data:
    """A tiny writer for leaderboard rows, so each test states only what it is about."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.metrics: dict[str, Metric] = {}

    def task(self, name: str, parent: Task | None = None, **kw: Any) -> Task:
        t = Task(slug=name.lower().replace(" ", "-"), name=name, parent_id=parent.id if parent else None, **kw)
        self.s.add(t)
        self.s.flush()
        return t

    def metric(self, name: str, direction: str = "unknown") -> Metric:
        if name not in self.metrics:
            m = Metric(name=name, direction=direction)
            self.s.add(m)
            self.s.flush()
            self.metrics[name] = m
        return self.metrics[name]

    def bench(
        self, task: Task, dataset: str, metrics: Sequence[tuple[str, str]], parent_dataset: str | None = None,
        primary: str | None = None,
    ) -> Benchmark:
        parent = None
        if parent_dataset:
            parent = Dataset(name=parent_dataset)
            self.s.add(parent)
            self.s.flush()
        d = Dataset(name=dataset, parent_id=parent.id if parent else None)
        self.s.add(d)
        self.s.flush()
        ms = [self.metric(n, direction) for n, direction in metrics]
        b = Benchmark(task_id=task.id, dataset_id=d.id, primary_metric_id=self.metrics[primary].id if primary else None)
        self.s.add(b)
        self.s.flush()
        for pos, m in enumerate(ms):
            self.s.add(BenchmarkMetric(benchmark_id=b.id, metric_id=m.id, position=pos))
        self.s.flush()
        return b

    def row(
        self, bench: Benchmark, model: str, values: dict[str, float | str | None] | None = None,
        day: date | None = None, **kw: Any,
    ) -> Result:
        r = Result(benchmark_id=bench.id, model=model, paper_key=kw.pop("paper_key", model), result_date=day, **kw)
        self.s.add(r)
        self.s.flush()
        for name, value in (values or {}).items():
            number = value if isinstance(value, float | int) else None
            raw = str(value) if value is not None else ""
            self.s.add(ResultValue(result_id=r.id, metric_id=self.metrics[name].id, value=number, raw=raw))
        self.s.flush()
        return r


@pytest.fixture
def data(engine):
    with Session(engine) as s:
        yield Data(s)
        s.commit()


def models(board) -> list[str]:
    return [r.model for r in board.rows]


def test_main_benchmark_is_the_one_with_the_most_results(data):
    t = data.task("Image Classification")
    small = data.bench(t, "CIFAR-10", [("Accuracy", "higher")])
    big = data.bench(t, "ImageNet", [("Top 1 Accuracy", "higher")])
    data.row(small, "A", {"Accuracy": 99.0}, date(2020, 1, 1))
    for i in range(3):
        data.row(big, f"M{i}", {"Top 1 Accuracy": 80.0 + i}, date(2019, 1, 1))
    board = leaderboard(data.s, t.id)
    assert board.benchmark_id == big.id
    assert board.dataset == "ImageNet"
    assert board.metric == "Top 1 Accuracy"
    assert [(b.dataset, b.metric, b.results) for b in board.other_benchmarks] == [("CIFAR-10", "Accuracy", 1)]


def test_equal_result_counts_go_to_the_most_recent_benchmark_then_the_dataset_name(data):
    t = data.task("Task")
    old = data.bench(t, "Alpha", [("Accuracy", "higher")])
    recent = data.bench(t, "Zeta", [("Accuracy", "higher")])
    undated_b = data.bench(t, "Beta", [("Accuracy", "higher")])
    undated_c = data.bench(t, "Gamma", [("Accuracy", "higher")])
    data.row(old, "A", {"Accuracy": 1.0}, date(2018, 1, 1))
    data.row(recent, "A", {"Accuracy": 1.0}, date(2021, 1, 1))
    data.row(undated_c, "A", {"Accuracy": 1.0})
    data.row(undated_b, "A", {"Accuracy": 1.0})
    board = leaderboard(data.s, t.id)
    assert board.benchmark_id == recent.id
    assert [b.dataset for b in board.other_benchmarks] == ["Alpha", "Beta", "Gamma"]


def test_a_default_benchmark_set_upstream_wins_over_result_counts(data):
    t = data.task("Task")
    big = data.bench(t, "Big", [("Accuracy", "higher")])
    chosen = data.bench(t, "Chosen", [("Accuracy", "higher")])
    for i in range(5):
        data.row(big, f"M{i}", {"Accuracy": float(i)})
    data.row(chosen, "A", {"Accuracy": 1.0})
    t.default_benchmark_id = chosen.id
    data.s.add(t)
    data.s.flush()
    assert leaderboard(data.s, t.id).dataset == "Chosen"
    assert [b.dataset for b in task_benchmarks(data.s, t.id)] == ["Chosen", "Big"]


def test_lower_is_better_metrics_rank_ascending(data):
    t = data.task("Speech Recognition")
    b = data.bench(t, "LibriSpeech test-clean", [("Word Error Rate (WER)", "lower")])
    data.row(b, "Mid", {"Word Error Rate (WER)": 2.5}, date(2020, 1, 1))
    data.row(b, "Best", {"Word Error Rate (WER)": 1.4}, date(2021, 1, 1))
    data.row(b, "Worst", {"Word Error Rate (WER)": 5.0}, date(2019, 1, 1))
    board = leaderboard(data.s, t.id)
    assert models(board) == ["Best", "Mid", "Worst"]
    assert [r.rank for r in board.rows] == [1, 2, 3]
    assert board.higher_is_better is False


def test_higher_is_better_metrics_rank_descending(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher")])
    for model, value in [("B", 80.0), ("A", 90.0), ("C", 70.0)]:
        data.row(b, model, {"Accuracy": value})
    board = leaderboard(data.s, t.id)
    assert models(board) == ["A", "B", "C"]
    assert board.higher_is_better is True


def test_an_unknown_direction_ranks_highest_first_and_says_it_is_unknown(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Mystery Score", "unknown")])
    data.row(b, "Low", {"Mystery Score": 1.0})
    data.row(b, "High", {"Mystery Score": 2.0})
    board = leaderboard(data.s, t.id)
    assert models(board) == ["High", "Low"]
    assert board.higher_is_better is None


def test_rows_without_a_numeric_value_come_last_and_keep_their_raw_text(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Error", "lower")])
    data.row(b, "Dash", {"Error": "-"}, date(2015, 1, 1))
    data.row(b, "Good", {"Error": 3.0})
    data.row(b, "Multi", {"Error": "(32.76 32.07)"}, date(2016, 1, 1))
    data.row(b, "NoCell", {}, date(2014, 1, 1))
    data.row(b, "Better", {"Error": 2.0})
    board = leaderboard(data.s, t.id)
    assert models(board)[:2] == ["Better", "Good"]
    assert models(board)[2:] == ["NoCell", "Dash", "Multi"]  # missing values last, by date
    assert [(r.value, r.raw) for r in board.rows[2:]] == [(None, ""), (None, "-"), (None, "(32.76 32.07)")]


def test_equal_values_are_ordered_by_date_then_model(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher")])
    data.row(b, "Later", {"Accuracy": 90.0}, date(2022, 1, 1))
    data.row(b, "Undated", {"Accuracy": 90.0})
    data.row(b, "B-first", {"Accuracy": 90.0}, date(2020, 1, 1))
    data.row(b, "A-first", {"Accuracy": 90.0}, date(2020, 1, 1))
    assert models(leaderboard(data.s, t.id)) == ["A-first", "B-first", "Later", "Undated"]


def test_the_primary_metric_is_the_first_declared_metric_that_has_a_number(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Params", "lower"), ("Accuracy", "higher"), ("F1", "higher")])
    data.row(b, "A", {"Params": "-", "Accuracy": 70.0, "F1": 0.9})
    data.row(b, "B", {"Params": "", "Accuracy": 80.0, "F1": 0.8})
    board = leaderboard(data.s, t.id)
    assert board.metric == "Accuracy"
    assert models(board) == ["B", "A"]


def test_a_primary_metric_set_on_the_benchmark_wins(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher"), ("F1", "higher")], primary="F1")
    data.row(b, "A", {"Accuracy": 70.0, "F1": 0.9})
    data.row(b, "B", {"Accuracy": 80.0, "F1": 0.8})
    board = leaderboard(data.s, t.id)
    assert (board.metric, models(board)) == ("F1", ["A", "B"])
    assert board.metric_id == data.metrics["F1"].id


def test_a_primary_metric_without_any_number_yields_to_the_first_declared_metric_with_numbers(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Test Error", "lower"), ("Top-1 Error", "lower")], primary="Test Error")
    data.row(b, "A", {"Top-1 Error": 20.0})
    data.row(b, "B", {"Test Error": "-", "Top-1 Error": 10.0})
    board = leaderboard(data.s, t.id)
    assert (board.metric, models(board)) == ("Top-1 Error", ["B", "A"])
    assert leaderboard(data.s, t.id, metric="test error").metric == "Test Error"  # still choosable


def test_a_benchmark_that_declares_no_metric_uses_the_metrics_of_its_rows(data):
    t = data.task("Task")
    b = data.bench(t, "D", [])
    data.metric("BLEU", "higher")
    data.row(b, "A", {"BLEU": 30.0})
    data.row(b, "B", {"BLEU": 35.0})
    board = leaderboard(data.s, t.id)
    assert (board.metric, models(board)) == ("BLEU", ["B", "A"])


def test_dataset_chooses_another_benchmark_ignoring_case_and_punctuation(data):
    t = data.task("Task")
    main = data.bench(t, "ImageNet", [("Top 1 Accuracy", "higher")])
    other = data.bench(t, "CIFAR-10", [("Accuracy", "higher")])
    data.row(main, "M1", {"Top 1 Accuracy": 1.0})
    data.row(main, "M2", {"Top 1 Accuracy": 2.0})
    data.row(other, "C", {"Accuracy": 99.0})
    for spelling in ("cifar 10", "CIFAR_10", "  Cifar-10 "):
        board = leaderboard(data.s, t.id, dataset=spelling)
        assert (board.dataset, models(board)) == ("CIFAR-10", ["C"])
    assert [b.dataset for b in board.other_benchmarks] == ["ImageNet"]


def test_a_leading_part_of_a_dataset_name_is_enough_when_it_is_unambiguous(data):
    t = data.task("Object Detection")
    data.bench(t, "COCO test-dev", [("box AP", "higher")])
    data.bench(t, "PASCAL VOC 2007", [("MAP", "higher")])
    data.bench(t, "PASCAL VOC 2012", [("MAP", "higher")])
    assert leaderboard(data.s, t.id, dataset="coco").dataset == "COCO test-dev"
    with pytest.raises(LookupProblem) as err:
        leaderboard(data.s, t.id, dataset="pascal voc")
    assert sorted(err.value.choices) == ["PASCAL VOC 2007", "PASCAL VOC 2012"]


def test_an_unknown_dataset_is_a_lookup_problem_listing_the_valid_datasets(data):
    t = data.task("Task")
    data.bench(t, "ImageNet", [("Accuracy", "higher")])
    data.bench(t, "CIFAR-10", [("Accuracy", "higher")])
    with pytest.raises(LookupProblem) as err:
        leaderboard(data.s, t.id, dataset="MNIST")
    assert err.value.kind == "dataset"
    assert err.value.query == "MNIST"
    assert sorted(err.value.choices) == ["CIFAR-10", "ImageNet"]
    assert "MNIST" in str(err.value)


def test_metric_chooses_another_metric_of_the_benchmark(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher"), ("Params", "lower")])
    data.row(b, "Big", {"Accuracy": 90.0, "Params": 600.0})
    data.row(b, "Small", {"Accuracy": 80.0, "Params": 5.0})
    board = leaderboard(data.s, t.id, metric="params")
    assert (board.metric, board.higher_is_better, models(board)) == ("Params", False, ["Small", "Big"])
    assert [r.raw for r in board.rows] == ["5.0", "600.0"]


def test_metric_alone_picks_the_main_benchmark_among_those_that_have_it(data):
    t = data.task("Task")
    main = data.bench(t, "Main", [("Accuracy", "higher")])
    other = data.bench(t, "Other", [("EM", "higher")])
    data.row(main, "A", {"Accuracy": 1.0})
    data.row(main, "B", {"Accuracy": 2.0})
    data.row(other, "C", {"EM": 50.0})
    board = leaderboard(data.s, t.id, metric="em")
    assert (board.dataset, board.metric, models(board)) == ("Other", "EM", ["C"])


def test_an_unknown_metric_is_a_lookup_problem_listing_the_valid_metrics(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher"), ("F1", "higher")])
    data.row(b, "A", {"Accuracy": 1.0})
    with pytest.raises(LookupProblem) as err:
        leaderboard(data.s, t.id, dataset="D", metric="BLEU")
    assert err.value.kind == "metric"
    assert err.value.choices == ["Accuracy", "F1"]


def test_rows_carry_paper_code_date_extra_data_and_provenance(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher")])
    paper = Paper(arxiv_id="2010.11929", title="An Image is Worth 16x16 Words")
    other_repo = Repo(url="https://github.com/someone/vit-port", stars=900)
    official = Repo(url="https://github.com/google-research/vision_transformer", stars=10)
    data.s.add_all([paper, other_repo, official])
    data.s.flush()
    data.s.add_all([
        PaperRepo(paper_id=paper.id, repo_id=other_repo.id, official=False, found_by="pwc"),
        PaperRepo(paper_id=paper.id, repo_id=official.id, official=True, found_by="pwc"),
    ])
    data.row(b, "ViT-H/14", {"Accuracy": 88.55}, date(2020, 10, 22), paper_id=paper.id, extra_data=True)
    data.row(
        b, "Claimed", {"Accuracy": 50.0}, None, paper_title="A claim", paper_url="https://example.org/p.pdf",
        code_url="https://github.com/a/b", verified=False, source="claim",
    )
    vit, claim = leaderboard(data.s, t.id).rows
    assert (vit.paper_title, vit.paper_url) == ("An Image is Worth 16x16 Words", "https://arxiv.org/abs/2010.11929")
    assert vit.code_url == "https://github.com/google-research/vision_transformer"  # official beats stars
    assert (vit.date, vit.extra_data, vit.verified, vit.source, vit.raw) == (
        date(2020, 10, 22), True, True, "pwc_archive", "88.55",
    )
    assert (claim.paper_title, claim.paper_url, claim.code_url) == ("A claim", "https://example.org/p.pdf",
                                                                    "https://github.com/a/b")
    assert (claim.extra_data, claim.verified, claim.source, claim.date) == (False, False, "claim", None)


def test_limit_caps_the_rows_but_not_the_counts(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher")])
    for i in range(15):
        data.row(b, f"M{i:02d}", {"Accuracy": float(i)})
    assert models(leaderboard(data.s, t.id, limit=3)) == ["M14", "M13", "M12"]
    assert len(leaderboard(data.s, t.id).rows) == 10
    assert task_benchmarks(data.s, t.id)[0].results == 15


def test_a_task_without_benchmarks_of_its_own_uses_its_subtasks(data):
    parent = data.task("Dialogue")
    dst = data.task("Dialogue State Tracking", parent=parent)
    chat = data.task("Retrieval-Based Chatbots", parent=parent)
    woz = data.bench(dst, "MultiWOZ", [("Joint Accuracy", "higher")])
    reddit = data.bench(chat, "Reddit Corpus", [("R@1", "higher")])
    data.row(woz, "TRADE", {"Joint Accuracy": 48.6})
    data.row(woz, "SUMBT", {"Joint Accuracy": 42.4})
    data.row(reddit, "PolyAI", {"R@1": 61.3})
    board = leaderboard(data.s, parent.id)
    assert (board.task_slug, board.dataset) == ("dialogue", "MultiWOZ (Dialogue State Tracking)")
    assert models(board) == ["TRADE", "SUMBT"]
    assert [b.dataset for b in board.other_benchmarks] == ["Reddit Corpus (Retrieval-Based Chatbots)"]
    assert leaderboard(data.s, parent.id, dataset="reddit corpus").dataset == "Reddit Corpus (Retrieval-Based Chatbots)"


def test_a_task_with_benchmarks_of_its_own_does_not_mix_in_its_subtasks(data):
    parent = data.task("Question Answering")
    child = data.task("Open-Domain Question Answering", parent=parent)
    own = data.bench(parent, "SQuAD1.1", [("EM", "higher")])
    sub = data.bench(child, "Quasar", [("EM", "higher")])
    data.row(own, "A", {"EM": 80.0})
    data.row(sub, "B", {"EM": 40.0})
    data.row(sub, "C", {"EM": 41.0})
    board = leaderboard(data.s, parent.id)
    assert (board.dataset, board.other_benchmarks) == ("SQuAD1.1", [])


def test_a_subdataset_is_labelled_with_its_parent_dataset(data):
    t = data.task("Grammatical Error Correction")
    b = data.bench(t, "Restricted", [("F0.5", "higher")], parent_dataset="CoNLL-2014 Shared Task")
    data.row(b, "A", {"F0.5": 60.0})
    board = leaderboard(data.s, t.id, dataset="conll 2014 shared task restricted")
    assert board.dataset == "CoNLL-2014 Shared Task / Restricted"
    assert leaderboard(data.s, t.id, dataset="Restricted").benchmark_id == b.id


def test_no_leaderboard_for_a_missing_task_or_a_task_without_benchmarks(data):
    empty = data.task("Empty")
    assert leaderboard(data.s, empty.id) is None
    assert leaderboard(data.s, 987654) is None
    assert task_benchmarks(data.s, empty.id) == []


def test_a_benchmark_without_results_still_answers_with_no_rows(data):
    t = data.task("Task")
    data.bench(t, "D", [("Accuracy", "higher")])
    board = leaderboard(data.s, t.id)
    assert (board.dataset, board.metric, board.rows) == ("D", "Accuracy", [])


def test_sota_series_marks_each_new_best_in_the_metric_direction(data):
    t = data.task("Language Modelling")
    b = data.bench(t, "Penn Treebank", [("Test perplexity", "lower")])
    data.row(b, "LSTM", {"Test perplexity": 82.7}, date(2014, 9, 8), paper_title="Zaremba")
    data.row(b, "Worse", {"Test perplexity": 90.0}, date(2015, 1, 1))
    data.row(b, "AWD-LSTM", {"Test perplexity": 57.3}, date(2017, 8, 7))
    data.row(b, "Same day worse", {"Test perplexity": 60.0}, date(2017, 8, 7))
    data.row(b, "Undated", {"Test perplexity": 10.0})
    data.row(b, "No value", {"Test perplexity": "-"}, date(2018, 1, 1))
    data.row(b, "GPT-2", {"Test perplexity": 35.76}, date(2019, 2, 14))
    series = sota_series(data.s, b.id, data.metrics["Test perplexity"].id)
    assert [(p.model, p.is_record) for p in series] == [
        ("LSTM", True), ("Worse", False), ("AWD-LSTM", True), ("Same day worse", False), ("GPT-2", True),
    ]
    assert [p.date for p in series] == sorted(p.date for p in series)
    assert series[0].paper_title == "Zaremba"
    best = leaderboard(data.s, t.id).rows[0]  # undated rows stay out of the series but count on the board
    assert (best.model, best.value) == ("Undated", 10.0)


def test_sota_series_and_the_board_for_higher_is_better(data):
    t = data.task("Task")
    b = data.bench(t, "D", [("Accuracy", "higher")])
    data.row(b, "A", {"Accuracy": 70.0}, date(2019, 1, 1))
    data.row(b, "B", {"Accuracy": 75.0}, date(2020, 1, 1))
    data.row(b, "C", {"Accuracy": 72.0}, date(2021, 1, 1))
    data.row(b, "Claim", {"Accuracy": 99.0}, date(2022, 1, 1), verified=False)
    m = data.metrics["Accuracy"].id
    assert [p.is_record for p in sota_series(data.s, b.id, m)] == [True, True, False, True]
    assert [p.model for p in sota_series(data.s, b.id, m, verified_only=True)] == ["A", "B", "C"]
    board = leaderboard(data.s, t.id)
    assert [(r.model, r.value, r.verified) for r in board.rows[:2]] == [("Claim", 99.0, False), ("B", 75.0, True)]


@pytest.mark.parametrize(
    ("direction", "first", "record", "tie", "better"),
    [("higher", 70.0, 75.0, 75.0, 75.5), ("lower", 5.0, 3.0, 3.0, 2.5)],
)
def test_sota_series_a_tie_with_the_best_so_far_is_not_a_new_record(data, direction, first, record, tie, better):
    t = data.task("Task")
    b = data.bench(t, "D", [("Score", direction)])
    data.row(b, "First", {"Score": first}, date(2019, 1, 1))
    data.row(b, "Record", {"Score": record}, date(2020, 1, 1))
    data.row(b, "Same day tie", {"Score": tie}, date(2020, 1, 1))  # ranks after "Record" by model name
    data.row(b, "Later tie", {"Score": tie}, date(2021, 1, 1))
    data.row(b, "Better", {"Score": better}, date(2022, 1, 1))
    series = sota_series(data.s, b.id, data.metrics["Score"].id)
    assert [(p.model, p.is_record) for p in series] == [
        ("First", True), ("Record", True), ("Same day tie", False), ("Later tie", False), ("Better", True),
    ]


# --------------------------------------------------------------------------------------------
# The real evaluation tables in the fixtures, imported with the archive importer.


@pytest.fixture
def archive(engine, fixture_files):
    from sotabot.sources.archive.tables import import_tables

    for path in sorted(fixture_files.pwc_tables.glob("*.json")):
        import_tables(engine, path)
    with Session(engine) as s:
        yield s


def _task_id(session: Session, slug: str) -> int:
    task = session.exec(select(Task).where(Task.slug == slug)).one()
    return task.id


def _in_direction(board) -> bool:
    values = [r.value for r in board.rows]
    numbers = [v for v in values if v is not None]
    if values[: len(numbers)] != numbers:  # every missing value after every number
        return False
    pairs = list(itertools.pairwise(numbers))
    if board.higher_is_better is False:
        return all(a <= b for a, b in pairs)
    return all(a >= b for a, b in pairs)


def test_every_benchmark_of_the_real_tables_ranks_in_its_metric_direction(archive):
    checked = 0
    for task in archive.exec(select(Task)).all():
        for summary in task_benchmarks(archive, task.id):
            board = leaderboard(archive, task.id, dataset=summary.dataset, limit=1000)
            assert board.benchmark_id == summary.benchmark_id, (task.slug, summary.dataset)
            assert len(board.rows) == summary.results
            assert _in_direction(board), (task.slug, summary.dataset, [r.raw for r in board.rows])
            checked += 1
    assert checked > 250


@pytest.mark.parametrize(
    ("slug", "dataset", "metric", "best"),
    [
        ("speech-recognition", "librispeech WER testclean", "Percentage error", "4.28"),
        # nlpprogress.json's "PTB" is this board too: GPT-2's 35.76 leads (eff.json's own rows start at 62.4)
        ("language-modelling", "Penn Treebank (Perplexity when parsing English sentences)", "Perplexity", "35.76"),
        ("classification", "CIFAR-10", "Test Error", None),
        ("speech-recognition", "Switchboard Hub5'00", "WER", "5.0"),  # the dump's task "ASR" is merged in
    ],
)
def test_lower_is_better_metrics_of_the_real_tables_rank_ascending(archive, slug, dataset, metric, best):
    board = leaderboard(archive, _task_id(archive, slug), dataset=dataset, limit=100)
    assert (board.metric, board.higher_is_better) == (metric, False)
    numbers = [r.value for r in board.rows if r.value is not None]
    assert len(numbers) >= 2 and numbers == sorted(numbers)
    if best is not None:
        assert board.rows[0].raw == best


def test_a_declared_metric_that_no_row_fills_does_not_become_the_ranking(archive):
    board = leaderboard(archive, _task_id(archive, "classification"), dataset="ImageNet-1k")
    assert board.metric == "Top-1 Error"
    assert board.rows[0].value is not None


def test_a_parent_task_of_the_real_tables_answers_from_its_subtasks(archive):
    board = leaderboard(archive, _task_id(archive, "dialogue"))
    assert board.dataset.endswith("(Dialogue State Tracking)") or "(" in board.dataset
    assert board.rows and board.other_benchmarks
