"""Task and metric taxonomy: how names are normalised for lookup.

`normalise` is the one definition of "the same name" used by aliases, imports and
lookups, so "Object-Detection", "object detection" and "object_detection" meet.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lowercase ASCII words separated by single spaces."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub(" ", folded.lower()).strip()


def slugify(text: str) -> str:
    """A URL-safe task slug: 'Object Detection' -> 'object-detection'."""
    return normalise(text).replace(" ", "-")


# ---------------------------------------------------------------------------------------------
# Metric direction: which way is better, from the metric's name alone.
#
# The archives never say whether a metric is higher- or lower-is-better, so the name decides.
# Lower-is-better words are checked first because they qualify a score ("Top-1 Error",
# "FID score", "Error rate"); then higher-is-better ones; else "unknown". An operator's
# `[metrics]` table wins over both.

Direction = str  # "higher" | "lower" | "unknown"

_LOWER_PATTERNS = [
    r"error", r"errors", r"err", r"loss", r"perplexity", r"ppl", r"wer", r"cer", r"ter", r"fid",
    r"kid", r"fvd", r"lpips", r"params?", r"parameters?", r"n params", r"latency", r"time",
    r"runtime", r"seconds?", r"ms", r"sec", r"hours?", r"gpu hours", r"mae", r"mse", r"rmse", r"rmsle",
    r"mape", r"smape", r"medae", r"nmse", r"mad", r"eer", r"hter", r"far", r"frr", r"ber", r"bpc", r"bpd",
    r"bpb", r"bits? per (?:dim|dimension|character|char|byte|pixel|sub ?dim)", r"bits? dim", r"nll",
    r"negative log likelihood", r"log likelihood loss", r"cross entropy", r"entropy", r"flops?",
    r"gflops?", r"mflops?", r"tflops?", r"macs?", r"gmacs?", r"multiply adds?", r"mult adds?",
    r"memory", r"model size", r"size mb", r"mb", r"distance", r"chamfer", r"emd", r"miss rate", r"mr",
    r"lamr", r"mean rank", r"median rank", r"medr", r"average rank", r"ade", r"fde", r"epe",
    r"abs ?rel", r"sq ?rel", r"log10", r"regret", r"collision rate", r"failure rate", r"fail rate",
    r"violations?", r"hamming", r"word error", r"edit distance", r"vi", r"dist", r"cost",
    r"energy", r"nme", r"fr", r"auc fr", r"mpjpe", r"pa mpjpe", r"pve", r"mpve", r"mre",
    r"false positives?", r"false negatives?", r"fpr", r"fnr", r"fp", r"fn", r"oov", r"kl", r"kld",
    r"kl divergence", r"wasserstein", r"drop rate", r"jitter", r"bits",
]
_HIGHER_PATTERNS = [
    r"accuracy", r"acc", r"accs", r"top ?\d+", r"f\d+", r"f \d+", r"f\d* ?score", r"f measure", r"fscore",
    r"macro f\d*", r"micro f\d*", r"bleu", r"bleu \d", r"sacrebleu", r"gleu", r"rouge",
    r"rouge \w+", r"meteor", r"cider", r"cider d", r"spice", r"chrf", r"bertscore", r"bleurt", r"comet",
    r"ap", r"ap\d+", r"ap[sml]", r"ap \d+", r"map", r"map\d+", r"box ap", r"mask ap", r"average precision",
    r"auc", r"auroc", r"roc auc", r"aupr", r"auprc", r"pr auc", r"iou", r"miou", r"dice", r"jaccard", r"em",
    r"exact match", r"exact", r"precision", r"recall", r"hits ?\d*", r"hit ?\d*", r"mrr", r"ndcg",
    r"ndcg ?\d*", r"psnr", r"ssim", r"ms ssim", r"score", r"scores", r"success rate", r"success",
    r"spearman", r"pearson", r"correlation", r"kendall", r"tau", r"kappa", r"mcc", r"matthews", r"r2",
    r"r \d+", r"r\d+", r"p \d+", r"p\d+", r"rank \d+", r"rank\d+", r"r \d+ \d+", r"pck", r"pckh", r"oks",
    r"mota", r"idf1", r"hota", r"return", r"reward", r"win rate", r"elo", r"elo rating", r"rating",
    r"smatch", r"las", r"uas", r"sensitivity", r"specificity", r"fps", r"throughput", r"speedup",
    r"pass \d+", r"pass ?k", r"solved", r"spl", r"sr", r"nmi", r"ari", r"ami", r"purity", r"coverage",
    r"correct", r"percentage correct", r"agreement", r"bpref", r"inception score", r"is",
    r"human normalized", r"normalized score", r"mean reward", r"average return", r"gain", r"sts",
    r"sick r", r"sick e", r"q a", r"qa r", r"q ar", r"pac", r"qac", r"recall \d+", r"precision \d+",
    r"ap \d+ \d+", r"wa", r"waa", r"ua", r"uar", r"bacc", r"mpca", r"oa", r"aa",
]
# Higher-is-better names that contain a lower-is-better word ("MS-SSIM" holds "ms").
_HIGHER_FIRST_PATTERNS = [r"ms ssim", r"ssim", r"psnr"]
_STOP = r"(?:^|\s)(?:{})(?=\s|$)"
_HIGHER_FIRST_RE = re.compile(_STOP.format("|".join(_HIGHER_FIRST_PATTERNS)))
_LOWER_RE = re.compile(_STOP.format("|".join(_LOWER_PATTERNS)))
_HIGHER_RE = re.compile(_STOP.format("|".join(_HIGHER_PATTERNS)))
# "Error reduction", "loss reduction", "FID improvement": a decrease that is reported as a gain.
_GAIN_OF_LOWER = re.compile(r"(?:^|\s)(?:reduction|improvement|decrease|gain|speedup)(?=\s|$)")


def _override(name: str, overrides: dict[str, str] | None) -> str | None:
    if not overrides:
        return None
    folded = name.strip().casefold()
    norm = normalise(name)
    for key, direction in overrides.items():
        if key.strip().casefold() == folded:
            return direction
    for key, direction in overrides.items():
        if normalise(key) == norm:
            return direction
    return None


def metric_direction(name: str, overrides: dict[str, str] | None = None) -> Direction:
    """"higher", "lower" or "unknown" for a metric name; `overrides` (config [metrics]) win."""
    chosen = _override(name, overrides)
    if chosen in ("higher", "lower"):
        return chosen
    text = normalise(name)
    if not text:
        return "unknown"
    if _HIGHER_FIRST_RE.search(text):
        return "higher"
    if _LOWER_RE.search(text):
        return "higher" if _GAIN_OF_LOWER.search(text) else "lower"
    if _HIGHER_RE.search(text):
        return "higher"
    return "unknown"


# ---------------------------------------------------------------------------------------------
# Curated aliases: the short names people type for the most asked tasks. Keys are free text
# (normalised when stored), values are task slugs in the Papers with Code spelling. An import
# adds each alias only when its target task exists; a task's own name always wins over them.

CURATED_ALIASES: dict[str, str] = {
    # detection and segmentation
    "obj det": "object-detection",
    "object det": "object-detection",
    "objdet": "object-detection",
    "od": "object-detection",
    "detection": "object-detection",
    "coco detection": "object-detection",
    "coco object detection": "object-detection",
    "2d object detection": "object-detection",
    "3d det": "3d-object-detection",
    "3d detection": "3d-object-detection",
    "semseg": "semantic-segmentation",
    "sem seg": "semantic-segmentation",
    "semantic seg": "semantic-segmentation",
    "instance seg": "instance-segmentation",
    "inst seg": "instance-segmentation",
    "coco instance segmentation": "instance-segmentation",
    "panoptic seg": "panoptic-segmentation",
    "panoptic": "panoptic-segmentation",
    # image understanding and generation
    "img cls": "image-classification",
    "img clf": "image-classification",
    "image cls": "image-classification",
    "image clf": "image-classification",
    "imagenet classification": "image-classification",
    "imagenet": "image-classification",
    "image recognition": "image-classification",
    "image gen": "image-generation",
    "img gen": "image-generation",
    "image synthesis": "image-generation",
    "t2i": "text-to-image-generation",
    "text to image": "text-to-image-generation",
    "super resolution": "image-super-resolution",
    "superres": "image-super-resolution",
    "sisr": "image-super-resolution",
    "depth estimation": "monocular-depth-estimation",
    "mde": "monocular-depth-estimation",
    "optical flow": "optical-flow-estimation",
    "pose": "pose-estimation",
    "hpe": "pose-estimation",
    "human pose estimation": "pose-estimation",
    "reid": "person-re-identification",
    "re id": "person-re-identification",
    "person reid": "person-re-identification",
    "face rec": "face-recognition",
    "action rec": "action-recognition",
    "captioning": "image-captioning",
    "image caption": "image-captioning",
    "vqa": "visual-question-answering",
    # speech
    "asr": "speech-recognition",
    "speech recognition": "speech-recognition",
    "automatic speech recognition": "speech-recognition",
    "automatic speech recognition (asr)": "speech-recognition",  # an NLP-progress task with no table
    "stt": "speech-recognition",
    "speech to text": "speech-recognition",
    "tts": "text-to-speech-synthesis",
    # language
    "mt": "machine-translation",
    "nmt": "machine-translation",
    "neural machine translation": "machine-translation",
    "translation": "machine-translation",
    "nli": "natural-language-inference",
    "rte": "natural-language-inference",
    "textual entailment": "natural-language-inference",
    "recognizing textual entailment": "natural-language-inference",
    "qa": "question-answering",
    "odqa": "open-domain-question-answering",
    "open domain qa": "open-domain-question-answering",
    "open qa": "open-domain-question-answering",
    "mrc": "reading-comprehension",
    "machine reading comprehension": "reading-comprehension",
    "lm": "language-modelling",
    "language modeling": "language-modelling",
    "ner": "named-entity-recognition",
    "entity recognition": "named-entity-recognition",
    "pos": "part-of-speech-tagging",
    "pos tagging": "part-of-speech-tagging",
    "sentiment": "sentiment-analysis",
    "sentiment classification": "sentiment-analysis",
    "summarization": "text-summarization",
    "summarisation": "text-summarization",
    "text summarisation": "text-summarization",
    "text clf": "text-classification",
    "text cls": "text-classification",
    "document classification": "text-classification",
    "coref": "coreference-resolution",
    "coreference": "coreference-resolution",
    "srl": "semantic-role-labeling",
    "wsd": "word-sense-disambiguation",
    "sts": "semantic-textual-similarity",
    "paraphrase": "paraphrase-identification",
    "dep parsing": "dependency-parsing",
    "gec": "grammatical-error-correction",
    "dst": "dialogue-state-tracking",
    "re": "relation-extraction",
    "relationship extraction": "relation-extraction",
    "commonsense": "common-sense-reasoning",
    "commonsense reasoning": "common-sense-reasoning",
    "codegen": "code-generation",
    "code gen": "code-generation",
    # graphs and other
    "node cls": "node-classification",
    "graph cls": "graph-classification",
    "kg completion": "link-prediction",
    "knowledge graph completion": "link-prediction",
    "multilabel": "multi-label-classification",
    "atari": "atari-games",
}
