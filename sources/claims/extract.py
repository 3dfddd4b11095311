"""Benchmark results that a paper's abstract claims, matched to known datasets and metrics.

"Our EfficientDet-D7 achieves 55.1 AP on COCO test-dev" becomes a `Claim` (COCO test-dev,
AP, 55.1). A wrong result on a leaderboard is worse than a missing one, so the extractor
keeps a number only when a known metric is attached to it and a known evaluation dataset
can be tied to it without guessing; improvements ("+2.3%", "by 2 points", "2x faster"),
counts (parameters, epochs, GPUs), years, ratios, citations and numbers inside model or
dataset names are never results, and ambiguous shapes ("1.8/3.3 WER", "63.1 and 54.2 AP on
COCO and LVIS" without "respectively") are skipped.

Matching is driven by a `Taxonomy` (canonical name -> aliases) so that the service can merge
its database's datasets and metrics into `default_taxonomy()`; nothing below names a dataset
or metric except the built-in taxonomy itself. The module is pure: no storage, no network.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

__all__ = ["Claim", "Taxonomy", "default_taxonomy", "extract_claims", "split_sentences"]


@dataclass(frozen=True)
class Claim:
    """One result the abstract claims for the paper's own method."""

    dataset: str  # canonical dataset name as given in the taxonomy passed in
    metric: str  # canonical metric name as given in the taxonomy passed in
    value: float
    raw: str  # the number as written, e.g. "88.5%"
    sentence: str  # the sentence it came from (whitespace normalised)
    model: str | None  # model name if the sentence names one, else None


@dataclass
class Taxonomy:
    """Canonical dataset and metric names, each with the aliases that may stand for it.

    Aliases are matched on word boundaries, ignoring case and the choice between space,
    hyphen or nothing between words ("CIFAR-10" = "cifar10" = "CIFAR 10"). Short aliases
    (three characters or fewer) and aliases written entirely in capitals ("MATH", "DROP")
    are matched case-sensitively, so "AP" never matches "ap" and "IS" never matches "is".
    `headline_metrics` (optional) names the one metric a dataset's results are reported in
    when an abstract gives a bare percentage ("85.8% on Kinetics-400", "67% on HumanEval");
    datasets with several usual metrics (SQuAD: EM and F1) must not be listed.
    Treat an instance as read-only once it has been used: the compiled matchers are cached.
    """

    datasets: dict[str, list[str]]
    metrics: dict[str, list[str]]
    headline_metrics: dict[str, str] = field(default_factory=dict)
    _compiled: _Compiled | None = field(default=None, init=False, repr=False, compare=False)

    def merged(self, other: Taxonomy) -> Taxonomy:
        """A new taxonomy with `other`'s names and aliases added; names here win on clashes."""

        def union(mine: dict[str, list[str]], theirs: dict[str, list[str]]) -> dict[str, list[str]]:
            out = {name: list(aliases) for name, aliases in mine.items()}
            for name, aliases in theirs.items():
                merged = out.setdefault(name, [])
                merged.extend(a for a in aliases if a not in merged)
            return out

        headline = {**other.headline_metrics, **self.headline_metrics}
        return Taxonomy(union(self.datasets, other.datasets), union(self.metrics, other.metrics), headline)

    def _matchers(self) -> _Compiled:
        if self._compiled is None:
            self._compiled = _Compiled(self)
        return self._compiled


# ---------------------------------------------------------------------------------------------
# The built-in taxonomy: the benchmarks ML abstracts most often report on.

_DATASETS: dict[str, list[str]] = {
    # image classification
    "ImageNet": [
        "imagenet",
        "imagenet-1k",
        "imagenet 1k",
        "in-1k",
        "imagenet-2012",
        "ilsvrc 2012",
        "ilsvrc-2012",
        "ilsvrc2012",
        "imagenet ilsvrc2012",
        "ilsvrc 2012 classification",
        "imagenet classification",
        "imagenet-1k val",
        "imagenet val",
    ],
    "ImageNet-21K": ["imagenet-21k", "imagenet-22k", "in-21k", "in-22k", "imagenet21k"],
    "ImageNet-V2": ["imagenet-v2", "imagenetv2"],
    "ImageNet-ReaL": ["imagenet-real", "imagenet real"],
    "ImageNet-A": ["imagenet-a"],
    "ImageNet-R": ["imagenet-r", "imagenet-rendition"],
    "ImageNet-C": ["imagenet-c"],
    "ImageNet-Sketch": ["imagenet-sketch"],
    "ImageNet 32x32": ["imagenet 32x32", "imagenet32x32", "imagenet-32", "imagenet 32×32"],
    "ImageNet 64x64": ["imagenet 64x64", "imagenet64x64", "imagenet-64", "imagenet 64×64"],
    "ImageNet 128x128": ["imagenet 128x128", "imagenet 128×128"],
    "ImageNet 256x256": ["imagenet 256x256", "imagenet 256×256"],
    "ImageNet 512x512": ["imagenet 512x512", "imagenet 512×512"],
    "CIFAR-10": ["cifar-10", "cifar 10"],
    "CIFAR-100": ["cifar-100"],
    "SVHN": ["svhn", "street view house numbers"],
    "MNIST": ["mnist"],
    "Fashion-MNIST": ["fashion-mnist", "fashionmnist"],
    "STL-10": ["stl-10"],
    "Flowers-102": ["flowers-102", "oxford flowers", "oxford 102 flowers", "oxford-flowers102"],
    "Oxford-IIIT Pets": ["oxford-iiit pets", "oxford-iiit pet", "oxford pets"],
    "Stanford Cars": ["stanford cars"],
    "Places365": ["places365", "places-365"],
    # image generation
    "FFHQ": ["ffhq"],
    "CelebA-HQ": ["celeba-hq"],
    "LSUN Bedroom": ["lsun bedroom", "lsun bedrooms"],
    "LSUN Church": ["lsun church", "lsun churches"],
    # detection and segmentation
    "COCO": ["coco", "ms coco", "ms-coco", "mscoco", "coco 2017", "coco2017", "microsoft coco"],
    "COCO test-dev": [
        "coco test-dev",
        "ms coco test-dev",
        "coco test-dev2017",
        "coco test dev",
        "mscoco test-dev",
        "coco test-dev set",
    ],
    "COCO minival": [
        "coco minival",
        "coco val2017",
        "coco val",
        "coco 2017 val",
        "ms coco val",
        "coco val 2017",
        "ms coco val2017",
        "coco validation",
        "coco 2017val",
    ],
    "LVIS v1.0": ["lvis", "lvis v1", "lvis v1.0", "lvis-v1.0"],
    "Objects365": ["objects365", "objects-365"],
    "PASCAL VOC 2007": ["pascal voc 2007", "voc 2007", "voc2007", "voc07"],
    "PASCAL VOC 2012": ["pascal voc 2012", "voc 2012", "voc2012", "voc12"],
    "ADE20K": ["ade20k", "ade-20k", "ade 20k", "ade20k val", "ade20k-val"],
    "Cityscapes": ["cityscapes"],
    "Cityscapes val": ["cityscapes val", "cityscapes validation", "cityscapes validation set"],
    "Cityscapes test": ["cityscapes test", "cityscapes test set"],
    "COCO-Stuff": ["coco-stuff", "cocostuff", "coco-stuff-164k"],
    "PASCAL Context": ["pascal context", "pascal-context"],
    "KITTI": ["kitti"],
    "nuScenes": ["nuscenes"],
    "Waymo Open Dataset": ["waymo open dataset", "waymo open"],
    "ScanNet": ["scannet"],
    "CrowdHuman": ["crowdhuman"],
    "MOT17": ["mot17", "mot-17"],
    "MOT20": ["mot20", "mot-20"],
    "DAVIS 2017": ["davis 2017", "davis-2017", "davis17"],
    "YouTube-VOS": ["youtube-vos", "youtube vos"],
    "Human3.6M": ["human3.6m", "human 3.6m", "h36m"],
    "ModelNet40": ["modelnet40", "modelnet-40"],
    # video
    "Kinetics-400": ["kinetics-400", "kinetics 400", "k400", "k-400"],
    "Kinetics-600": ["kinetics-600", "k600"],
    "Kinetics-700": ["kinetics-700", "k700"],
    "Something-Something V2": [
        "something-something v2",
        "something-something-v2",
        "sth-sth v2",
        "ssv2",
        "ss-v2",
        "something-something v2 (ssv2)",
    ],
    "UCF101": ["ucf101", "ucf-101"],
    "HMDB51": ["hmdb51", "hmdb-51"],
    "AVA": ["ava v2.2"],
    "Charades": ["charades"],
    "ActivityNet": ["activitynet"],
    "MSR-VTT": ["msr-vtt", "msrvtt"],
    # speech and audio
    "LibriSpeech test-clean": [
        "librispeech test-clean",
        "librispeech test clean",
        "test-clean",
        "librispeech clean test",
        "librispeech test-clean set",
    ],
    "LibriSpeech test-other": [
        "librispeech test-other",
        "librispeech test other",
        "test-other",
        "librispeech other test",
        "librispeech test-other set",
    ],
    "LibriSpeech": ["librispeech", "libri-speech"],
    "Switchboard": ["switchboard", "SWB", "hub5'00", "hub5 2000"],
    "TIMIT": ["timit"],
    "WSJ": ["wall street journal"],
    "AISHELL-1": ["aishell-1", "aishell1", "aishell"],
    "Common Voice": ["common voice", "commonvoice"],
    "AudioSet": ["audioset", "audio set"],
    "ESC-50": ["esc-50", "esc50"],
    "Speech Commands": ["speech commands", "speech commands v2", "speechcommands"],
    "VoxCeleb1": ["voxceleb1", "voxceleb 1", "voxceleb"],
    # machine translation
    "WMT2014 English-German": [
        "wmt 2014 english-to-german",
        "wmt 2014 english-german",
        "wmt2014 english-german",
        "wmt14 english-german",
        "wmt'14 english-german",
        "wmt14 en-de",
        "wmt 2014 en-de",
        "wmt'14 en-de",
        "wmt14 en→de",
        "wmt 2014 english to german",
        "wmt14 english-to-german",
    ],
    "WMT2014 English-French": [
        "wmt 2014 english-to-french",
        "wmt 2014 english-french",
        "wmt2014 english-french",
        "wmt14 english-french",
        "wmt'14 english-french",
        "wmt14 en-fr",
        "wmt 2014 en-fr",
        "wmt'14 en-fr",
        "wmt14 en→fr",
        "wmt 2014 english to french",
        "wmt14 english-to-french",
    ],
    "WMT2016 English-Romanian": [
        "wmt16 english-romanian",
        "wmt 2016 english-romanian",
        "wmt16 en-ro",
        "wmt 2016 en-ro",
        "wmt'16 en-ro",
    ],
    "IWSLT2014 German-English": [
        "iwslt14 german-english",
        "iwslt 2014 german-english",
        "iwslt14 de-en",
        "iwslt'14 de-en",
        "iwslt 2014 de-en",
    ],
    # language understanding and QA
    "GLUE": ["glue benchmark"],
    "SuperGLUE": ["superglue"],
    "SQuAD v1.1": ["squad v1.1", "squad 1.1", "squad1.1", "squad v1", "squad 1.0"],
    "SQuAD v2.0": ["squad v2.0", "squad 2.0", "squad2.0", "squad v2"],
    "MultiNLI": ["multinli", "mnli", "multi-nli"],
    "SNLI": ["snli"],
    "SST-2": ["sst-2", "sst2"],
    "XNLI": ["xnli"],
    "RACE": [],
    "CoNLL-2003": ["conll-2003", "conll 2003", "conll03", "conll-03"],
    "OntoNotes": ["ontonotes", "ontonotes 5.0", "conll-2012", "conll 2012"],
    "TriviaQA": ["triviaqa", "trivia qa"],
    "Natural Questions": ["natural questions", "naturalquestions", "nq-open"],
    "HotpotQA": ["hotpotqa"],
    "MS MARCO": ["ms marco", "ms-marco", "msmarco"],
    "CNN/Daily Mail": ["cnn/daily mail", "cnn/dailymail", "cnn-dailymail", "cnn/dm", "cnn / daily mail"],
    "XSum": ["xsum"],
    # language modelling
    "Penn Treebank": ["penn treebank", "PTB", "penn tree bank"],
    "WikiText-103": ["wikitext-103", "wikitext103", "wt103"],
    "WikiText-2": ["wikitext-2", "wikitext2", "wt2"],
    "enwik8": ["enwik8", "enwiki8"],
    "text8": ["text8"],
    "One Billion Word": ["one billion word", "1b word", "lm1b", "billion word benchmark"],
    "LAMBADA": [],
    # LLM evaluation
    "MMLU": ["mmlu", "massive multitask language understanding"],
    "GSM8K": ["gsm8k", "gsm-8k", "gsm 8k"],
    "MATH": ["MATH", "math benchmark", "competition math"],
    "HumanEval": ["humaneval", "human-eval", "human eval"],
    "MBPP": ["mbpp"],
    "HellaSwag": ["hellaswag"],
    "ARC-Challenge": ["arc-challenge", "arc challenge", "arc-c", "ai2 reasoning challenge"],
    "WinoGrande": ["winogrande"],
    "PIQA": ["piqa"],
    "BoolQ": ["boolq"],
    "TruthfulQA": ["truthfulqa"],
    "BIG-Bench Hard": ["big-bench hard", "BBH", "bigbench hard"],
    "GPQA": ["gpqa", "gpqa diamond"],
    "SWE-bench Verified": ["swe-bench verified", "swe-bench"],
    # vision and language
    "VQA v2": ["vqa v2", "vqav2", "vqa 2.0", "vqa-v2"],
    "GQA": ["GQA"],
    "COCO Captions": ["coco captions", "coco caption", "coco karpathy test", "coco captioning"],
    "NoCaps": ["nocaps"],
    "Flickr30k": ["flickr30k", "flickr 30k"],
    "TextVQA": ["textvqa"],
    # graphs
    "Cora": ["cora"],
    "Citeseer": ["citeseer"],
    "ogbn-arxiv": ["ogbn-arxiv"],
    "ogbn-products": ["ogbn-products"],
    "ZINC": [],
}

_METRICS: dict[str, list[str]] = {
    "Top-1 Accuracy": [
        "top-1 accuracy",
        "top-1 acc",
        "top1 accuracy",
        "top-1",
        "top 1 accuracy",
        "top-1 classification accuracy",
        "top-1 val accuracy",
    ],
    "Top-5 Accuracy": ["top-5 accuracy", "top-5 acc", "top5 accuracy", "top 5 accuracy"],
    "Accuracy": ["accuracy", "acc", "classification accuracy", "test accuracy"],
    "Top-1 Error": ["top-1 error", "top-1 error rate", "top1 error", "top-1 err"],
    "Top-5 Error": ["top-5 error", "top-5 error rate", "top5 error", "top-5 err"],
    "Error Rate": ["error", "error rate", "test error", "classification error"],
    "box AP": ["box ap", "bbox ap", "ap box", "ap^box", "apbox", "box map", "bbox map"],
    "mask AP": ["mask ap", "ap mask", "ap^mask", "apmask", "mask map"],
    "AP": ["AP", "average precision"],
    "AP50": ["AP50", "ap_50", "AP@0.5", "ap@50"],
    "AP75": ["AP75", "ap_75", "AP@0.75"],
    "mAP": ["mAP", "MAP", "mean average precision"],
    "mIoU": ["miou", "mean iou", "mean intersection over union", "mean intersection-over-union"],
    "PQ": ["PQ", "panoptic quality"],
    "FID": ["FID", "fid score", "frechet inception distance", "fréchet inception distance"],
    "Inception Score": ["inception score", "IS"],
    "Bits per Dimension": ["bits/dim", "bits per dimension", "bpd", "bits/dimension"],
    "WER": ["WER", "word error rate", "wer"],
    "CER": ["CER", "character error rate"],
    "BLEU": ["bleu", "bleu score", "sacrebleu", "bleu-4"],
    "ROUGE-1": ["rouge-1", "rouge1", "r-1"],
    "ROUGE-2": ["rouge-2", "rouge2", "r-2"],
    "ROUGE-L": ["rouge-l", "rougel", "r-l"],
    "METEOR": [],
    "CIDEr": ["cider", "cider score", "cider-d"],
    "SPICE": [],
    "F1": ["F1", "f1 score", "f1-score", "f-score", "f1-measure", "f-measure", "macro-f1", "micro-f1"],
    "Exact Match": ["exact match", "EM", "exact-match"],
    "Perplexity": ["perplexity", "ppl", "test perplexity"],
    "Bits per Character": ["bits per character", "bpc", "bits-per-character", "bits/char"],
    "Pass@1": ["pass@1", "pass @1", "pass@1 accuracy"],
    "Pass@10": ["pass@10"],
    "Pass@100": ["pass@100"],
    "MOTA": ["mota"],
    "IDF1": ["idf1"],
    "HOTA": ["hota"],
    "NDS": ["NDS", "nuscenes detection score"],
    "PSNR": ["psnr"],
    "SSIM": ["ssim"],
    "LPIPS": ["lpips"],
    "MPJPE": ["mpjpe"],
    "MRR@10": ["mrr@10", "mrr"],
    "nDCG@10": ["ndcg@10", "ndcg"],
    "Recall@1": ["recall@1", "r@1"],
    "Matthews Correlation": ["matthews correlation", "mcc"],
    "Spearman Correlation": ["spearman correlation", "spearman's rho"],
    "AUC": ["AUC", "auroc", "roc-auc", "roc auc"],
    "Dice": ["dice", "dice score", "dice coefficient"],
    "EER": ["EER", "equal error rate"],
    "Score": ["glue score", "gluescore", "average score", "score"],
}


# The metric a bare "NN% on DATASET" is in: only datasets with one usual metric.
_HEADLINE: dict[str, str] = {
    **dict.fromkeys(
        ["ImageNet", "Kinetics-400", "Kinetics-600", "Kinetics-700", "Something-Something V2"], "Top-1 Accuracy"
    ),
    **dict.fromkeys(
        [
            "UCF101",
            "HMDB51",
            "MultiNLI",
            "SNLI",
            "SST-2",
            "XNLI",
            "RACE",
            "MMLU",
            "GSM8K",
            "MATH",
            "HellaSwag",
            "ARC-Challenge",
            "WinoGrande",
            "PIQA",
            "BoolQ",
            "BIG-Bench Hard",
            "GPQA",
            "ESC-50",
            "Speech Commands",
            "ModelNet40",
        ],
        "Accuracy",
    ),
    **dict.fromkeys(["HumanEval", "MBPP"], "Pass@1"),
}


def default_taxonomy() -> Taxonomy:
    """The built-in taxonomy (a fresh copy each call, so callers may merge into it)."""
    return Taxonomy(
        {name: list(aliases) for name, aliases in _DATASETS.items()},
        {name: list(aliases) for name, aliases in _METRICS.items()},
        dict(_HEADLINE),
    )


_DEFAULT: Taxonomy | None = None


def _default() -> Taxonomy:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = default_taxonomy()
    return _DEFAULT


# ---------------------------------------------------------------------------------------------
# Alias matching.

_ALIAS_TOKEN = re.compile(r"[a-z0-9]+|[^a-z0-9\s\-_'’]", re.IGNORECASE)
_SEP = r"(?:\s*[-_'’]\s*|\s+|)"  # between words: space, hyphen, apostrophe or nothing


def _fold(text: str) -> str:
    """Unicode punctuation the abstracts use, folded to the ASCII the aliases use."""
    return (
        text.replace("\u2212", "-")
        .replace("\u2013", "-")
        .replace("\u2010", "-")
        .replace("\u2011", "-")
        .replace("\u00a0", " ")
        .replace("\u2009", " ")
    )


def _key(text: str, case_sensitive: bool) -> str:
    tokens = _ALIAS_TOKEN.findall(_fold(text))
    joined = "".join(tokens)
    return joined if case_sensitive else joined.lower()


def _is_case_sensitive(alias: str) -> bool:
    letters = [c for c in alias if c.isalpha()]
    return len(alias.strip()) <= 3 or (bool(letters) and all(c.isupper() for c in letters))


def _alias_pattern(alias: str) -> str:
    tokens = _ALIAS_TOKEN.findall(_fold(alias))
    return _SEP.join(re.escape(t) for t in tokens)


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    name: str


class _Matcher:
    """Finds the longest non-overlapping alias mentions of one kind (datasets or metrics)."""

    def __init__(self, names: dict[str, list[str]], left: str, right: str) -> None:
        self.lookup: dict[tuple[bool, str], str] = {}
        patterns: dict[bool, list[str]] = {True: [], False: []}
        for name, aliases in names.items():
            for alias in [name, *aliases]:
                if not alias or not alias.strip():
                    continue
                sensitive = _is_case_sensitive(alias)
                key = (sensitive, _key(alias, sensitive))
                if not key[1] or key in self.lookup:
                    continue
                self.lookup[key] = name
                patterns[sensitive].append(_alias_pattern(alias))
        self.regexes: list[tuple[bool, re.Pattern[str]]] = []
        for sensitive, pats in patterns.items():
            if not pats:
                continue
            pats.sort(key=len, reverse=True)
            body = "|".join(pats)
            flags = 0 if sensitive else re.IGNORECASE
            self.regexes.append((sensitive, re.compile(f"{left}(?:{body}){right}", flags)))

    def find(self, text: str) -> list[_Mention]:
        found: list[_Mention] = []
        for sensitive, regex in self.regexes:
            for match in regex.finditer(text):
                name = self.lookup.get((sensitive, _key(match.group(), sensitive)))
                if name is not None:
                    found.append(_Mention(match.start(), match.end(), name))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[_Mention] = []
        for mention in found:
            if kept and mention.start < kept[-1].end:
                continue
            kept.append(mention)
        return kept


class _Compiled:
    def __init__(self, taxonomy: Taxonomy) -> None:
        # A dataset name must not continue into an unknown variant ("Cityscapes-C",
        # "Tiny-ImageNet"); a metric may follow a number directly ("49.4AP").
        self.datasets = _Matcher(
            taxonomy.datasets,
            r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]-)",
            r"(?![A-Za-z0-9])(?!-[A-Za-z0-9])",
        )
        self.metrics = _Matcher(taxonomy.metrics, r"(?<![A-Za-z])", r"(?![A-Za-z0-9])")
        self.headline = {d: m for d, m in taxonomy.headline_metrics.items() if m in taxonomy.metrics}


# ---------------------------------------------------------------------------------------------
# Sentences.

_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "al",
        "vs",
        "cf",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "tab",
        "no",
        "approx",
        "resp",
        "viz",
        "ca",
        "incl",
        "w.r.t",
        "wrt",
        "aka",
        "et",
        "dr",
        "mr",
        "ms",
        "prof",
        "st",
    }
)
_BOUNDARY = re.compile(r"[.!?](?=\s+[\"'“(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; "e.g.", "et al.", initials and decimals do not end one."""
    text = " ".join(_fold(text).split())
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        word = re.search(r"([A-Za-z.]+)$", text[start : match.start()])
        last = (word.group(1) if word else "").lower().lstrip(".")
        if last in _ABBREVIATIONS or (word and len(word.group(1)) == 1 and word.group(1).isupper()):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# ---------------------------------------------------------------------------------------------
# Cleaning: LaTeX and citations out, so "87.7\%" reads as "87.7%".

_LATEX_SYMBOLS = {
    r"\%": "%",
    r"\times": "×",
    r"\pm": "±",
    r"\sim": "~",
    r"\approx": "≈",
    r"\,": " ",
    r"\ ": " ",
    r"\&": "&",
    r"\_": "_",
}
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;\-]\s*\d+)*\s*\]")


def _clean(sentence: str) -> str:
    text = sentence
    for latex, plain in _LATEX_SYMBOLS.items():
        text = text.replace(latex, plain)
    text = _LATEX_COMMAND.sub("", text)
    text = text.replace("$", "").replace("{", "").replace("}", "")
    text = _CITATION.sub("", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Numbers that may be results.

_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.@/:^\-+±~≈×])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<pct>\s?%|\s?percent\b)?"
)
# Words right after a number that make it a count, a size, a speed-up or a time, not a score.
_UNIT = re.compile(
    r"\s*(?:x\b|×|times\b|fold\b|-fold\b|[kKmMbBgGtT]\b|million\b|billion\b|thousand\b|"
    r"trillion\b|params?\b|parameters?\b|layers?\b|blocks?\b|heads?\b|epochs?\b|steps?\b|"
    r"iterations?\b|hours?\b|h\b|days?\b|weeks?\b|minutes?\b|mins?\b|seconds?\b|s\b|ms\b|fps\b|"
    r"gflops\b|flops\b|tflops\b|macs\b|gmacs\b|gb\b|mb\b|tb\b|gpus?\b|tpus?\b|images?\b|videos?\b|"
    r"tokens?\b|samples?\b|examples?\b|classes\b|categories\b|languages?\b|tasks?\b|datasets?\b|"
    r"benchmarks?\b|points?\b|pp\b|percentage points?\b|shots?\b|-shot\b|frames?\b|pixels?\b|"
    r"px\b|dimensions?\b|clusters?\b|queries\b|questions\b|pairs\b|sentences\b|words\b|"
    r"hrs?\b|gpu\b|nodes?\b|models?\b|subjects\b|domains\b|users\b|papers\b|\+)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
# Before a number: it is a difference or a starting point, not the result.
_DELTA_BEFORE = re.compile(
    r"(?:\bby(?:\s+(?:a(?:\s+\w+)?\s+margin\s+of|up\s+to|over|about|around|nearly|almost|roughly|"
    r"approximately|more\s+than|at\s+least|an?\s+average\s+of))?|\bfrom(?:\s+the)?|"
    r"\b(?:margin|improvements?|gains?|increase|decrease|drop|reduction|boost)\s+of(?:\s+up\s+to)?|"
    r"\bvs\.?|\bversus)\s*$",
    re.IGNORECASE,
)
_VS_AFTER = re.compile(r"^\s*(?:%\s*)?(?:vs\.?|versus)\b", re.IGNORECASE)
# A clause that compares rather than reports ("..., which is 1.9% better than Swin").
_COMPARATIVE = re.compile(
    r"\b(?:improv\w*|gains?|boost\w*|increas\w*|reduc\w*|decreas\w*|margin|better|worse|higher|"
    r"lower|more|less|fewer|faster|slower|smaller|larger|outperform\w*|surpass\w*|exceed\w*|"
    r"relative|absolute|drops?|behind|ahead|beats?|beating|advantage|delta|compared|"
    r"speed-?ups?)\b",
    re.IGNORECASE,
)
# Where a sentence turns from what was achieved to a comparison or an aside.
_CLAUSE_BREAK = re.compile(
    r";|,\s*(?=(?:which|while|whereas|compared|outperform\w*|surpass\w*|exceed\w*|beating|"
    r"being|yielding|leading|resulting|improving|achieving|obtaining|reaching|setting|attaining|an?\s+(?:\w+\s+)?(?:improvement|gain|increase)|i\.e\.|"
    r"i\.e|e\.g\.|even|respectively|but|and\s+(?:is|are|outperform\w*|surpass\w*))\b)|"
    r"\s(?=(?:while|whereas|compared\s+(?:to|with))\b)",
    re.IGNORECASE,
)
_TRAINING_CONTEXT = re.compile(
    r"(?:pre-?train\w*|train\w*|fine-?tun\w*|distill\w*|learn\w*|using|with\s+extra|"
    r"from|initiali[sz]\w*|transfer\w*\s+from)\s+(?:\w+\s+){0,2}(?:on|with|from|using)?\s*"
    r"(?:the\s+)?$",
    re.IGNORECASE,
)
_PREPOSITION = re.compile(r"\b(?:on|for|in|over|across|at|of)\b", re.IGNORECASE)
_LIST_JOIN = re.compile(r"^\s*(?:%\s*)?(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|/\s*)$", re.IGNORECASE)
# Allowed between a metric and its number: "top-1 accuracy of 83.1%", "AP 45.7%", "F1 to 93.2".
_METRIC_THEN_NUMBER = re.compile(
    r"^\s*(?:\(\s*)?(?:(?:of|to|at|is|was|=|:|reaches|reaching|achieves|achieving|obtains|"
    r"a|an|the|new|record|score|scores|value|values|rate|state-of-the-art|sota|up\s+to|"
    r"around|about|nearly|only|just)\s*)*$",
    re.IGNORECASE,
)
_NUMBER_THEN_METRIC = re.compile(r"^\s*(?:%\s*)?(?:\(\s*)?$")


@dataclass
class _Number:
    start: int
    end: int
    value: float
    raw: str
    percent: bool = False
    metric: _Mention | None = None
    dataset: _Mention | None = None
    group: list[_Number] = field(default_factory=list)


def _numbers(text: str, blocked: list[tuple[int, int]]) -> list[_Number]:
    """Candidate result numbers: not a count, year, ratio, delta or part of a name."""
    found: list[_Number] = []
    for match in _NUMBER.finditer(text):
        start, end = match.start(), match.end()
        if any(b0 <= start < b1 for b0, b1 in blocked):
            continue  # inside a dataset or metric name: "CIFAR-10", "SQuAD 1.1", "AP50"
        digits = match.group("num")
        pct = match.group("pct")
        after = text[end:]
        if not pct:
            if _UNIT.match(after):
                continue
            if "." not in digits and _YEAR.fullmatch(digits):
                continue
        if re.match(r"\s*(?:%\s*)?/\s*\d", after) or re.search(r"\d\s*%?\s*/\s*$", text[:start]):
            continue  # "1.8/3.3 WER": which number is which is a guess
        if re.match(r"\s*(?:±|\+/-)", after) or re.match(r"\s*(?:%\s*)?\+", after):
            continue
        if _DELTA_BEFORE.search(text[max(0, start - 40) : start]):
            continue
        if _VS_AFTER.match(after):
            continue
        value = float(digits.replace(",", ""))
        found.append(_Number(start, end, value, text[start:end].strip(), percent=bool(pct)))
    return found


def _paren_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            spans.append((stack.pop(), i + 1))
    return spans


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds = [0]
    for match in _CLAUSE_BREAK.finditer(text):
        bounds.append(match.start())
    bounds.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _words(text: str) -> int:
    return len(text.split())


_MODEL_AFTER = re.compile(
    r"\b(?i:our|the\s+proposed)\s+(?:(?i:best|largest|biggest|smallest|fastest|final|single|"
    r"base|large|small)\s+)*(?:(?i:model|network|method|detector),?\s+)?"
    r"(?P<name>[A-Z][\w.\-/+]*(?:\s[A-Z0-9][\w.\-/+]*)?)"
)
_MODEL_SUBJECT = re.compile(
    r"(?P<name>\b[A-Z][\w.\-/+]*),?\s+(?:(?:model|models|network)\s+)?(?:can\s+|also\s+|further\s+)?"
    r"(?:achieves?|achieved|obtains?|obtained|reach(?:es)?|reached|attains?|attained|sets?|"
    r"gets?|establishes|yields?|surpasses|delivers?)\b"
)
_NOT_A_MODEL = frozenset(
    {
        "It",
        "This",
        "That",
        "These",
        "Those",
        "We",
        "Our",
        "The",
        "Which",
        "Experiments",
        "Results",
        "Extensive",
        "Empirical",
        "Finally",
        "Moreover",
        "Furthermore",
        "Notably",
        "Overall",
        "Specifically",
        "Particularly",
        "Combined",
        "Using",
        "With",
        "In",
        "On",
        "For",
        "Its",
        "Their",
        "Here",
        "Code",
        "Then",
        "Also",
        "Further",
        "Such",
        "Both",
        "Each",
        "All",
    }
)


def _looks_like_model(name: str) -> bool:
    head = name.split()[0]
    if head in _NOT_A_MODEL:
        return False
    return bool(re.search(r"[A-Z].*[A-Z]|\d|-", head)) or (head.isupper() and len(head) > 1)


def _model(text: str, before: int, datasets: list[_Mention]) -> str | None:
    """The model a sentence credits, named before the number and after any "while"/"than"."""
    start = max((m.end() for m in _CONTRAST.finditer(text, 0, before)), default=0)
    for regex in (_MODEL_AFTER, _MODEL_SUBJECT):
        names = [
            m.group("name").rstrip(".,")
            for m in regex.finditer(text, start, before)
            if not any(d.start < m.end("name") and m.start("name") < d.end for d in datasets)
        ]
        names = [n for n in names if _looks_like_model(n)]
        if names:
            return names[-1].split()[0] if regex is _MODEL_SUBJECT else names[-1]
    return None


# ---------------------------------------------------------------------------------------------
# Extraction.


def extract_claims(abstract: str, taxonomy: Taxonomy | None = None) -> list[Claim]:
    """Results the abstract claims, in the order written; nothing when unsure."""
    compiled = (taxonomy or _default())._matchers()
    sentences = split_sentences(abstract)
    cleaned = [_clean(s) for s in sentences]
    found = [compiled.datasets.find(c) for c in cleaned]
    evaluated = [_eval_datasets(c, ms) for c, ms in zip(cleaned, found, strict=True)]
    names = {m.name for ms in evaluated for m in ms}
    # Every dataset the abstract names is evaluated on: a dataset-less sentence may use it.
    only = (
        next(iter(names))
        if len(names) == 1 and all(len(e) == len(f) for e, f in zip(evaluated, found, strict=True))
        else None
    )
    claims: list[Claim] = []
    seen: set[tuple[str, str, float]] = set()
    for sentence, text, datasets, mentions in zip(sentences, cleaned, evaluated, found, strict=True):
        for number in _sentence_results(text, compiled, datasets, mentions, only):
            assert number.metric is not None and number.dataset is not None
            key = (number.dataset.name, number.metric.name, number.value)
            if key in seen:
                continue
            seen.add(key)
            claims.append(
                Claim(
                    dataset=number.dataset.name,
                    metric=number.metric.name,
                    value=number.value,
                    raw=number.raw,
                    sentence=sentence,
                    model=_model(text, number.start, mentions),
                )
            )
    return claims


def _eval_datasets(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Dataset mentions that can be evaluation targets (not "pre-trained on X")."""
    return [m for m in mentions if not _TRAINING_CONTEXT.search(text[max(0, m.start - 40) : m.start])]


class _Sentence:
    """One cleaned sentence with its mentions, clauses and parentheses."""

    def __init__(self, text: str, metrics: list[_Mention], datasets: list[_Mention]) -> None:
        self.text = text
        self.metrics = metrics
        self.datasets = datasets
        self.parens = _paren_spans(text)
        self.clauses = _clauses(text)

    def clause_of(self, pos: int) -> tuple[int, int]:
        return next((c for c in self.clauses if c[0] <= pos < c[1]), (0, len(self.text)))

    def paren_of(self, pos: int) -> tuple[int, int] | None:
        inner = [p for p in self.parens if p[0] < pos < p[1]]
        return min(inner, key=lambda p: p[1] - p[0]) if inner else None


def _sentence_results(
    text: str,
    compiled: _Compiled,
    datasets: list[_Mention],
    all_datasets: list[_Mention],
    abstract_only: str | None,
) -> list[_Number]:
    metrics = compiled.metrics.find(text)
    if not metrics and not any(d.name in compiled.headline for d in datasets):
        return []
    blocked = [(m.start, m.end) for m in metrics + all_datasets]
    numbers = _numbers(text, blocked)
    if not numbers:
        return []
    # A metric written as "bpc/perplexity" does not say which number is which.
    metrics = [
        m
        for m in metrics
        if not re.match(r"\s*/\s*[A-Za-z]", text[m.end :]) and not re.search(r"[A-Za-z]\s*/\s*$", text[: m.start])
    ]
    sent = _Sentence(text, metrics, datasets)
    kept = [n for n in numbers if not _is_comparative(sent, n) and not _is_theirs(sent, n)]
    for number in kept:
        _attach_metric(sent, number, kept)
    _share_respectively(sent, kept)
    for number in kept:
        if number.metric is None:
            _inherit_metric(sent, number, kept)
    _headline_metric(sent, kept, compiled.headline)

    results: list[_Number] = []
    fallback: list[_Number] = []
    for number in kept:
        if number.metric is None:
            continue
        if number.group:
            if number.dataset is not None:
                results.append(number)
            continue  # one metric shared by several numbers: only "respectively" pairs them
        if number.dataset is None:
            number.dataset = _find_dataset(sent, number)
        if number.dataset is None:
            number.dataset = _fallback_dataset(sent, number, abstract_only)
            if number.dataset is not None:
                fallback.append(number)
        if number.dataset is not None:
            results.append(number)
    # A guessed dataset that another number of the sentence holds explicitly is a wrong guess
    # ("COCO val2017 (63.2 AP) and test-dev (63.3 AP)").
    direct = {(n.dataset.name, n.metric.name) for n in results if n not in fallback and n.dataset and n.metric}
    return [
        n
        for n in results
        if n not in fallback or (n.dataset and n.metric and (n.dataset.name, n.metric.name) not in direct)
    ]


_ACHIEVED = re.compile(
    r"\b(?:achiev\w*|obtain\w*|reach\w*|attain\w*|sets?|setting|record\w*|establish\w*|"
    r"deliver\w*|scor\w*|gets?|push\w*|report\w*)\b",
    re.IGNORECASE,
)
_THAN_AFTER = re.compile(
    r"^\s*(?:%\s*)?(?:\w+\s+){0,3}?(?:more|less|fewer|better|worse|higher|lower|faster|slower|"
    r"smaller|larger)\b\s*(?:\w+\s+)?(?:than|accurate)\b",
    re.IGNORECASE,
)


_BASELINE = re.compile(
    r"\b(?:previous|prior|existing|baselines?|competing|counterparts?|teacher|other\s+methods|"
    r"human(?:s|\s+performance)?|state-of-the-art\s+(?:methods|models|systems)|sota\s+(?:methods|models))\b",
    re.IGNORECASE,
)


_OURS = re.compile(r"\b(?:our|ours|we)\b", re.IGNORECASE)
_CONTRAST = re.compile(r"\b(?:while|whereas|but|versus|vs\.?|compared|unlike|than)\b", re.IGNORECASE)


def _is_theirs(sent: _Sentence, number: _Number) -> bool:
    """ "GPT-4 achieves 92% ..., while our model reaches 85%": the clause without "our" is theirs."""
    if not _CONTRAST.search(sent.text):
        return False
    start, end = sent.clause_of(number.start)
    if _OURS.search(sent.text[start:end]):
        return False
    return any(_OURS.search(sent.text[a:b]) for a, b in sent.clauses if (a, b) != (start, end))


def _is_comparative(sent: _Sentence, number: _Number) -> bool:
    """A number inside a comparison ("(+7.7% absolute)", ", which is 2.2% better") is a delta."""
    text = sent.text
    if _THAN_AFTER.match(text[number.end : number.end + 60]):
        return True  # "5.7% more accurate than", "2.2% better than"
    before = text[max(0, number.start - 12) : number.start]
    if re.search(r"(?<!up )\bto\s*$|\bat\s*$", before, re.IGNORECASE):
        return False  # "improves ... to 50.7% AP", "push ... to a new record at 60.6 AP"
    paren = sent.paren_of(number.start)
    if paren and _COMPARATIVE.search(text[paren[0] : paren[1]]):
        return True
    start, end = sent.clause_of(number.start)
    clause = text[start:end]
    cues = list(_BASELINE.finditer(text, start, number.start))
    if cues and not re.search(r"\b(?:our|ours|we)\b", text[cues[-1].end() : number.start], re.IGNORECASE):
        return True  # "the previous best method obtains 41.0 AP": someone else's result
    # Inside a comparative clause only numbers reported as achieved survive.
    return bool(_COMPARATIVE.search(clause)) and not _ACHIEVED.search(text[start : number.start])


def _attach_metric(sent: _Sentence, number: _Number, numbers: list[_Number]) -> None:
    """The metric written right after the number, or right before it."""
    text = sent.text
    # After: "55.7% box AP", "49.4AP", "87.8% ImageNet top-1 accuracy", "63.1 and 54.2 box AP".
    following = [m for m in sent.metrics if m.start >= number.end]
    if following:
        metric = following[0]
        between = [d for d in sent.datasets if number.end <= d.start and d.end <= metric.start]
        gap = text[number.end : metric.start]
        for d in reversed(between):
            gap = gap[: d.start - number.end] + " " + gap[d.end - number.end :]
        if _NUMBER_THEN_METRIC.match(gap) and len(between) <= 1:
            number.metric = metric
            if between:
                number.dataset = between[0]
            return
        # A list sharing one metric: "94.6% and 88.7% F1", "63.1, 54.2 and 50.0 AP".
        others = [n for n in numbers if number.end <= n.start and n.end <= metric.start]
        if others:
            chain = [number, *others]
            joined = all(_LIST_JOIN.match(text[a.end : b.start]) for a, b in itertools.pairwise(chain))
            if joined and _NUMBER_THEN_METRIC.match(text[chain[-1].end : metric.start]):
                number.metric = metric
                number.group = chain
                return
    # Before: "top-1 accuracy of 83.1%", "FID of 2.27", "AP 45.7%", "Test F1 to 93.2".
    preceding = [m for m in sent.metrics if m.end <= number.start]
    if preceding:
        metric = preceding[-1]
        if _METRIC_THEN_NUMBER.match(text[metric.end : number.start]):
            number.metric = metric


def _share_respectively(sent: _Sentence, numbers: list[_Number]) -> None:
    """ "94.6 and 88.7 F1 on A and B, respectively": pair them only when the counts agree."""
    text = sent.text
    done: set[int] = set()
    for number in numbers:
        if not number.group or id(number) in done:
            continue
        chain = number.group
        for member in chain:
            done.add(id(member))
            member.group = chain
            member.metric = number.metric
        assert number.metric is not None
        if not re.search(r"\brespectively\b", text[chain[-1].end :], re.IGNORECASE):
            continue
        after = [d for d in sent.datasets if d.start >= number.metric.end]
        if not after:
            continue
        run = [after[0]]
        for d in after[1:]:
            if _LIST_JOIN.match(text[run[-1].end : d.start]):
                run.append(d)
            else:
                break
        lead = text[number.metric.end : run[0].start]
        if len(run) == len(chain) and _PREPOSITION.search(lead) and _words(lead) <= 4:
            for member, dataset in zip(chain, run, strict=True):
                member.dataset = dataset


def _headline_metric(sent: _Sentence, numbers: list[_Number], headline: dict[str, str]) -> None:
    """Bare percentages on a dataset with one usual metric: "83.9% on Kinetics-400, 75.3% on SSv2".

    Only in a clause that names no metric at all, and "X% and Y% on A and B" only with
    "respectively" and as many datasets as numbers.
    """
    text = sent.text
    bare = [n for n in numbers if n.metric is None and n.percent and not n.group]
    chains: list[list[_Number]] = []
    for number in bare:
        if chains and _LIST_JOIN.match(text[chains[-1][-1].end : number.start]):
            chains[-1].append(number)
        else:
            chains.append([number])
    for chain in chains:
        c_start, c_end = sent.clause_of(chain[0].start)
        if any(c_start <= m.start < c_end for m in sent.metrics):
            continue
        if not _ACHIEVED.search(text[c_start : chain[0].start]):
            continue  # "35% on MMLU items are leaked": a share, not a score
        after = [d for d in sent.datasets if d.start >= chain[-1].end]
        if not after or not _ON_SHOT.fullmatch(text[chain[-1].end : after[0].start]):
            continue
        if re.match(r"\s*(?:items|questions|problems|examples|samples|instances|prompts)\b", text[after[0].end :]):
            continue
        run = [after[0]]
        for d in after[1:]:
            if _LIST_JOIN.match(text[run[-1].end : d.start]):
                run.append(d)
            else:
                break
        if len(chain) == 1:
            run = run[:1]
        elif len(run) != len(chain) or not re.match(
            r"\s*,?\s*respectively\b", text[run[-1].end : run[-1].end + 20], re.IGNORECASE
        ):
            continue  # "67% and 65% on HumanEval": which is which is a guess
        if all(d.name in headline for d in run):
            for number, dataset in zip(chain, run, strict=True):
                number.metric = _Mention(-1, -1, headline[dataset.name])
                number.dataset = dataset


_ON_SHOT = re.compile(r"\s*(?:on|for)\s+(?:the\s+)?(?:(?:\w+|\d+)[- ]shot\s+)?", re.IGNORECASE)
_ON = re.compile(r"\s*(?:%\s*)?(?:on|for|in)\s+(?:the\s+)?", re.IGNORECASE)
_AND = re.compile(r"\s*(?:\([^()\d]*\)\s*)?(?:,\s*(?:and\s+)?|and\s+)", re.IGNORECASE)


def _inherit_metric(sent: _Sentence, number: _Number, numbers: list[_Number]) -> None:
    """Coordinated results that name the metric once.

    "FID of 3.55 on CIFAR-10 and 6.20 on ImageNet 64x64" and "accuracy on CIFAR-100 (91.7%)".
    """
    text = sent.text
    # "... METRIC of X on D1 and Y on D2": Y takes X's metric when both are "NUM on DATASET".
    earlier = [n for n in numbers if n.end <= number.start and n.metric is not None and not n.group]
    after = [d for d in sent.datasets if d.start >= number.end]
    if earlier and after:
        prev = earlier[-1]
        assert prev.metric is not None
        inner = [d for d in sent.datasets if prev.end <= d.start and d.end <= number.start]
        if (
            prev.metric.end <= prev.start  # the metric was written before the first number
            and len(inner) == 1
            and _ON.fullmatch(text[prev.end : inner[0].start])
            and _AND.fullmatch(text[inner[0].end : number.start])
            and _ON.fullmatch(text[number.end : after[0].start])
        ):
            number.metric = prev.metric
            number.dataset = after[0]
            return
    # "METRIC on D1 (X), D2 (Y)": a bare number in parentheses right after a dataset.
    paren = sent.paren_of(number.start)
    if paren is None or text[paren[0] + 1 : paren[1] - 1].strip() != text[number.start : number.end].strip():
        return
    owners = [d for d in sent.datasets if d.end <= paren[0] and not text[d.end : paren[0]].strip()]
    if not owners:
        return
    dataset = owners[-1]
    c_start, _ = sent.clause_of(number.start)
    metrics = [m for m in sent.metrics if c_start <= m.start and m.end <= dataset.start]
    if not metrics:
        return
    metric = metrics[-1]
    lead = text[metric.end : dataset.start]
    listed = r"(?:[^()\d]*\(\s*[\d.]+\s*%?\s*\)\s*,\s*(?:and\s+)?)*"
    if re.fullmatch(r"\s*(?:on|for|in)\s+(?:the\s+)?" + listed, lead, re.IGNORECASE):
        number.metric = metric
        number.dataset = dataset


_BARE_NUMBER = re.compile(r"(?<![A-Za-z@\-])\d")


def _find_dataset(sent: _Sentence, number: _Number) -> _Mention | None:
    """The evaluation dataset written next to a (number, metric) pair, or None when unsure."""
    assert number.metric is not None
    text = sent.text
    anchor_end = max(number.end, number.metric.end)
    c_start, c_end = sent.clause_of(number.start)
    # After: "57.7 mIoU on ADE20K", "top-1 accuracy of 83.1% (single-crop) on ImageNet",
    # "49.4AP in 12 epochs and 51.3AP in 24 epochs on COCO".
    after = [d for d in sent.datasets if anchor_end <= d.start < c_end]
    if after:
        lead = text[anchor_end : after[0].start]
        if (
            re.search(r"\b(?:on|for|in|over|across)\s+(?:the\s+)?(?:\w+\s+)?$", lead, re.IGNORECASE)
            and _words(lead) <= 12
            and not _COMPARATIVE.search(lead)
        ):
            return after[0]
    # Before: "MultiNLI accuracy to 86.7%", "the GLUE score to 80.5%", "COCO val2017 (63.2AP)".
    before = [d for d in sent.datasets if d.start < number.metric.start or d.end <= number.start]
    before = [d for d in before if d.end <= number.start and d.start >= c_start]
    if before:
        gap = text[before[-1].end : number.start]
        if _words(gap) <= 6 and not _BARE_NUMBER.search(gap) and not _COMPARATIVE.search(gap):
            return before[-1]
    # "On COCO test-dev, DetectoRS achieves ...": a leading "On X," frames the sentence.
    lead_in = re.match(r"^\s*(?:\w+,?\s+){0,3}?(?:on|for|in)\s+(?:the\s+)?", text, re.IGNORECASE)
    if lead_in and len({d.name for d in sent.datasets}) == 1:
        first = [d for d in sent.datasets if d.start == lead_in.end()]
        if first:
            return first[0]
    return None


def _fallback_dataset(sent: _Sentence, number: _Number, abstract_only: str | None) -> _Mention | None:
    """The only evaluation dataset of the clause (or of the whole abstract), when there is one."""
    text = sent.text
    if re.search(r"\b(?:latter|former|respectively)\b", text, re.IGNORECASE):
        return None
    c_start, c_end = sent.clause_of(number.start)
    names = {d.name for d in sent.datasets}
    in_clause = [d for d in sent.datasets if c_start <= d.start < c_end]
    if len(names) == 1 and in_clause:
        return in_clause[0]
    if not sent.datasets and abstract_only is not None:
        return _Mention(-1, -1, abstract_only)
    return None
