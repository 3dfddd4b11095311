"""One benchmark per dataset, one task per task: the spellings of one dataset (or task) that the
sources use side by side ("SQuAD1.1" and "SQuAD v1.1", "LibriSpeech test-clean" and "librispeech
WER testclean", "WMT 2014 EN-DE" and "WMT2014 English-German").

`dataset_key` is the same for names that differ only in case, punctuation, spacing or a "v"
before a version number; CURATED_DATASET_VARIANTS maps the keys of known variants that differ
more onto one key. Two datasets of one task with the same key are one benchmark.
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


def spelling_key(name: str) -> str:
    """Case, punctuation, spacing and a "v" before a version number aside: "SQuAD v1.1" -> "squad11"."""
    return "".join(_VERSION_V.sub("", word) for word in normalise(name).split())


def dataset_key(name: str) -> str:
    """The spelling key, known variants mapped onto one: "librispeech WER testclean" -> "librispeechtestclean"."""
    key = spelling_key(name)
    return CURATED_DATASET_VARIANTS.get(key, key)


def is_variant_spelling(name: str) -> bool:
    """A curated variant ("librispeech WER testclean"): the other spelling is the one to show."""
    return spelling_key(name) in CURATED_DATASET_VARIANTS
