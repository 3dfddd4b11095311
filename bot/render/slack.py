"""Message -> Slack Block Kit payloads, each within Slack's limits.

Slack rejects a whole message when one block breaks a limit, so every limit is a named
constant here and enforced by construction: long text is split over several sections,
more than 50 blocks over several messages, and every payload carries a plain `text`
fallback for notifications. Local images cannot go in an image block (Slack needs a public
URL), so they travel as `{"type": "file", "path": ...}` markers under "files" for the
Slack adapter to upload.
"""

from __future__ import annotations

import re
from typing import Any

from sotabot.bot.render.inline import ELLIPSIS, Flavour, Span, escape, plain_text, render, split, truncate
from sotabot.bot.render.table import code_blocks
from sotabot.digests.message import (
    Actions,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Item,
    Message,
    Section,
    Table,
)

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_TEXT = 3000
SLACK_MAX_HEADER_TEXT = 150
SLACK_MAX_FIELDS = 10
SLACK_MAX_FIELD_TEXT = 2000
SLACK_MAX_CONTEXT_ELEMENTS = 10
SLACK_MAX_CONTEXT_TEXT = 3000
SLACK_MAX_IMAGE_URL = 3000
SLACK_MAX_ALT_TEXT = 2000
SLACK_MAX_ACTION_ELEMENTS = 25
SLACK_MAX_OPTIONS = 100
SLACK_MAX_OPTION_TEXT = 75
SLACK_MAX_BUTTON_TEXT = 75
SLACK_MAX_VALUE = 150  # option values; button values may be 2000
SLACK_MAX_FALLBACK_TEXT = 3000  # Slack truncates at 40,000; notifications need far less

_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_URL_UNSAFE = {" ": "%20", "|": "%7C", "<": "%3C", ">": "%3E", "\n": "", "\r": ""}


def _url(url: str) -> str:
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


# Slack mrkdwn has no escape character. A marker at a word's edge (where Slack would open or
# close formatting: "_Any_", "~x~") is written as a look-alike, and so is every marker inside
# a formatted span that would close it early, so "A*B" in a bold title stays "A∗B", never "AB";
# markers inside words ("resnet_50", "A*B" in plain text) are inert and stay as they are.
_LOOKALIKE = {"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"}
_EDGE_MARKER = re.compile(r"`|(?<!\w)[*_~]|[*_~](?!\w)")


class SlackMrkdwn(Flavour):
    """Slack mrkdwn: `*bold*`, `_italic_`, `<url|text>`, with &, <, > escaped."""

    table = str.maketrans(_ESC)

    def text(self, s: str) -> str:
        return _EDGE_MARKER.sub(lambda m: _LOOKALIKE[m.group()], s).translate(self.table)

    def literal(self, s: str) -> str:
        """Inside code: only &, <, > need escaping."""
        return s.translate(self.table)

    def _inner(self, text: str, *markers: str) -> str:
        text = text.strip()
        for marker in markers:
            text = text.replace(marker, _LOOKALIKE[marker])
        return self.text(text)

    def span(self, span: Span) -> str:
        if span.kind == "bold":
            inner = self._inner(span.text, "*")
            return f"*{inner}*" if inner else ""
        if span.kind == "italic":
            inner = self._inner(span.text, "_")
            return f"_{inner}_" if inner else ""
        if span.kind == "code":
            return "`" + self.literal(span.text.replace("`", "ˋ")) + "`"
        if span.kind == "link" and span.url:
            label = span.text.replace("|", "¦")
            if span.strong:
                return f"*<{_url(span.url)}|{self._inner(label, '*')}>*"
            return f"<{_url(span.url)}|{self.text(label)}>"
        return self.text(span.text)


MRKDWN = SlackMrkdwn()


def mrkdwn(md: str) -> str:
    """Neutral inline Markdown as Slack mrkdwn (no length limit)."""
    return render(md, MRKDWN)


def _plain(md: str, limit: int) -> str:
    text = " ".join(plain_text(md).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _plain(text, limit) or "…"}


def _actions(block: Actions) -> list[dict[str, Any]]:
    """Block Kit actions: a static_select per menu, a button per button; values carry the state."""
    elements: list[dict[str, Any]] = []
    for control in block.controls[:SLACK_MAX_ACTION_ELEMENTS]:
        if control.options:
            options = [{"text": _plain_text(label, SLACK_MAX_OPTION_TEXT), "value": value[:SLACK_MAX_VALUE]}
                       for label, value in control.options[:SLACK_MAX_OPTIONS]]
            element: dict[str, Any] = {"type": "static_select", "action_id": control.action,
                                       "placeholder": _plain_text(control.label, SLACK_MAX_OPTION_TEXT),
                                       "options": options}
            chosen = next((o for o in options if o["value"] == control.selected), None)
            if chosen is not None:
                element["initial_option"] = chosen
        else:
            element = {"type": "button", "action_id": control.action,
                       "text": _plain_text(control.label, SLACK_MAX_BUTTON_TEXT), "value": control.value}
        elements.append(element)
    return [{"type": "actions", "elements": elements}] if elements else []


def _blocks_for(block: object, files: list[dict[str, str]]) -> list[dict[str, Any]]:
    if isinstance(block, Actions):
        return _actions(block)
    if isinstance(block, Item):
        block = Section(block.markdown())
    if isinstance(block, Header):
        text = _plain(block.text, SLACK_MAX_HEADER_TEXT)
        return [{"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}] if text else []
    if isinstance(block, Section):
        return [_section(chunk) for chunk in split(block.text, SLACK_MAX_SECTION_TEXT, MRKDWN) if chunk.strip()]
    if isinstance(block, Fields):
        fields = []
        for label, value in block.pairs:
            md = f"**{label}**\n{value}" if plain_text(label).strip() else value
            text = truncate(md, SLACK_MAX_FIELD_TEXT, MRKDWN)
            if text.strip():
                fields.append({"type": "mrkdwn", "text": text})
        return [
            {"type": "section", "fields": fields[i : i + SLACK_MAX_FIELDS]}
            for i in range(0, len(fields), SLACK_MAX_FIELDS)
        ]
    if isinstance(block, Table):
        return [_section(t) for t in code_blocks(block, SLACK_MAX_SECTION_TEXT, MRKDWN.literal)]
    if isinstance(block, Context):
        chunks = [c for c in split(block.text, SLACK_MAX_CONTEXT_TEXT, MRKDWN) if c.strip()]
        groups = [chunks[i : i + SLACK_MAX_CONTEXT_ELEMENTS] for i in range(0, len(chunks), SLACK_MAX_CONTEXT_ELEMENTS)]
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": c} for c in group]} for group in groups]
    if isinstance(block, Divider):
        return [{"type": "divider"}]
    if isinstance(block, Image):
        alt = _plain(block.alt, SLACK_MAX_ALT_TEXT) or "image"
        url = block.url or ""
        if url.startswith(("https://", "http://")) and len(url) <= SLACK_MAX_IMAGE_URL and " " not in url:
            return [{"type": "image", "image_url": url, "alt_text": alt}]
        if block.path:
            files.append({"type": "file", "path": block.path, "alt": alt})
        return []
    return []


def _drop_edge_dividers(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while blocks and blocks[0]["type"] == "divider":
        blocks = blocks[1:]
    while blocks and blocks[-1]["type"] == "divider":
        blocks = blocks[:-1]
    return blocks


def render_slack(msg: Message) -> list[dict[str, Any]]:
    """chat.postMessage / respond payloads: {"text", "blocks"} (+ "files" markers on the first).

    A message with a `thread` gets its thread's payloads after its own, marked `"thread": True`:
    the sender posts those as replies (`thread_ts`) to the first payload.
    """
    payloads = _render(msg)
    if msg.thread:
        replies = _render(Message(text=msg.text, blocks=list(msg.thread), kind=msg.kind))
        payloads += [{**p, "thread": True} for p in replies if p.get("blocks")]
    return payloads


def _render(msg: Message) -> list[dict[str, Any]]:
    files: list[dict[str, str]] = []
    blocks: list[dict[str, Any]] = []
    for block in msg.blocks:
        blocks.extend(_blocks_for(block, files))
    if not blocks and msg.text.strip():
        blocks = [_section(c) for c in split(msg.text, SLACK_MAX_SECTION_TEXT, MRKDWN) if c.strip()]
    chunks = [
        _drop_edge_dividers(blocks[i : i + SLACK_MAX_BLOCKS]) for i in range(0, len(blocks), SLACK_MAX_BLOCKS)
    ]
    chunks = [c for c in chunks if c] or [[]]
    base = msg.text if plain_text(msg.text).strip() else _first_text(msg) or "sotabot"
    payloads: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        suffix = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        room = SLACK_MAX_FALLBACK_TEXT - len(suffix)
        text = truncate(base, room, MRKDWN)
        if not text.strip():  # markers around nothing ("****") render to nothing
            text = truncate(escape(plain_text(base)), room, MRKDWN).strip() or "sotabot"
        text += suffix
        payload: dict[str, Any] = {"text": text}
        if chunk:
            payload["blocks"] = chunk
        payloads.append(payload)
    if files:
        payloads[0]["files"] = files
    return payloads


def _first_text(msg: Message) -> str:
    for block in msg.blocks:
        text = getattr(block, "text", "")
        if plain_text(text).strip():
            return text
    return ""
