"""A preferred benchmark (the curated canonical one, or the operator's) opens the task: it beats the
most-crowded rule, an operator's choice also beats the upstream default, and a preference naming no
benchmark of the task changes nothing."""

from __future__ import annotations

from sqlmodel import Session

from sotabot.storage.leaderboards import Preference, leaderboard, task_benchmarks
from tests.storage.test_leaderboards import Data, data  # noqa: F401 - the shared row writer


def _crowded_cifar(data: Data):  # noqa: F811
    t = data.task("Image Classification")
    cifar = data.bench(t, "CIFAR-10", [("Percentage correct", "higher")])
    for i in range(5):
        data.row(cifar, f"C{i}", {"Percentage correct": 90.0 + i})
    imagenet = data.bench(t, "ImageNet", [("Number of params", "lower"), ("Top 1 Accuracy", "higher")])
    data.row(imagenet, "ViT", {"Number of params": 86.0, "Top 1 Accuracy": 88.5})
    data.row(imagenet, "ResNet", {"Number of params": 25.0, "Top 1 Accuracy": 79.0})
    return t, cifar, imagenet


def test_the_preferred_dataset_and_metric_open_the_task(data):  # noqa: F811
    t, _, _ = _crowded_cifar(data)
    assert leaderboard(data.s, t.id).dataset == "CIFAR-10"  # the rule without a preference
    prefer = {"image-classification": Preference(("imagenet",), ("Top-1 Accuracy",))}.get
    board = leaderboard(data.s, t.id, prefer=prefer)
    assert (board.dataset, board.metric, [r.model for r in board.rows]) == ("ImageNet", "Top 1 Accuracy",
                                                                             ["ViT", "ResNet"])
    assert [b.dataset for b in board.other_benchmarks] == ["CIFAR-10"]
    assert [b.dataset for b in task_benchmarks(data.s, t.id, prefer)] == ["ImageNet", "CIFAR-10"]


def test_an_explicit_dataset_or_metric_still_wins_over_the_preference(data):  # noqa: F811
    t, _, _ = _crowded_cifar(data)
    prefer = {"image-classification": Preference(("ImageNet",), ("Top 1 Accuracy",))}.get
    assert leaderboard(data.s, t.id, dataset="CIFAR-10", prefer=prefer).dataset == "CIFAR-10"
    assert leaderboard(data.s, t.id, metric="Number of params", prefer=prefer).metric == "Number of params"


def test_a_preference_naming_nothing_of_the_task_falls_back_to_the_rule(data):  # noqa: F811
    t, _, _ = _crowded_cifar(data)
    prefer = {"image-classification": Preference(("JFT-300M",), ("Top 1 Accuracy",))}.get
    board = leaderboard(data.s, t.id, prefer=prefer)
    assert (board.dataset, board.metric) == ("CIFAR-10", "Percentage correct")


def test_the_upstream_default_beats_the_curated_choice_but_not_the_operators(data):  # noqa: F811
    t, cifar, _ = _crowded_cifar(data)
    t.default_benchmark_id = cifar.id
    data.s.add(t)
    data.s.flush()
    curated = {"image-classification": Preference(("ImageNet",))}.get
    operator = {"image-classification": Preference(("ImageNet",), strong=True)}.get
    assert leaderboard(data.s, t.id, prefer=curated).dataset == "CIFAR-10"
    assert leaderboard(data.s, t.id, prefer=operator).dataset == "ImageNet"


def test_without_a_numeric_preferred_metric_the_primary_one_ranks(data):  # noqa: F811
    t, _, _ = _crowded_cifar(data)
    prefer = {"image-classification": Preference(("ImageNet",), ("Top 5 Accuracy",))}.get
    assert leaderboard(data.s, t.id, prefer=prefer).metric == "Number of params"
    assert isinstance(data.s, Session)
