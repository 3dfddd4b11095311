"""Metric values and paper URLs as the archives write them.

Leaderboard cells are strings in many shapes ("80.3%", "0.8428 ± 0.0014", "220k", "-",
"(32.76 32.07)"); `parse_value` turns the ones that are one number into a float and says
None for the rest, so callers keep the raw string beside it. Paper URLs point at arXiv in
several spellings; `arxiv_id_from_url` gives the versionless id that keys the papers table.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal

# Cells that mean "no value": dashes of every kind, empty, n/a, question marks.
_MISSING = frozenset({"", "-", "--", "---", "−", "–", "—", "n/a", "na", "none", "null", "?", "nan", "x"})

_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}

_NUMBER = re.compile(
    r"""
    (?P<sign>[-+−–])?\s*
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)
    (?P<exp>[eE][-+]?\d+)?
    \s*(?P<suffix>%|[kKmMbBgGtT])?
    (?:\s*(?:±|\+/-|\+-)\s*\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*%?)?   # mean ± std: the mean counts
    """,
    re.VERBOSE,
)
# Decorations around a single number: markdown bold/italic, footnote marks, "≈"/"~".
_LEADING = re.compile(r"^(?:\*{1,2}|_{1,2}|~|≈)\s*")
_TRAILING = re.compile(r"\s*(?:\*{1,2}|_{1,2}|†|‡|\+)$")


def parse_value(raw: str | float | int | Decimal | None) -> float | None:
    """The number a leaderboard cell holds, or None when it is missing or not one number."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        value = float(raw)
        return value if math.isfinite(value) else None
    if not isinstance(raw, str):
        return None
    try:  # the common case, a plain number ("83.12", "1e-3"), without the regex
        value = float(raw)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) and "_" not in raw else None
    text = raw.replace("\ufeff", "").replace("\u00a0", " ").strip()
    if text.lower() in _MISSING:
        return None
    for _ in range(3):  # "**85.2**", "**85.2*", "~12M"
        stripped = _TRAILING.sub("", _LEADING.sub("", text))
        if stripped == text:
            break
        text = stripped
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    value = float(match["num"].replace(",", "") + (match["exp"] or ""))
    suffix = match["suffix"]
    if suffix and suffix != "%":
        value *= _SCALE[suffix.lower()]
    if match["sign"] and match["sign"] != "+":
        value = -value
    return value if math.isfinite(value) else None


def raw_text(raw: object) -> str:
    """The raw cell as a string: numbers written back as the archive wrote them."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


# New-style ids (0704.0001 onwards, 4 or 5 digits after the dot) and old-style
# archive/YYMMNNN ids, optionally with a subject class (math.GT/0309136) and a version.
_ARXIV_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.|browse\.|ar5iv\.labs\.|ar5iv\.)?arxiv\.org/"
    r"(?:abs|pdf|html|format|ps)/" + _ARXIV_ID + r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_ARXIV_IN_TEXT = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/" + _ARXIV_ID + r"(?:\.pdf)?(?!\w)",
    re.IGNORECASE,
)
_ARXIV_BARE = re.compile(r"^(?:arxiv:\s*)?" + _ARXIV_ID + r"$", re.IGNORECASE)


def _canonical(arxiv_id: str) -> str:
    if "/" in arxiv_id:
        archive, number = arxiv_id.split("/", 1)
        return f"{archive.split('.', 1)[0].lower()}/{number}"  # math.GT/0309136 -> math/0309136
    return arxiv_id


def arxiv_id_from_url(url: str | None) -> str | None:
    """The versionless arXiv id of an arxiv.org abs/pdf URL (any host spelling), else None."""
    if not url or not isinstance(url, str):
        return None
    match = _ARXIV_URL.match(url.strip())
    return _canonical(match["id"]) if match else None


def find_arxiv_url(text: str | None) -> tuple[str, str] | None:
    """(the first arXiv abs/pdf URL inside free text, its versionless id), else None.

    For fields that hold more than a URL, e.g. "(Singapore Management University) https://arxiv.org/abs/1608.07905".
    """
    if not text or not isinstance(text, str):
        return None
    match = _ARXIV_IN_TEXT.search(text)
    return (match.group(0), _canonical(match["id"])) if match else None


def normalise_arxiv_id(text: str | None) -> str | None:
    """A bare id ("1601.02063v2", "arXiv:cs/9301114") or arXiv URL -> versionless id."""
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    match = _ARXIV_BARE.match(text)
    if match:
        return _canonical(match["id"])
    return arxiv_id_from_url(text)


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp from an API ("2024-12-19T10:00:00Z") as aware UTC; None if unusable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_ARXIV_YYMM = re.compile(r"(?:^|/)(\d{2})(\d{2})(?:\.\d{4,5}|\d{3})(?:v\d+)?$")


def arxiv_month(arxiv_id: str | None) -> date | None:
    """The first day of the month an arXiv id was issued in ("2411.17700" -> 2024-11-01, "cs/9301114" -> 1993-01-01)."""
    match = _ARXIV_YYMM.search(arxiv_id or "")
    if match is None:
        return None
    yy, mm = int(match.group(1)), int(match.group(2))
    if not 1 <= mm <= 12:
        return None
    return date((1900 if yy >= 91 and "/" in (arxiv_id or "") else 2000) + yy, mm, 1)


# Hosts whose pages are papers (preprint servers, DOIs, venues' proceedings); anything else a "paper"
# link points at (a lab's homepage, a blog, http://tia.today) is shown as a link, not as the paper.
PAPER_HOSTS = (
    "arxiv.org", "doi.org", "openreview.net", "aclanthology.org", "aclweb.org", "neurips.cc", "nips.cc",
    "mlr.press", "thecvf.com", "ieeexplore.ieee.org", "dl.acm.org", "springer.com", "sciencedirect.com",
    "aaai.org", "ijcai.org", "jmlr.org", "biorxiv.org", "medrxiv.org", "semanticscholar.org",
    "paperswithcode.com", "iclr.cc", "isca-speech.org", "bmva.org", "nature.com", "science.org", "ecva.net",
)


def is_paper_url(url: str | None) -> bool:
    """True for a link to a paper: a known paper host or a PDF."""
    if not url:
        return False
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    if any(host == h or host.endswith("." + h) for h in PAPER_HOSTS):
        return True
    return url.lower().split("?", 1)[0].endswith(".pdf")
