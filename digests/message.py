"""The platform-neutral message: what commands, digests and alerts produce.

Renderers (bot/render_slack.py, bot/render_discord.py, bot/render_terminal.py) turn a
Message into Block Kit, embeds or terminal output within each platform's limits. Inline
text uses a small Markdown subset: `**bold**`, `_italic_`, `` `code` `` and
`[text](url)`; renderers translate it. A Message round-trips through JSON (`to_dict` /
`from_dict`) because the outbox stores it as the delivery payload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class Header:
    text: str
    type: Literal["header"] = "header"


@dataclass
class Section:
    """A paragraph of inline-Markdown text."""

    text: str
    type: Literal["section"] = "section"


@dataclass
class Fields:
    """Short label/value pairs shown side by side where the platform can."""

    pairs: list[tuple[str, str]]
    type: Literal["fields"] = "fields"


@dataclass
class Table:
    """An aligned table; cells are inline Markdown, `align` is "l" or "r" per column."""

    columns: list[str]
    rows: list[list[str]]
    align: list[str] = field(default_factory=list)
    type: Literal["table"] = "table"


@dataclass
class Context:
    """Small print: sources, dates, hints."""

    text: str
    type: Literal["context"] = "context"


@dataclass
class Divider:
    type: Literal["divider"] = "divider"


@dataclass
class Image:
    """An image: `path` is a local file to upload, `url` a public one; either may be set."""

    alt: str
    path: str | None = None
    url: str | None = None
    type: Literal["image"] = "image"


Block = Header | Section | Fields | Table | Context | Divider | Image
_BLOCK_TYPES: dict[str, type] = {
    "header": Header, "section": Section, "fields": Fields, "table": Table,
    "context": Context, "divider": Divider, "image": Image,
}


@dataclass
class Message:
    """`text` is the plain fallback used for notifications and screen readers."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    ephemeral: bool = False  # visible only to the person who asked, where supported
    kind: str = "reply"  # reply | error | usage | digest | alert

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        blocks: list[Block] = []
        for raw in data.get("blocks", []):
            raw = dict(raw)
            block_type = _BLOCK_TYPES[raw.pop("type")]
            if block_type is Fields:
                raw["pairs"] = [tuple(p) for p in raw["pairs"]]
            blocks.append(block_type(**raw))
        return cls(
            text=data["text"],
            blocks=blocks,
            ephemeral=data.get("ephemeral", False),
            kind=data.get("kind", "reply"),
        )

    @classmethod
    def error(cls, text: str, usage: str | None = None) -> Message:
        """A short answer to bad input: what went wrong and, if given, the usage line."""
        blocks: list[Block] = [Section(text)]
        if usage:
            blocks.append(Context(f"Usage: `{usage}`"))
        return cls(text=text, blocks=blocks, ephemeral=True, kind="error")
