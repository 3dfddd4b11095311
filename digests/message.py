"""The platform-neutral message: what commands, digests and alerts produce.

Renderers (bot/render/slack.py, discord.py, terminal.py) turn a Message into Block Kit,
embeds or terminal output within each platform's limits. Inline text uses a small Markdown
subset: `**bold**`, `_italic_`, `` `code` ``, `[text](url)` and `**[text](url)**`;
renderers translate it. Text that comes from outside (paper titles, model names) is never
pasted into that Markdown raw: `md_escape` makes it literal and `md_link` writes a link
from its text and URL; list entries with a linked title (digest and trending papers) are
`Item` blocks, which keep the title and the URLs as data. A Message round-trips through
JSON (`to_dict` / `from_dict`) because the outbox stores it as the delivery payload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MD_ESCAPABLE = "\\`*_[]()~|>#"
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "|": "%7C", "\n": "", "\r": ""}


def md_escape(text: str) -> str:
    """Arbitrary text (a title, a model name, a user's query) made literal in the neutral Markdown."""
    return "".join("\\" + c if c in MD_ESCAPABLE else c for c in text)


def md_url(url: str) -> str:
    """A URL that cannot end the `(url)` part of a link early."""
    return "".join(_URL_UNSAFE.get(c, c) for c in url.strip())


def md_link(text: str, url: str | None, *, strong: bool = False) -> str:
    """A link in the neutral Markdown from plain `text` and a URL; plain (escaped) text without a URL."""
    label = md_escape(" ".join(text.split())) or md_escape(url or "")
    if not url or not url.strip().lower().startswith(("https://", "http://", "mailto:")):
        return f"**{label}**" if strong and label else label
    link = f"[{label}]({md_url(url)})"
    return f"**{link}**" if strong else link


@dataclass
class Link:
    """A link as data: the words shown and where they point."""

    text: str
    url: str

    def markdown(self) -> str:
        return md_link(self.text, self.url)


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


@dataclass
class Item:
    """One entry of a list (a digest or trending paper): a linked title, then its facts.

    `title` and `byline` are plain text (never Markdown), `url` and `links` are data, and
    `note` is neutral inline Markdown for the small facts (stars, "(official)"). Renderers
    write the title as a bold native link and the links after it.
    """

    title: str
    url: str | None = None
    byline: str = ""
    links: list[Link] = field(default_factory=list)
    note: str = ""
    rank: str = ""
    type: Literal["item"] = "item"

    @property
    def text(self) -> str:
        """The entry's inline Markdown, like every text-bearing block's `text`."""
        return self.markdown()

    def markdown(self) -> str:
        """The entry as neutral inline Markdown: every outside string escaped, links whole."""
        head = md_link(self.title or "Untitled", self.url, strong=True)
        if self.rank:
            head = f"`{self.rank}` {head}"
        if self.byline.strip():
            head += " — " + md_escape(" ".join(self.byline.split()))
        facts = " · ".join(link.markdown() for link in self.links)
        tail = (facts + self.note).strip()
        return head + (f"\n{tail}" if tail else "")


@dataclass
class Control:
    """A button (`options` empty) or a menu of (label, value) options; `value` and each option's
    value carry the whole state the click needs, so a control still works after a restart."""

    action: str  # e.g. "sota.more"; bot.commands.actions knows them all
    label: str
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    selected: str | None = None  # the option value shown as chosen


@dataclass
class Actions:
    """A row of controls under a message (Block Kit actions, a Discord View)."""

    controls: list[Control]
    type: Literal["actions"] = "actions"


Block = Header | Section | Fields | Table | Context | Divider | Image | Item | Actions
_BLOCK_TYPES: dict[str, type] = {
    "header": Header, "section": Section, "fields": Fields, "table": Table,
    "context": Context, "divider": Divider, "image": Image, "item": Item, "actions": Actions,
}


@dataclass
class Message:
    """`text` is the plain fallback used for notifications and screen readers.

    `thread` holds what goes under the message rather than in the channel: a digest is one
    short parent message (its headline) with the full lists posted as replies in its thread,
    so a big day never floods the channel. Platforms without threads post it after the parent.
    """

    text: str
    blocks: list[Block] = field(default_factory=list)
    ephemeral: bool = False  # visible only to the person who asked, where supported
    kind: str = "reply"  # reply | error | usage | digest | alert
    thread: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            text=data["text"],
            blocks=_blocks_from(data.get("blocks", [])),
            ephemeral=data.get("ephemeral", False),
            kind=data.get("kind", "reply"),
            thread=_blocks_from(data.get("thread", [])),
        )

    @classmethod
    def error(cls, text: str, usage: str | None = None) -> Message:
        """A short answer to bad input: what went wrong and, if given, the usage line."""
        blocks: list[Block] = [Section(text)]
        if usage:
            blocks.append(Context(f"Usage: `{usage}`"))
        return cls(text=text, blocks=blocks, ephemeral=True, kind="error")


def _blocks_from(raws: list[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = []
    for raw in raws:
        raw = dict(raw)
        block_type = _BLOCK_TYPES[raw.pop("type")]
        if block_type is Fields:
            raw["pairs"] = [tuple(p) for p in raw["pairs"]]
        if block_type is Item:
            raw["links"] = [Link(**link) for link in raw.get("links", [])]
        if block_type is Actions:
            raw["controls"] = [Control(**{**c, "options": [tuple(o) for o in c.get("options", [])]})
                               for c in raw.get("controls", [])]
        blocks.append(block_type(**raw))
    return blocks
