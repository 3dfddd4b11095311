"""Names: one normal form for lookups, which way a metric is better, and the curated aliases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sotabot.sources.normalise.taxonomy import CURATED_ALIASES, metric_direction, normalise, slugify

LOWER = [
    "Error", "Error rate", "Test Error", "Top-1 Error", "Percentage error", "Perplexity", "Test perplexity",
    "Validation perplexity", "ppl", "PPL", "WER", "CER", "FID", "Params", "Parameters", "Number of params",
    "Params (M)", "Latency", "Inference Time", "Inference time (ms)", "Training Time", "MAE", "MSE", "RMSE",
    "EER", "Bit per Character (BPC)", "bpc", "Bits per dim", "bits/dim", "NLL", "Log Loss", "GFLOPs", "FLOPs",
    "Memory (GB)", "Chamfer Distance", "Miss Rate", "Mean Rank", "MAPE",
]
HIGHER = [
    "Accuracy", "% Test Accuracy", "% Train Accuracy", "Top-1 Accuracy", "Top 5 Accuracy", "Acc", "Unigram Acc",
    "F1", "F1 score", "F1-score", "F-Score", "F0.5", "Shen F-1", "Macro F1", "BLEU", "BLEU-4", "BLEU score",
    "ROUGE-L", "Rouge-L", "ROUGE-2", "METEOR", "CIDEr", "GLEU", "AP", "Average Precision", "mAP", "MAP", "box AP",
    "AP50", "AUC", "Test ROC-AUC", "AVERAGE AUC ON 14 LABEL", "IoU", "mIoU", "EM", "ANS-EM", "Exact Match",
    "Precision", "Recall", "Recall@1", "Hits@1", "Test Hits@100", "MRR", "Test MRR", "NDCG@10", "PSNR", "SSIM",
    "MS-SSIM", "Inception score", "Score", "Overall score", "Success Rate", "Spearman Correlation", "Pearson",
    "Rank-1", "Percentage correct", "ELO rating", "Smatch", "LAS", "UAS", "P@10%", "R_100@1", "Speed (FPS)",
]


@pytest.mark.parametrize("name", LOWER)
def test_errors_losses_and_costs_are_lower_is_better(name):
    assert metric_direction(name) == "lower"


@pytest.mark.parametrize("name", HIGHER)
def test_scores_are_higher_is_better(name):
    assert metric_direction(name) == "higher"


@pytest.mark.parametrize("name", ["Books", "Dev", "Note", "Kitchen", "Matched", "SemEval 2007", "Bias (F/M)", ""])
def test_names_that_say_nothing_are_unknown(name):
    assert metric_direction(name) == "unknown"


def test_the_config_overrides_win_case_insensitively():
    overrides = {"books": "higher", "TEST ERROR": "higher", "Top-1 error": "lower"}
    assert metric_direction("Books", overrides) == "higher"
    assert metric_direction("Test Error", overrides) == "higher"
    assert metric_direction("top-1 ERROR", overrides) == "lower"
    assert metric_direction("Accuracy", overrides) == "higher"  # untouched names are still inferred


def _metric_names(pwc_tables: Path) -> set[str]:
    """Every metric name declared or used in the real evaluation-tables files of `pwc_tables`."""
    names: set[str] = set()

    def dataset(node: dict) -> None:
        for name in (node.get("sota") or {}).get("metrics") or []:
            names.add(name)
        for row in (node.get("sota") or {}).get("rows") or []:
            names.update(row.get("metrics") or {})
        for sub in node.get("subdatasets") or []:
            dataset(sub)

    def task(node: dict) -> None:
        for d in node.get("datasets") or []:
            dataset(d)
        for sub in node.get("subtasks") or []:
            task(sub)

    for path in sorted(pwc_tables.glob("*.json")):
        for node in json.loads(path.read_text()):
            task(node)
    return names


def test_every_metric_of_the_real_leaderboards_gets_a_direction(fixture_files):
    names = _metric_names(fixture_files.pwc_tables)
    assert len(names) > 100
    directions = {name: metric_direction(name) for name in names}
    assert set(directions.values()) <= {"higher", "lower", "unknown"}
    # the lower-is-better metrics of the real files, which nothing in the data marks as such
    for name in ("Error rate", "Test Error", "Top-1 Error", "Perplexity", "WER", "Percentage error", "ppl"):
        assert directions[name] == "lower", name
    known = sum(1 for d in directions.values() if d != "unknown")
    assert known / len(names) > 0.6


def test_names_normalise_to_one_form():
    assert normalise("Object-Detection") == normalise("object detection") == normalise("object_detection")
    assert normalise("  Café  Détection ") == "cafe detection"
    assert slugify("Object Detection") == "object-detection"
    assert slugify("Part-Of-Speech Tagging") == "part-of-speech-tagging"


def test_the_curated_aliases_cover_the_most_asked_tasks():
    assert len(CURATED_ALIASES) >= 40
    expected = {
        "obj det": "object-detection",
        "object det": "object-detection",
        "od": "object-detection",
        "coco detection": "object-detection",
        "semseg": "semantic-segmentation",
        "semantic seg": "semantic-segmentation",
        "asr": "speech-recognition",
        "speech recognition": "speech-recognition",
        "mt": "machine-translation",
        "nmt": "machine-translation",
        "nli": "natural-language-inference",
        "rte": "natural-language-inference",
        "qa": "question-answering",
        "img cls": "image-classification",
        "image clf": "image-classification",
        "lm": "language-modelling",
        "ner": "named-entity-recognition",
        "pos": "part-of-speech-tagging",
        "sentiment": "sentiment-analysis",
        "summarization": "text-summarization",
    }
    for alias, slug in expected.items():
        assert CURATED_ALIASES[alias] == slug


def test_curated_targets_are_slugs_and_aliases_are_not_empty():
    for alias, slug in CURATED_ALIASES.items():
        assert normalise(alias), alias
        assert slugify(slug) == slug, slug
