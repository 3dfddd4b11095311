"""The neutral inline Markdown of digests/message.py, parsed once and re-rendered per platform.

Messages carry `**bold**`, `_italic_`, `` `code` ``, `[text](url)` and the bold link
`**[text](url)**` (a Span "link" with `strong`); a backslash escapes a marker, also inside a
link's text, so any title survives `md_link`. Slack wants mrkdwn (`*bold*`, `<url|text>`,
`&<>` escaped), Discord wants its own Markdown with user text escaped, headers and footers
want plain text. Truncating and
splitting work on rendered spans so a cut never lands inside a link or an escape sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sotabot.digests.message import md_escape

ELLIPSIS = "…"

SpanKind = Literal["text", "bold", "italic", "code", "link"]


@dataclass(frozen=True)
class Span:
    kind: SpanKind
    text: str
    url: str | None = None
    strong: bool = False  # a bold link


_LTEXT = r"(?:\\[\\`*_\[\]()~|>#]|[^\[\]\n\\]|\\(?![\\`*_\[\]()~|>#])){1,500}"  # escapes allowed
_LURL = r"(?:[^()\s]|\([^()\s]{0,200}\)){1,2000}"
# Spans are bounded in length so that text full of unmatched markers stays linear to parse.
_TOKEN = re.compile(
    r"(?P<esc>\\[\\`*_\[\]()~|>#])"
    r"|`(?P<code>[^`\n]{1,500})`"
    r"|\*\*\[(?P<stext>" + _LTEXT + r")\]\((?P<surl>" + _LURL + r")\)\*\*"
    r"|\*\*(?P<bold>[^\n]{1,500}?)\*\*"
    r"|(?<![\w\\])_(?P<italic>[^\s_](?:[^\n]{0,200}?[^\s\\])?)_(?!\w)"
    r"|\[(?P<ltext>" + _LTEXT + r")\]\((?P<url>" + _LURL + r")\)"
)
_SAFE_URL = re.compile(r"^(https?|mailto):", re.IGNORECASE)
_ESCAPES = re.compile(r"\\([\\`*_\[\]()~|>#])")


def unescape(text: str) -> str:
    return _ESCAPES.sub(r"\1", text)


escape = md_escape  # arbitrary text made literal inside neutral Markdown


_MARKER = re.compile(r"[\\`*_\[]")


def parse_inline(md: str) -> tuple[Span, ...]:
    """Spans of the neutral Markdown; anything that is not a well-formed marker stays text."""
    if not _MARKER.search(md):
        return (Span("text", md),) if md else ()
    return _parse_cached(md) if len(md) <= 2000 else tuple(_parse(md))


@lru_cache(maxsize=4096)  # Slack and Discord render the same short texts of one reply
def _parse_cached(md: str) -> tuple[Span, ...]:
    return tuple(_parse(md))


def _parse(md: str) -> list[Span]:
    spans: list[Span] = []
    buf: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(md):
        buf.append(md[pos : m.start()])
        pos = m.end()
        if m.group("esc"):
            buf.append(m.group("esc")[1])
            continue
        kind: SpanKind
        url = None
        strong = False
        if m.group("code") is not None:
            kind, inner = "code", m.group("code")
        elif m.group("bold") is not None:
            kind, inner = "bold", unescape(m.group("bold"))
        elif m.group("italic") is not None:
            kind, inner = "italic", unescape(m.group("italic"))
        else:
            strong = m.group("stext") is not None
            kind = "link"
            inner = unescape(m.group("stext") if strong else m.group("ltext"))
            url = m.group("surl") if strong else m.group("url")
            if not _SAFE_URL.match(url):
                buf.append(inner)
                continue
        if not inner.strip():
            buf.append(inner)
            continue
        if buf and "".join(buf):
            spans.append(Span("text", "".join(buf)))
        buf = []
        spans.append(Span(kind, inner, url, strong))
    buf.append(md[pos:])
    tail = "".join(buf)
    if tail:
        spans.append(Span("text", tail))
    return _merge_text(spans)


def _merge_text(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if out and span.kind == "text" and out[-1].kind == "text":
            out[-1] = Span("text", out[-1].text + span.text)
        else:
            out.append(span)
    return out


def plain_text(md: str) -> str:
    """The words without markers, for headers, footers and notification text."""
    return "".join(span.text for span in parse_inline(md))


class Flavour:
    """How one platform writes each span; `table` escapes literal characters (str.translate)."""

    table: dict[int, str] = {}

    def char(self, c: str) -> str:
        return self.table.get(ord(c), c)

    def text(self, s: str) -> str:
        return s.translate(self.table) if self.table else s

    def span(self, span: Span) -> str:
        return self.text(span.text)


PLAIN = Flavour()


def render(md: str, flavour: Flavour) -> str:
    return "".join(flavour.text(s.text) if s.kind == "text" else flavour.span(s) for s in parse_inline(md))


@dataclass
class _Piece:
    """A rendered span: breakable text (cut between characters) or an atomic formatted span."""

    rendered: str
    raw: str | None  # the source characters of breakable text
    flavour: Flavour
    fallback: _Piece | None = None  # an atomic span's text, used when the span cannot fit whole
    _atoms: list[str] | None = None

    @property
    def size(self) -> int:
        return len(self.rendered)

    def atoms(self) -> list[str]:
        """Rendered characters, computed only for the piece that has to be cut."""
        if self._atoms is None:
            self._atoms = [self.flavour.char(c) for c in self.raw] if self.raw is not None else [self.rendered]
        return self._atoms


def _pieces(md: str, flavour: Flavour) -> list[_Piece]:
    out: list[_Piece] = []
    for span in parse_inline(md):
        if span.kind == "text":
            out.append(_Piece(flavour.text(span.text), span.text, flavour))
        else:
            fb = _Piece(flavour.text(span.text), span.text, flavour)
            out.append(_Piece(flavour.span(span), None, flavour, fb))
    return out


def _cut(atoms: list[str], start: int, room: int) -> int:
    """How many atoms from `start` fit in `room` characters, preferring to stop after a space."""
    used = 0
    end = start
    total = len(atoms)
    while end < total and used + len(atoms[end]) <= room:
        used += len(atoms[end])
        end += 1
    if start < end < total:
        for i in range(end, max(start, end - 40), -1):
            if atoms[i - 1].isspace():
                return i - start
    return end - start


def truncate(md: str, limit: int, flavour: Flavour = PLAIN, ellipsis: str = ELLIPSIS) -> str:
    """Render `md` in at most `limit` characters, ending with an ellipsis when cut."""
    full = render(md, flavour)
    if len(full) <= limit:
        return full
    if limit <= len(ellipsis):
        return ellipsis[:limit]
    room = limit - len(ellipsis)
    out: list[str] = []
    used = 0
    for piece in _pieces(md, flavour):
        if used + piece.size <= room:
            out.append(piece.rendered)
            used += piece.size
            continue
        candidate = piece if piece.raw is not None else piece.fallback
        if candidate is not None:
            atoms = candidate.atoms()
            out.extend(atoms[: _cut(atoms, 0, room - used)])
        break
    return "".join(out).rstrip() + ellipsis


def split(md: str, limit: int, flavour: Flavour = PLAIN) -> list[str]:
    """Render `md` as several chunks of at most `limit` characters, cutting between lines first."""
    if limit < 1:
        raise ValueError("limit must be positive")
    full = render(md, flavour)
    if len(full) <= limit:
        return [full] if full else []
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in md.split("\n"):
        rendered = render(line, flavour)
        extra = len(rendered) + (1 if current else 0)
        if size + extra <= limit:
            current.append(rendered)
            size += extra
            continue
        if current:
            chunks.append("\n".join(current))
            current, size = [], 0
        if len(rendered) <= limit:
            current, size = [rendered], len(rendered)
            continue
        parts = _split_line(line, limit, flavour)
        chunks.extend(parts[:-1])
        if parts:
            current, size = [parts[-1]], len(parts[-1])
    if current:
        chunks.append("\n".join(current))
    return [c for c in chunks if c.strip()] or [truncate(md, limit, flavour)]


def _split_line(line: str, limit: int, flavour: Flavour) -> list[str]:
    chunks: list[str] = []
    cur: list[str] = []
    used = 0

    def flush() -> None:
        nonlocal cur, used
        if cur:
            chunks.append("".join(cur))
        cur, used = [], 0

    for piece in _pieces(line, flavour):
        if used + piece.size <= limit:
            cur.append(piece.rendered)
            used += piece.size
            continue
        if piece.raw is None:
            flush()
            if piece.size <= limit:
                cur.append(piece.rendered)
                used = piece.size
                continue
            assert piece.fallback is not None
            piece = piece.fallback
        atoms = piece.atoms()
        i = 0
        while i < len(atoms):
            n = _cut(atoms, i, limit - used)
            if n == 0:
                if cur:
                    flush()
                    continue
                n = 1  # one rendered character longer than the limit: only with absurd limits
            cur.extend(atoms[i : i + n])
            used += sum(len(a) for a in atoms[i : i + n])
            i += n
            if i < len(atoms):
                flush()
    flush()
    return chunks
