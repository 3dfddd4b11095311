"""Message -> Discord payloads of real `discord.Embed` objects, each within Discord's limits.

Discord rejects a message whose embeds break any limit (6000 characters across all embeds
of one message is the one people forget), so every limit is a named constant, embeds are
filled until the next piece would not fit, and the overflow starts a new embed or a new
payload. Local images are attached files referenced as `attachment://NAME`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import discord

from sotabot.bot.render.inline import ELLIPSIS, Flavour, Span, plain_text, split, truncate
from sotabot.bot.render.table import code_blocks
from sotabot.digests.message import Context, Divider, Fields, Header, Image, Item, Message, Section, Table

DISCORD_MAX_TITLE = 256
DISCORD_MAX_DESCRIPTION = 4096
DISCORD_MAX_FIELDS = 25
DISCORD_MAX_FIELD_NAME = 256
DISCORD_MAX_FIELD_VALUE = 1024
DISCORD_MAX_FOOTER = 2048
DISCORD_MAX_EMBED_TOTAL = 6000  # per message, summed over all its embeds
DISCORD_MAX_EMBEDS = 10
DISCORD_MAX_CONTENT = 2000
DISCORD_MAX_URL = 2048

COLOURS = {"error": 0xE74C3C, "usage": 0xE67E22, "digest": 0x2ECC71, "alert": 0xF1C40F}
DEFAULT_COLOUR = 0x5865F2

_ESCAPE = set("\\*_~`|>#[]")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "\n": "", "\r": ""}


@dataclass
class DiscordPayload:
    """One Discord message: `files` are local paths to attach (referenced by the embeds)."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    thread: bool = False  # a reply in the thread of the message's first payload


class DiscordMarkdown(Flavour):
    """Discord Markdown with literal text backslash-escaped, so model names never format."""

    table = {ord(c): "\\" + c for c in _ESCAPE}

    def _inner(self, text: str) -> str:
        return self.text(text.strip())

    def span(self, span: Span) -> str:
        if span.kind == "bold":
            inner = self._inner(span.text)
            return f"**{inner}**" if inner else ""
        if span.kind == "italic":
            inner = self._inner(span.text)
            return f"*{inner}*" if inner else ""
        if span.kind == "code":
            return "`" + span.text.replace("`", "ˋ") + "`"
        if span.kind == "link" and span.url:
            url = "".join(_URL_UNSAFE.get(c, c) for c in span.url)
            link = f"[{self._inner(span.text) or url}]({url})"
            return f"**{link}**" if span.strong else link
        return self.text(span.text)


MARKDOWN = DiscordMarkdown()


def _plain(md: str, limit: int) -> str:
    text = " ".join(plain_text(md).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


class _Builder:
    """Fills embeds in order; a piece that does not fit starts the next embed."""

    def __init__(self, colour: int) -> None:
        self.colour = colour
        self.embeds: list[discord.Embed] = []
        self.files: dict[int, str] = {}  # embed index -> local path
        self.cur: discord.Embed | None = None

    def new(self, title: str | None = None) -> discord.Embed:
        embed = discord.Embed(colour=self.colour, title=title or None)
        self.embeds.append(embed)
        self.cur = embed
        return embed

    def _empty(self, e: discord.Embed) -> bool:
        return len(e) == 0 and not e.image

    def header(self, text: str) -> None:
        title = _plain(text, DISCORD_MAX_TITLE)
        if not title:
            return
        if self.cur is not None and self._empty(self.cur):
            self.cur.title = title
        else:
            self.new(title)

    def text(self, rendered: str) -> None:
        e = self.cur
        if e is None or e.fields or e.image or e.footer.text:
            e = self.new()
        desc = e.description or ""
        sep = "\n\n" if desc else ""
        if len(desc) + len(sep) + len(rendered) > DISCORD_MAX_DESCRIPTION or (
            len(e) + len(sep) + len(rendered) > DISCORD_MAX_EMBED_TOTAL
        ):
            e, desc, sep = self.new(), "", ""
        e.description = desc + sep + rendered

    def add_field(self, name: str, value: str) -> None:
        e = self.cur
        if e is None or e.image or e.footer.text or len(e.fields) >= DISCORD_MAX_FIELDS:
            e = self.new()
        if len(e) + len(name) + len(value) > DISCORD_MAX_EMBED_TOTAL:
            e = self.new()
        e.add_field(name=name, value=value, inline=True)

    def footer(self, text: str) -> None:
        e = self.cur
        if e is None or e.footer.text or len(e) + len(text) > DISCORD_MAX_EMBED_TOTAL:
            e = self.new()
        e.set_footer(text=text)

    def image(self, url: str, path: str | None = None) -> None:
        e = self.cur
        if e is None or e.image or e.footer.text:
            e = self.new()
        e.set_image(url=url)
        if path:
            self.files[len(self.embeds) - 1] = path


def _trailing_context(blocks: list[object]) -> int:
    """Index from which every block is Context: those become the footer."""
    i = len(blocks)
    while i > 0 and isinstance(blocks[i - 1], Context):
        i -= 1
    return i


def render_discord(msg: Message) -> list[DiscordPayload]:
    """Payloads in order; each has at most 10 embeds and 6000 embed characters. A message's
    `thread` comes after its own payloads, marked `thread=True`."""
    payloads = _render(msg)
    if msg.thread:
        for payload in _render(Message(text=msg.text, blocks=list(msg.thread), kind=msg.kind)):
            if payload.embeds:
                payload.thread = True
                payloads.append(payload)
    return payloads


def _render(msg: Message) -> list[DiscordPayload]:
    b = _Builder(COLOURS.get(msg.kind, DEFAULT_COLOUR))
    blocks: list[object] = list(msg.blocks)
    foot_from = _trailing_context(blocks)
    used_names: set[str] = set()
    for idx, block in enumerate(blocks):
        if isinstance(block, Item):
            block = Section(block.markdown())
        if isinstance(block, Header):
            b.header(block.text)
        elif isinstance(block, Section) or (isinstance(block, Context) and idx < foot_from):
            for chunk in split(block.text, DISCORD_MAX_DESCRIPTION, MARKDOWN):
                if chunk.strip():
                    b.text(chunk)
        elif isinstance(block, Fields):
            for label, value in block.pairs:
                name = truncate(label, DISCORD_MAX_FIELD_NAME, MARKDOWN).strip() or "\u200b"
                val = truncate(value, DISCORD_MAX_FIELD_VALUE, MARKDOWN).strip() or "\u200b"
                b.add_field(name, val)
        elif isinstance(block, Table):
            for code in code_blocks(block, DISCORD_MAX_DESCRIPTION):
                b.text(code)
        elif isinstance(block, Image):
            url = block.url or ""
            if url.startswith(("https://", "http://")) and len(url) <= DISCORD_MAX_URL and " " not in url:
                b.image(url)
            elif block.path:
                name = _attachment_name(block.path, used_names)
                b.image(f"attachment://{name}", block.path)
        elif isinstance(block, Divider):
            continue
    footer_parts = [" ".join(plain_text(c.text).split()) for c in blocks[foot_from:] if isinstance(c, Context)]
    footer = " · ".join(p for p in footer_parts if p)
    if footer:
        b.footer(_plain(footer, DISCORD_MAX_FOOTER))
    embeds = [(i, e) for i, e in enumerate(b.embeds) if len(e) or e.image]
    if not embeds:
        content = _defuse(" ".join(plain_text(msg.text).split()))
        if len(content) > DISCORD_MAX_CONTENT:
            content = content[: DISCORD_MAX_CONTENT - 1].rstrip() + ELLIPSIS
        return [DiscordPayload(content=content or "…")]
    payloads: list[DiscordPayload] = []
    cur: DiscordPayload | None = None
    total = 0
    for i, embed in embeds:
        size = len(embed)
        if cur is None or len(cur.embeds) >= DISCORD_MAX_EMBEDS or total + size > DISCORD_MAX_EMBED_TOTAL:
            cur = DiscordPayload()
            payloads.append(cur)
            total = 0
        cur.embeds.append(embed)
        total += size
        if i in b.files:
            cur.files.append(b.files[i])
    return payloads


def _attachment_name(path: str, used: set[str]) -> str:
    """The file name Discord will see; must match what the adapter uploads (the basename)."""
    name = os.path.basename(path) or "image.png"
    used.add(name)
    return name


def _defuse(text: str) -> str:
    """Plain content must never ping a whole server."""
    return text.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")
