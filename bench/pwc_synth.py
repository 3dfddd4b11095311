"""A synthetic Papers with Code archive at real scale, for import and query benchmarks.

`generate(out_dir, scale=1, seed=0)` writes the three dumps the importer reads, gzipped and
in the real formats (sota-extractor evaluation tables, links-between-papers-and-code,
papers-with-abstracts): 4,000 tasks, 12,000 benchmarks, 100,000 results (times `scale`),
576,000 papers and 300,000 links. Values come in the shapes the real files use ("80.3%",
"0.8428 ± 0.0014", "220k", "3.0m", "-", "", plain numbers), rows sometimes miss declared
metrics, some paper URLs are not arXiv, some tasks are subtasks and some datasets
subdatasets. The same (scale, seed, fraction) gives byte-identical files; an existing set
with a matching manifest is reused. `python -m bench.pwc_synth OUT_DIR [--scale N]`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

TASKS = 4_000
BENCHMARKS = 12_000
RESULTS = 100_000
PAPERS = 576_000
LINKS = 300_000

FILES = {
    "tables": "evaluation-tables.json.gz",
    "links": "links-between-papers-and-code.json.gz",
    "papers": "papers-with-abstracts.json.gz",
}
MANIFEST = "manifest.json"

_WORDS = [
    "learning",
    "neural",
    "network",
    "deep",
    "model",
    "training",
    "data",
    "representation",
    "attention",
    "transformer",
    "graph",
    "convolutional",
    "recurrent",
    "adversarial",
    "generative",
    "self",
    "supervised",
    "contrastive",
    "robust",
    "efficient",
    "scalable",
    "sparse",
    "dense",
    "multi",
    "task",
    "transfer",
    "domain",
    "adaptation",
    "zero",
    "shot",
    "few",
    "shot",
    "language",
    "vision",
    "image",
    "video",
    "speech",
    "text",
    "retrieval",
    "detection",
    "segmentation",
    "classification",
    "generation",
    "reasoning",
    "benchmark",
    "dataset",
    "evaluation",
    "performance",
    "state",
    "art",
    "method",
    "approach",
    "framework",
    "propose",
    "show",
    "results",
    "outperform",
    "baseline",
    "large",
    "scale",
    "pretraining",
    "fine",
    "tuning",
    "embedding",
    "latent",
    "diffusion",
    "policy",
    "reinforcement",
    "reward",
    "agent",
    "optimization",
    "gradient",
    "stochastic",
    "loss",
    "objective",
    "inference",
    "bayesian",
    "uncertainty",
    "calibration",
    "knowledge",
    "distillation",
    "pruning",
    "quantization",
    "architecture",
    "search",
]
_TASK_HEADS = [
    "Object Detection",
    "Semantic Segmentation",
    "Image Classification",
    "Speech Recognition",
    "Machine Translation",
    "Question Answering",
    "Natural Language Inference",
    "Language Modelling",
    "Named Entity Recognition",
    "Sentiment Analysis",
    "Text Summarization",
    "Pose Estimation",
    "Depth Estimation",
    "Image Generation",
    "Link Prediction",
    "Node Classification",
    "Action Recognition",
    "Image Captioning",
    "Visual Question Answering",
    "Instance Segmentation",
    "Super Resolution",
    "Optical Flow Estimation",
    "Relation Extraction",
    "Text Classification",
]
_TASK_MODS = [
    "Few-Shot",
    "Zero-Shot",
    "Unsupervised",
    "Weakly Supervised",
    "Semi-Supervised",
    "3D",
    "Video",
    "Multilingual",
    "Medical",
    "Real-Time",
    "Open-Vocabulary",
    "Long-Tail",
    "Cross-Domain",
    "Low-Resource",
    "Fine-Grained",
    "Multi-Modal",
    "Online",
    "Incremental",
    "Federated",
    "Robust",
    "Document",
    "Aerial",
    "Satellite",
    "Underwater",
    "Nighttime",
    "Egocentric",
]
_AREAS = ["Computer Vision", "Natural Language Processing", "Speech", "Graphs", "Medical", "Robotics"]
_DATASET_STEMS = [
    "COCO",
    "ImageNet",
    "CIFAR",
    "Cityscapes",
    "ADE20K",
    "SQuAD",
    "GLUE",
    "WMT",
    "LibriSpeech",
    "Penn Treebank",
    "WikiText",
    "KITTI",
    "NYU Depth",
    "ScanNet",
    "Kinetics",
    "UCF",
    "HMDB",
    "MS MARCO",
    "Natural Questions",
    "HotpotQA",
    "CoNLL",
    "OntoNotes",
    "SST",
    "IMDb",
    "CNN Daily Mail",
    "XSum",
    "Flickr",
    "Visual Genome",
    "VQA",
    "OGB",
    "Cora",
    "Citeseer",
    "PubMed",
    "MNIST",
    "SVHN",
    "CelebA",
    "LSUN",
    "FFHQ",
]
_HIGHER = [
    "Accuracy",
    "Top-1 Accuracy",
    "Top-5 Accuracy",
    "% Test Accuracy",
    "F1",
    "F1 score",
    "EM",
    "BLEU",
    "BLEU score",
    "ROUGE-1",
    "ROUGE-2",
    "ROUGE-L",
    "METEOR",
    "CIDEr",
    "AP",
    "mAP",
    "box AP",
    "AP50",
    "AP75",
    "mIoU",
    "IoU",
    "AUC",
    "Test ROC-AUC",
    "Hits@1",
    "Hits@10",
    "MRR",
    "NDCG@10",
    "PSNR",
    "SSIM",
    "Inception score",
    "Precision",
    "Recall",
    "Success Rate",
    "Spearman Correlation",
]
_LOWER = [
    "Error rate",
    "Test Error",
    "Top-1 Error",
    "Perplexity",
    "Test perplexity",
    "WER",
    "CER",
    "FID",
    "Params",
    "Number of params",
    "Latency (ms)",
    "Inference Time",
    "MAE",
    "RMSE",
    "EER",
    "Bits per dim",
    "Bit per Character (BPC)",
    "GFLOPs",
]
_MODEL_HEADS = [
    "ResNet",
    "ViT",
    "BERT",
    "RoBERTa",
    "GPT",
    "T5",
    "Swin",
    "ConvNeXt",
    "EfficientNet",
    "DeiT",
    "Mask R-CNN",
    "YOLO",
    "DETR",
    "DINO",
    "CLIP",
    "wav2vec",
    "Conformer",
    "Transformer",
    "LSTM",
    "GCN",
    "GAT",
    "GraphSAGE",
    "UNet",
    "SegFormer",
    "XLNet",
    "ELECTRA",
    "ALBERT",
    "DeBERTa",
]
_MODEL_TAILS = ["", "-Base", "-Large", "-XL", "-S", "-B/16", "-L/14", " (ensemble)", " (single model)", "-v2", "++"]
_FRAMEWORKS = ["pytorch", "pytorch", "pytorch", "tf", "tf", "none", "jax", "mxnet", "paddle", ""]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(_WORDS, k=n))


def _arxiv_id(i: int) -> str:
    """A distinct new-style arXiv id for paper number i (2015-2025, 5-digit numbers)."""
    month = i % 132
    return f"{15 + month // 12:02d}{month % 12 + 1:02d}.{10000 + i // 132:05d}"


def _paper_date(rng: random.Random) -> date:
    return date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))


def _value(rng: random.Random, lower: bool, metric: str) -> Any:
    """One cell, in one of the shapes the real dumps use."""
    roll = rng.random()
    if "param" in metric.lower():
        return rng.choice(
            [
                f"{rng.randint(10, 990)}k",
                f"{rng.uniform(1, 90):.1f}m",
                f"{rng.randint(1, 90)}M",
                f"{rng.uniform(0.1, 9):.2f}B",
                str(rng.randint(10**5, 10**9)),
            ]
        )
    base = rng.uniform(1, 40) if lower else rng.uniform(40, 99)
    if roll < 0.55:
        return f"{base:.2f}"
    if roll < 0.70:
        return f"{base:.1f}%"
    if roll < 0.80:
        return f"{base / 100:.4f} ± {rng.uniform(0.0005, 0.02):.4f}"
    if roll < 0.88:
        return round(base, 2)  # a JSON number
    if roll < 0.93:
        return "-"
    if roll < 0.96:
        return ""
    return f"{base:.1f}*"


class _Writer:
    """A gzipped JSON array written one record at a time."""

    def __init__(self, path: Path) -> None:
        self.fh = gzip.open(path, "wt", encoding="utf-8", compresslevel=3)  # noqa: SIM115 - closed by close()
        self.fh.write("[")
        self.first = True

    def add(self, record: Any) -> None:
        self.fh.write("\n" if self.first else ",\n")
        self.first = False
        self.fh.write(json.dumps(record, ensure_ascii=False))

    def close(self) -> None:
        self.fh.write("\n]\n")
        self.fh.close()


def _split(total: int, parts: int, rng: random.Random, cap: float = 40.0) -> list[int]:
    """`total` spread over `parts` buckets, skewed (a few big leaderboards, many small)."""
    weights = [min(cap, rng.paretovariate(1.3)) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [max(0, int(w * scale)) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def _tasks(rng: random.Random, n_tasks: int, n_bench: int, n_results: int, n_papers: int) -> Iterator[dict]:
    """Top-level task records (with subtasks nested), in the sota-extractor shape."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n_tasks:
        name = f"{rng.choice(_TASK_MODS)} {rng.choice(_TASK_HEADS)}"
        if len(names) >= len(_TASK_HEADS) * len(_TASK_MODS) // 2 or name in seen:
            name = f"{name} {len(names)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    names[: len(_TASK_HEADS)] = _TASK_HEADS  # the head tasks exist under their plain names
    bench_per_task = _split(n_bench, n_tasks, rng)
    results_per_bench = _split(n_results, n_bench, rng)
    datasets = [f"{rng.choice(_DATASET_STEMS)}-{i}" for i in range(int(n_bench * 0.75))]
    bench_index = 0
    top: list[dict] = []
    for t, name in enumerate(names):
        node: dict[str, Any] = {
            "task": name,
            "description": _words(rng, 30),
            "categories": [rng.choice(_AREAS)] if rng.random() < 0.8 else [],
            "synonyms": [name.lower().replace(" ", "-") + "-alt"] if rng.random() < 0.2 else [],
            "source_link": None,
            "datasets": [],
            "subtasks": [],
        }
        for dataset_name in rng.sample(datasets, k=min(len(datasets), bench_per_task[t])):
            n_rows = results_per_bench[bench_index]
            bench_index += 1
            lower = rng.random() < 0.25
            pool = _LOWER if lower else _HIGHER
            metrics = rng.sample(pool, k=rng.randint(1, 3))
            if rng.random() < 0.15:
                metrics.append(rng.choice(["Params", "Number of params"]))
                metrics = list(dict.fromkeys(metrics))
            rows = []
            for r in range(n_rows):
                paper = rng.randrange(n_papers)
                roll = rng.random()
                if roll < 0.80:
                    kind = rng.random()
                    paper_url = (
                        f"https://arxiv.org/abs/{_arxiv_id(paper)}"
                        if kind < 0.6
                        else f"http://arxiv.org/abs/{_arxiv_id(paper)}v{rng.randint(1, 4)}"
                        if kind < 0.8
                        else f"https://arxiv.org/pdf/{_arxiv_id(paper)}.pdf"
                    )
                elif roll < 0.95:
                    paper_url = f"https://aclanthology.org/P{rng.randint(10, 24)}-{paper % 9999:04d}.pdf"
                else:
                    paper_url = ""
                cells = {m: _value(rng, m in _LOWER, m) for m in metrics if rng.random() > 0.05}
                rows.append(
                    {
                        "code_links": (
                            [{"title": "code", "url": f"https://github.com/lab{paper % 5000}/repo{paper}"}]
                            if rng.random() < 0.5
                            else []
                        ),
                        "metrics": cells,
                        "model_links": [],
                        "model_name": f"{rng.choice(_MODEL_HEADS)}{rng.choice(_MODEL_TAILS)} #{r}",
                        "paper_date": _paper_date(rng).isoformat() if rng.random() < 0.8 else None,
                        "paper_title": _words(rng, 8).capitalize(),
                        "paper_url": paper_url,
                        "uses_additional_data": rng.random() < 0.1,
                    }
                )
            dataset: dict[str, Any] = {
                "dataset": dataset_name,
                "dataset_citations": [],
                "dataset_links": [],
                "description": "",
                "sota": {"metrics": metrics, "rows": rows},
                "subdatasets": [],
            }
            if rng.random() < 0.1:  # a subdataset leaderboard: the parent dataset holds none itself
                dataset = {
                    "dataset": dataset["dataset"],
                    "description": "",
                    "subdatasets": [{"subdataset": f"split-{bench_index}", "sota": dataset["sota"]}],
                }
            node["datasets"].append(dataset)
        # one task in five is a subtask of an earlier top-level task
        if top and rng.random() < 0.2:
            rng.choice(top)["subtasks"].append(node)
        else:
            top.append(node)
    yield from top


def _paper_record(rng: random.Random, i: int, n_tasks: int) -> dict[str, Any]:
    arxiv = rng.random() < 0.9
    aid = _arxiv_id(i)
    day = _paper_date(rng)
    return {
        "paper_url": f"https://paperswithcode.com/paper/paper-{i}",
        "arxiv_id": aid if arxiv else None,
        "nips_id": None,
        "openreview_id": None,
        "title": _words(rng, rng.randint(5, 14)).capitalize(),
        "abstract": _words(rng, rng.randint(90, 200)).capitalize() + ".",
        "short_abstract": None,
        "url_abs": f"http://arxiv.org/abs/{aid}v{rng.randint(1, 3)}"
        if arxiv
        else f"https://aclanthology.org/P{rng.randint(10, 24)}-{i % 9999:04d}",
        "url_pdf": f"http://arxiv.org/pdf/{aid}v1.pdf" if arxiv else None,
        "proceeding": None,
        "authors": [f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()}" for _ in range(rng.randint(1, 8))],
        "tasks": [rng.choice(_TASK_HEADS) for _ in range(rng.randint(0, 3))],
        "date": day.isoformat() if rng.random() < 0.97 else None,
        "conference_url_abs": None,
        "conference_url_pdf": None,
        "conference": None,
        "reproduces_paper": None,
        "methods": [],
    }


def _link_record(rng: random.Random, i: int, n_papers: int, n_repos: int) -> dict[str, Any]:
    paper = rng.randrange(n_papers)
    aid = _arxiv_id(paper)
    repo = i if i < n_repos else rng.randrange(n_repos)  # most repos once, some shared
    owner = f"Lab{repo % 20000}"
    return {
        "paper_url": f"https://paperswithcode.com/paper/paper-{paper}",
        "paper_title": _words(rng, 8).capitalize(),
        "paper_arxiv_id": aid if rng.random() < 0.95 else None,
        "paper_url_abs": f"https://arxiv.org/abs/{aid}v{rng.randint(1, 3)}",
        "paper_url_pdf": f"https://arxiv.org/pdf/{aid}v1.pdf",
        "repo_url": f"https://github.com/{owner}/Repo-{repo}" + (".git" if rng.random() < 0.02 else ""),
        "is_official": rng.random() < 0.3,
        "mentioned_in_paper": rng.random() < 0.3,
        "mentioned_in_github": rng.random() < 0.6,
        "framework": rng.choice(_FRAMEWORKS),
    }


def generate(out_dir: str | Path, scale: float = 1, seed: int = 0, fraction: float = 1.0) -> dict[str, Path]:
    """Write the three dumps under `out_dir` (reused when already there) and return their paths.

    `scale` multiplies the number of results; `fraction` shrinks everything (0.1 = a quick run).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {
        "tasks": max(30, int(TASKS * fraction)),
        "benchmarks": max(60, int(BENCHMARKS * fraction)),
        "results": max(200, int(RESULTS * fraction * scale)),
        "papers": max(1000, int(PAPERS * fraction)),
        "links": max(500, int(LINKS * fraction)),
    }
    manifest = {"seed": seed, "sizes": sizes, "version": 1}
    paths = {kind: out / name for kind, name in FILES.items()}
    manifest_path = out / MANIFEST
    if manifest_path.exists() and all(p.exists() for p in paths.values()):
        try:
            if json.loads(manifest_path.read_text()) == manifest:
                return paths
        except ValueError:
            pass
    manifest_path.unlink(missing_ok=True)

    rng = random.Random(seed)
    writer = _Writer(paths["tables"])
    for task in _tasks(rng, sizes["tasks"], sizes["benchmarks"], sizes["results"], sizes["papers"]):
        writer.add(task)
    writer.close()

    rng = random.Random(seed + 1)
    writer = _Writer(paths["papers"])
    for i in range(sizes["papers"]):
        writer.add(_paper_record(rng, i, sizes["tasks"]))
    writer.close()

    rng = random.Random(seed + 2)
    writer = _Writer(paths["links"])
    n_repos = int(sizes["links"] * 0.85)
    for i in range(sizes["links"]):
        writer.add(_link_record(rng, i, sizes["papers"], n_repos))
    writer.close()

    manifest_path.write_text(json.dumps(manifest))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pwc_synth", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--scale", type=float, default=1, help="multiply the number of results")
    parser.add_argument("--fraction", type=float, default=1.0, help="shrink everything (0.1 for a quick set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for kind, path in generate(args.out_dir, args.scale, args.seed, args.fraction).items():
        print(f"{kind:7} {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
