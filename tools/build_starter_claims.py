"""Rebuild the starter claims shipped in the package (`sources/data/starter-claims.json`).

The starter tables are old (2018-2021) and have no Object Detection or Semantic Segmentation,
so a fresh install could not answer the headline questions. This adds a small set of REAL
results as their authors state them in the paper's own abstract, taken from the hand-labelled
gold claims of `tests/data/claims_labelled.jsonl` (verbatim arXiv abstracts). They are loaded
as unverified claims (source "claim"), with the abstract sentence as evidence.

Only unambiguous cases are kept: a curated (dataset, metric) -> (task, dataset, metric) map,
a model name from the title (the text before ":" when short) or a curated override, one value
per paper and benchmark metric (its best in the metric's direction), and only when the value
is found in a sentence of the abstract. `python -m tools.build_starter_claims [--out PATH]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from sotabot.sources.claims.extract import split_sentences
from sotabot.sources.normalise.taxonomy import metric_direction

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT / "tests" / "data" / "claims_labelled.jsonl"
DEFAULT_OUT = ROOT / "sources" / "data" / "starter-claims.json"

# (gold dataset, gold metric), case-folded -> (task, dataset, metric) as stored.
BENCHMARKS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("coco test-dev", "box ap"): ("Object Detection", "COCO test-dev", "box AP"),
    ("coco test-dev", "ap"): ("Object Detection", "COCO test-dev", "box AP"),
    ("coco test-dev", "mask ap"): ("Instance Segmentation", "COCO test-dev", "mask AP"),
    ("ade20k", "miou"): ("Semantic Segmentation", "ADE20K", "mIoU"),
    ("cityscapes val", "miou"): ("Semantic Segmentation", "Cityscapes val", "mIoU"),
    ("imagenet", "top-1 accuracy"): ("Image Classification", "ImageNet", "Top-1 Accuracy"),
    ("librispeech test-clean", "wer"): ("Speech Recognition", "LibriSpeech test-clean", "WER"),
    ("librispeech test-other", "wer"): ("Speech Recognition", "LibriSpeech test-other", "WER"),
    ("wmt2014 english-german", "bleu"): ("Machine Translation", "WMT2014 English-German", "BLEU"),
    ("wmt2014 english-french", "bleu"): ("Machine Translation", "WMT2014 English-French", "BLEU"),
    ("cifar-10", "fid"): ("Image Generation", "CIFAR-10", "FID"),
    ("humaneval", "pass@1"): ("Code Generation", "HumanEval", "Pass@1"),
    ("mbpp", "pass@1"): ("Code Generation", "MBPP", "Pass@1"),
    ("kinetics-400", "top-1 accuracy"): ("Action Recognition", "Kinetics-400", "Top-1 Accuracy"),
    ("squad v1.1", "f1"): ("Question Answering", "SQuAD v1.1", "F1"),
    ("squad v2.0", "f1"): ("Question Answering", "SQuAD v2.0", "F1"),
    ("multinli", "accuracy"): ("Natural Language Inference", "MultiNLI", "Accuracy"),
}

# Papers whose title does not start with the method's short name (arXiv id -> model name).
MODEL_NAMES: dict[str, str] = {
    "2112.01527": "Mask2Former",
    "2012.12877": "DeiT",
    "2201.03545": "ConvNeXt",
    "2208.02816": "X-CLIP",
    "2204.07143": "NAT",
    "2111.11418": "PoolFormer",
    "2107.06278": "MaskFormer",
    "2006.11239": "DDPM",
    "2303.01469": "Consistency Models",
    "2011.13456": "Score SDE",
    "1706.03762": "Transformer",
}
MAX_TITLE_NAME_WORDS = 3  # "Swin Transformer", "wav2vec 2.0", "Read + Verify"

_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d])")


def model_name(arxiv_id: str, title: str) -> str | None:
    """The method's short name: the curated override, else the title's text before ":"."""
    if arxiv_id in MODEL_NAMES:
        return MODEL_NAMES[arxiv_id]
    head, colon, _ = title.partition(":")
    head = head.strip()
    if colon and head and len(head.split()) <= MAX_TITLE_NAME_WORDS:
        return head
    return None


def evidence_for(abstract: str, value: float, dataset: str) -> tuple[str, str] | None:
    """(sentence, number as written) of the abstract stating `value`; sentences naming the dataset first."""
    key = re.split(r"[\s-]", dataset.lower())[0].replace("-", "")
    sentences = split_sentences(abstract)
    ranked = sorted(sentences, key=lambda s: key not in s.lower().replace("-", ""))
    for sentence in ranked:
        for match in _NUMBER.finditer(sentence):
            if abs(float(match.group()) - value) < 1e-9:
                return sentence, match.group()
    return None


def _better(direction: str, new: float, old: float) -> bool:
    return new < old if direction == "lower" else new > old


def build_entries(src: Path = DEFAULT_SRC, log: Any = print) -> list[dict[str, Any]]:
    """The kept claims, one per (paper, task, dataset, metric); prints what was kept or skipped."""
    best: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        paper = json.loads(line)
        arxiv_id, title, abstract = paper["arxiv_id"], paper["title"], paper["abstract"]
        for claim in paper.get("claims", []):
            label = f"{arxiv_id} {claim['dataset']} {claim['metric']} {claim['value']}"
            target = BENCHMARKS.get((claim["dataset"].casefold(), claim["metric"].casefold()))
            if target is None:
                log(f"skip  {label}: dataset/metric not in the curated map")
                continue
            model = model_name(arxiv_id, title)
            if model is None:
                log(f"skip  {label}: no short model name in the title")
                continue
            task, dataset, metric = target
            value = float(claim["value"])
            found = evidence_for(abstract, value, dataset)
            if found is None:
                log(f"skip  {label}: value not found in the abstract")
                continue
            sentence, raw = found
            key = (arxiv_id, task, dataset, metric)
            previous = best.get(key)
            direction = metric_direction(metric)
            if previous is not None and not _better(direction, value, previous["value"]):
                log(f"skip  {label}: the paper's best on {dataset} {metric} is {previous['value']:g}")
                continue
            if previous is not None:
                log(f"skip  {arxiv_id} {dataset} {metric} {previous['value']:g}: the paper's best is {value:g}")
            best[key] = {
                "task": task,
                "dataset": dataset,
                "metric": metric,
                "value": value,
                "raw": raw,
                "model": model,
                "arxiv_id": arxiv_id,
                "paper_title": title,
                "evidence": sentence,
            }
    entries = sorted(best.values(), key=lambda e: (e["task"], e["dataset"], e["metric"], e["arxiv_id"]))
    for e in entries:
        log(f"keep  {e['task']} | {e['dataset']} | {e['metric']} = {e['raw']} | {e['model']} ({e['arxiv_id']})")
    return entries


def build(src: Path = DEFAULT_SRC, out: Path = DEFAULT_OUT, log: Any = print) -> Path:
    """Write the starter claims file; same input, same bytes."""
    entries = build_entries(src, log)
    document = {
        "about": (
            "Results as claimed by the authors in the abstracts of the cited arXiv papers; "
            "unverified. Rebuilt by python -m tools.build_starter_claims from tests/data/claims_labelled.jsonl."
        ),
        "claims": entries,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_starter_claims", description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", type=Path, default=DEFAULT_SRC, help="labelled claims (JSON lines)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out = build(args.src, args.out)
    data = json.loads(out.read_text(encoding="utf-8"))["claims"]
    tasks = sorted({e["task"] for e in data})
    benches = sorted({(e["task"], e["dataset"]) for e in data})
    size = out.stat().st_size / 1024
    print(f"{out}: {len(data)} claims, {len(benches)} benchmarks, {len(tasks)} tasks ({size:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
