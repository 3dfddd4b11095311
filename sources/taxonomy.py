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
