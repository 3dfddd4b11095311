"""The benchmark a researcher means: on the shipped starter set, the headline tasks open on their
canonical benchmark (ImageNet top-1, COCO test-dev, LibriSpeech test-clean, ...), and `[canonical]`
in the config overrides the curated choice."""

from __future__ import annotations

import pytest

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.settings import Config
from sotabot.digests.message import Header
from sotabot.sources.archive.starter import ensure_starter_data
from sotabot.sources.normalise.canonical import CANONICAL, canonical_preference
from sotabot.storage.config import ConfigError

CTX = CommandContext(platform="slack", workspace="T1", channel="C1", user="U1")


@pytest.fixture
def starter(engine):
    ensure_starter_data(engine)
    return engine


def _title(engine, text: str, config: Config | None = None) -> str:
    """The answer's headline: "Task (Dataset, Metric)", as its plain text states it."""
    msg = handle(engine, config or Config(), CTX, text, charts=False)
    assert any(isinstance(b, Header) for b in msg.blocks), msg.text
    return msg.text.split(":", 1)[0].replace("\\", "")


def test_at_least_forty_headline_tasks_have_a_canonical_benchmark():
    assert len(CANONICAL) >= 40
    prefer = canonical_preference()
    assert prefer("image-classification").datasets[0] == "ImageNet"
    assert prefer("object-detection").datasets[0] == "COCO test-dev"
    assert prefer("code-generation").metrics[0] == "Pass@1"


@pytest.mark.parametrize(
    ("query", "dataset"),
    [
        ("image classification", "ImageNet"),
        ("object detection", "COCO test-dev"),
        ("semantic segmentation", "ADE20K"),
        ("speech recognition", "LibriSpeech test-clean"),
        ("machine translation", "WMT2014 English-German"),
        ("question answering", "SQuAD1.1"),
        ("code generation", "HumanEval"),
    ],
)
def test_headline_tasks_open_on_their_canonical_benchmark(starter, query, dataset):
    assert dataset in _title(starter, f"/sota {query}")


def test_image_classification_ranks_imagenet_by_top1(starter):
    title = _title(starter, "/sota image classification")
    assert title == "State of the art on Image Classification (ImageNet, Top-1 Accuracy)"


def test_the_config_overrides_the_curated_choice(starter):
    config = Config()
    config.canonical = {"Image Classification": "CIFAR-10 Image Recognition | Percentage correct"}
    title = _title(starter, "/sota image classification", config)
    assert title == "State of the art on Image Classification (CIFAR-10 Image Recognition, Percentage correct)"


def test_a_canonical_entry_without_a_dataset_fails_at_start_naming_the_key():
    config = Config()
    config.canonical = {"Image Classification": " | Top 1 Accuracy"}
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert "canonical.Image Classification" in str(err.value)


def test_a_paper_link_that_is_no_paper_is_shown_as_a_link(engine):
    from sqlmodel import Session

    from tests.storage.test_leaderboards import Data

    with Session(engine) as s:
        data = Data(s)
        bench = data.bench(data.task("Some Task"), "Some Set", [("Acc", "higher")])
        data.row(bench, "Lab Model", {"Acc": 90.0}, paper_title="Our Lab", paper_url="http://tia.today")
        data.row(bench, "Real Model", {"Acc": 80.0}, paper_title="A Paper", paper_url="https://arxiv.org/abs/2101.00001")
        s.commit()
    msg = handle(engine, Config(), CTX, "/sota some task", charts=False)
    text = "\n".join(getattr(b, "text", "") for b in msg.blocks)
    assert "[link](http://tia.today)" in text and "[Our Lab](http://tia.today)" not in text
    assert "[A Paper](https://arxiv.org/abs/2101.00001)" in text


@pytest.mark.parametrize("override", [False, True], ids=["curated", "config"])
def test_the_benchmark_menu_starts_with_the_board_the_answer_opened_on(starter, override):
    from sotabot.bot.commands.actions import DATASET
    from sotabot.digests.message import Actions

    config = Config()
    if override:  # a board with fewer results than ImageNet's: only the preference puts it first
        config.canonical = {"Image Classification": "CIFAR-10 Image Recognition | Percentage correct"}
    msg = handle(starter, config, CTX, "/sota image classification", charts=False)
    (menu,) = [c for b in msg.blocks if isinstance(b, Actions) for c in b.controls if c.action == DATASET]
    first_label, first_value = menu.options[0]
    assert menu.selected == first_value
    assert first_label == ("CIFAR-10 Image Recognition" if override else "ImageNet")


def test_speech_recognition_is_ranked_by_wer_and_answers_to_that_name(starter):
    """The archive calls the quantity "Percentage error"; a speech researcher reads and types WER."""
    from sotabot.digests.message import Table

    want = "State of the art on Speech Recognition (LibriSpeech test-clean, WER)"
    assert _title(starter, "/sota speech recognition") == want
    assert _title(starter, "/sota speech recognition by WER") == want
    assert _title(starter, "/sota speech recognition by wer") == want
    msg = handle(starter, Config(), CTX, "/sota speech recognition", charts=False)
    table = next(b for b in msg.blocks if isinstance(b, Table))
    assert table.columns[2] == "WER"
    assert "Percentage error" not in str(msg.to_dict())  # not in the header, the column or the metric menu
