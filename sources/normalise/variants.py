"""One benchmark per dataset, one task per task: the spellings of one dataset (or task) that the
sources use side by side ("SQuAD1.1" and "SQuAD v1.1", "LibriSpeech test-clean" and "librispeech
WER testclean", "WMT 2014 EN-DE" and "WMT2014 English-German").

`dataset_key` is the same for names that differ only in case, punctuation, spacing or a "v"
before a version number; CURATED_DATASET_VARIANTS maps the keys of known variants that differ
more onto one key, and CURATED_TASK_DATASET_VARIANTS those that are one dataset only within one
task ("PTB" in Language Modelling). Two datasets of one task with the same key are one benchmark.

`metric_key` does the same for metric names that are one quantity within a task ("WER" and the
old dumps' "Percentage error" in Speech Recognition), and `model_key` for model names that differ
only by a trailing year ("Transformer Big + BT (2018)", as one NLP-progress export writes them).
"""

from __future__ import annotations

import re

from sotabot.sources.normalise.taxonomy import normalise

_VERSION_V = re.compile(r"^v(?=\d)")

# dataset_key of a variant -> dataset_key of the spelling it is merged into
CURATED_DATASET_VARIANTS: dict[str, str] = {
    "librispeechwertestclean": "librispeechtestclean",
    "librispeechwertestother": "librispeechtestother",
    "librispeechcleantest": "librispeechtestclean",
    "librispeechothertest": "librispeechtestother",
    "wmt2014ende": "wmt2014englishgerman",
    "wmt14ende": "wmt2014englishgerman",
    "wmt2014enfr": "wmt2014englishfrench",
    "wmt14enfr": "wmt2014englishfrench",
    "wmt2014deen": "wmt2014germanenglish",
    "wmt2016roen": "wmt2016romanianenglish",
    "wmt2016enro": "wmt2016englishromanian",
    "cocotestdev2017": "cocotestdev",
    "mscocotestdev": "cocotestdev",
}

# task slug -> {dataset_key of a variant: the key it is merged into}, for names one task alone means
CURATED_TASK_DATASET_VARIANTS: dict[str, dict[str, str]] = {
    "language-modelling": {  # word-level Penn Treebank perplexity, spelled three ways
        "ptb": "penntreebankwordlevel",
        "penntreebankperplexitywhenparsingenglishsentences": "penntreebankwordlevel",
    },
}

# task slug -> {metric_key spelling: the quantity}; "Percentage error" means WER only in speech recognition
CURATED_METRIC_VARIANTS: dict[str, dict[str, str]] = {
    "speech-recognition": {
        "wer": "wer", "worderrorratewer": "wer", "worderrorrate": "wer", "testwer": "wer", "percentageerror": "wer",
    },
    "machine-translation": {"bleu": "bleu", "bleuscore": "bleu"},
}

_TRAILING_YEAR = re.compile(r"\s*\((?:19|20)\d\d\)$")


def spelling_key(name: str) -> str:
    """Case, punctuation, spacing and a "v" before a version number aside: "SQuAD v1.1" -> "squad11"."""
    return "".join(_VERSION_V.sub("", word) for word in normalise(name).split())


def dataset_key(name: str, task: str | None = None) -> str:
    """The spelling key, known variants mapped onto one: "librispeech WER testclean" -> "librispeechtestclean";
    with the task's slug, also the variants of that task ("PTB" in language-modelling)."""
    key = spelling_key(name)
    key = CURATED_DATASET_VARIANTS.get(key, key)
    return CURATED_TASK_DATASET_VARIANTS.get(task or "", {}).get(key, key)


def is_variant_spelling(name: str) -> bool:
    """A curated variant ("librispeech WER testclean"): the other spelling is the one to show."""
    return spelling_key(name) in CURATED_DATASET_VARIANTS


def metric_key(name: str, task: str | None = None) -> str:
    """The quantity a metric name measures in a task: "WER" and "Percentage error" are one in speech-recognition.

    Only the curated names meet: punctuation is what tells "Q->AR" from "QA->R" and "ROUGE-2*" from "ROUGE-2"."""
    found = CURATED_METRIC_VARIANTS.get(task or "", {}).get("".join(normalise(name).split()))
    return f"={found}" if found else name


# The name a merged quantity is shown under (the archive calls speech recognition's WER "Percentage error").
METRIC_LABELS = {"wer": "WER", "bleu": "BLEU"}


def metric_label(name: str | None, task: str | None = None) -> str | None:
    """How a metric is shown on a task's boards: the quantity's own name where the task's curated
    variants merge it ("Percentage error" reads "WER" in speech-recognition), else as stored."""
    if name is None:
        return None
    key = metric_key(name, task)
    return METRIC_LABELS.get(key[1:], name) if key.startswith("=") else name


def shown_as(asked: str, names: list[str], task: str | None = None) -> str | None:
    """The one stored metric name among `names` that a task shows under the name asked for ("WER" ->
    "Percentage error" in speech-recognition); None when there is none or more than one."""
    want = metric_label(asked, task)
    found = [n for n in names if n != asked and metric_label(n, task) == want]
    return found[0] if len(found) == 1 else None


def model_key(model: str) -> str:
    """A model name without a trailing year: "Transformer Big + BT (2018)" -> "Transformer Big + BT"."""
    return _TRAILING_YEAR.sub("", model) or model
