"""A dataset name as the query: `/sota imagenet`, `/sota coco`, `/sota cifar-10` answer with that
dataset's board in the task it usually means (COCO: object detection), else the task that uses it
most, naming the other tasks on it; a task's own name or
alias still wins; abbreviated words (img, seg, det, cls, gen, rec) are spelled out."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.lookup.datasets import resolve_dataset
from sotabot.bot.lookup.resolve import expand_abbreviations, resolve_task
from sotabot.bot.settings import Config
from sotabot.digests.message import Context
from sotabot.sources.archive.starter import ensure_starter_data
from sotabot.sources.normalise.canonical import canonical_preference
from tests.storage.test_leaderboards import Data

CTX = CommandContext(platform="slack", workspace="T1", channel="C1", user="U1")


@pytest.fixture
def coco(engine):
    """COCO in three tasks: detection uses it most (test-dev and minival), then instance segmentation."""
    with Session(engine) as s:
        data = Data(s)
        det = data.task("Object Detection")
        seg = data.task("Instance Segmentation")
        cap = data.task("Image Captioning")
        test_dev = data.bench(det, "COCO test-dev", [("box AP", "higher")])
        minival = data.bench(det, "COCO minival", [("box AP", "higher")])
        for i in range(3):
            data.row(test_dev, f"D{i}", {"box AP": 50.0 + i})
        for i in range(4):
            data.row(minival, f"M{i}", {"box AP": 40.0 + i})
        seg_bench = data.bench(seg, "COCO test-dev", [("mask AP", "higher")])
        for i in range(2):
            data.row(seg_bench, f"S{i}", {"mask AP": 40.0 + i})
        vqa = data.bench(cap, "COCO Visual Question Answering (VQA) real images 1.0 open ended", [("Acc", "higher")])
        for i in range(20):
            data.row(vqa, f"V{i}", {"Acc": 60.0 + i})
        s.commit()
    return engine


def test_a_dataset_family_opens_the_task_that_uses_it_most_on_its_canonical_benchmark(coco):
    with Session(coco) as s:
        answer = resolve_dataset(s, "coco", canonical_preference())
        assert answer is not None
        assert answer.task.name == "Object Detection"
        assert answer.dataset == "COCO test-dev"  # the canonical one, though minival has more results
        assert [t.name for t in answer.others] == ["Instance Segmentation"]  # a dataset named after COCO is not COCO


def test_spelling_of_the_dataset_does_not_matter(coco):
    with Session(coco) as s:
        for spelling in ("COCO", "coco test-dev", "Coco  Test Dev", "coco_minival"):
            answer = resolve_dataset(s, spelling)
            assert answer is not None and answer.task.name == "Object Detection", spelling


def test_no_dataset_of_that_name_is_no_answer(coco):
    with Session(coco) as s:
        assert resolve_dataset(s, "imagenet") is None
        assert resolve_dataset(s, "co") is None


def test_sota_with_a_dataset_name_answers_with_its_board_and_names_the_other_tasks(coco):
    msg = handle(coco, Config(), CTX, "/sota coco", charts=False)
    assert msg.text.startswith("State of the art on Object Detection \\(COCO test-dev, box AP\\)")
    notes = [b.text for b in msg.blocks if isinstance(b, Context)]
    assert any("also a benchmark of: Instance Segmentation" in n for n in notes)


def test_a_task_name_still_wins_over_a_dataset_name(coco):
    msg = handle(coco, Config(), CTX, "/sota instance segmentation", charts=False)
    assert msg.text.startswith("State of the art on Instance Segmentation")


@pytest.fixture
def starter(engine):
    ensure_starter_data(engine)
    return engine


@pytest.mark.parametrize(
    ("query", "task", "dataset"),
    [
        ("imagenet", "Image Classification", "ImageNet"),
        ("cifar-10", "Image Classification", "CIFAR-10 Image Recognition"),
        ("cifar10", "Image Classification", "CIFAR-10 Image Recognition"),
        ("squad", "Question Answering", "SQuAD1.1"),
        ("librispeech", "Speech Recognition", "LibriSpeech test-clean"),
        ("coco", "Object Detection", "COCO test-dev"),  # Instance Segmentation has as many COCO rows here
    ],
)
def test_dataset_queries_on_the_starter_set(starter, query, task, dataset):
    msg = handle(starter, Config(), CTX, f"/sota {query}", charts=False)
    assert msg.text.startswith(f"State of the art on {task} \\({dataset},"), msg.text


@pytest.mark.parametrize(
    ("query", "task", "dataset"),
    [
        ("SQuAD v1.1", "Question Answering", "SQuAD1.1"),
        ("SQuAD v2.0", "Question Answering", "SQuAD2.0"),
        ("wmt 2014 en-de", "Machine Translation", "WMT2014 English-German"),  # a curated variant
    ],
)
def test_a_dataset_spelt_as_the_importer_merges_it_answers_with_its_board(starter, query, task, dataset):
    """The importer merges "SQuAD v1.1" into "SQuAD1.1" (sources.normalise.variants.dataset_key): the query
    spelt either way is the same dataset."""
    msg = handle(starter, Config(), CTX, f"/sota {query}", charts=False)
    assert msg.text.startswith(f"State of the art on {task} \\({dataset},"), msg.text


@pytest.mark.parametrize(
    ("query", "task"),
    [
        ("img classification", "Image Classification"),
        ("img cls", "Image Classification"),
        ("instance seg", "Instance Segmentation"),
        ("speech rec", "Speech Recognition"),
        ("object det", "Object Detection"),
        ("image gen", "Image Generation"),
    ],
)
def test_abbreviated_words_resolve_when_the_rest_fits_one_task(starter, query, task):
    with Session(starter) as s:
        res = resolve_task(s, query)
    assert res.task is not None and res.task.name == task


def test_abbreviations_are_whole_words_only():
    assert expand_abbreviations("img cls") == "image classification"
    assert expand_abbreviations("imgnet segment") == "imgnet segment"


def test_a_dataset_named_alone_means_its_usual_task_even_where_another_has_more_rows(engine):
    with Session(engine) as s:
        data = Data(s)
        det = data.bench(data.task("Object Detection"), "COCO test-dev", [("box AP", "higher")])
        seg = data.bench(data.task("Instance Segmentation"), "COCO test-dev", [("mask AP", "higher")])
        data.row(det, "D", {"box AP": 50.0})
        for i in range(5):
            data.row(seg, f"S{i}", {"mask AP": 40.0 + i})
        s.commit()
        answer = resolve_dataset(s, "coco", canonical_preference())
        assert answer is not None and answer.task.name == "Object Detection"
        assert [t.name for t in answer.others] == ["Instance Segmentation"]


def test_without_a_board_on_the_dataset_its_usual_task_gives_way_to_the_one_that_uses_it_most(engine):
    with Session(engine) as s:
        data = Data(s)
        data.bench(data.task("Object Detection"), "Pascal VOC", [("mAP", "higher")])
        seg = data.bench(data.task("Instance Segmentation"), "COCO test-dev", [("mask AP", "higher")])
        data.row(seg, "S", {"mask AP": 40.0})
        s.commit()
        answer = resolve_dataset(s, "coco", canonical_preference())
        assert answer is not None and answer.task.name == "Instance Segmentation"
