"""Slack's and Discord's documented message limits, checked independently of the renderers.

The numbers are written out here on purpose (not imported from bot.render_*), so a renderer
constant changed by mistake makes the tests fail instead of moving the goalposts.
"""

from __future__ import annotations

from typing import Any

import discord

from sotabot.bot.render.discord import DiscordPayload

# https://api.slack.com/reference/block-kit/blocks
SLACK = {
    "blocks": 50, "section_text": 3000, "header_text": 150, "fields": 10, "field_text": 2000,
    "context_elements": 10, "context_text": 3000, "image_url": 3000, "alt_text": 2000, "message_text": 40000,
}
# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD = {
    "title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
    "footer": 2048, "total": 6000, "embeds": 10, "content": 2000, "files": 10,
}


def slack_texts(payloads: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn/plain text a user reads in Slack payloads: block text, fields, context elements."""
    out = []
    for p in payloads:
        for b in p.get("blocks", []):
            if "text" in b:
                out.append(b["text"]["text"])
            out.extend(f["text"] for f in b.get("fields", []))
            out.extend(e["text"] for e in b.get("elements", []) if "text" in e)
    return out


def slack_problems(payloads: list[dict[str, Any]]) -> list[str]:
    """Every way these payloads break a Slack limit (empty when they are fine)."""
    bad: list[str] = []
    if not payloads:
        return ["no payload"]
    for n, p in enumerate(payloads):
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            bad.append(f"#{n}: no plain text fallback")
        elif len(text) > SLACK["message_text"]:
            bad.append(f"#{n}: text {len(text)}")
        blocks = p.get("blocks", [])
        if len(blocks) > SLACK["blocks"]:
            bad.append(f"#{n}: {len(blocks)} blocks")
        for b in blocks:
            kind = b["type"]
            if kind == "header":
                t = b["text"]["text"]
                if b["text"]["type"] != "plain_text" or not t.strip() or len(t) > SLACK["header_text"]:
                    bad.append(f"#{n}: header {len(t)}")
            elif kind == "section":
                if "text" in b:
                    t = b["text"]["text"]
                    if not t.strip() or len(t) > SLACK["section_text"]:
                        bad.append(f"#{n}: section text {len(t)}")
                fields = b.get("fields", [])
                if "text" not in b and not fields:
                    bad.append(f"#{n}: empty section")
                if len(fields) > SLACK["fields"]:
                    bad.append(f"#{n}: {len(fields)} fields")
                for f in fields:
                    if not f["text"].strip() or len(f["text"]) > SLACK["field_text"]:
                        bad.append(f"#{n}: field {len(f['text'])}")
            elif kind == "context":
                elements = b["elements"]
                if not elements or len(elements) > SLACK["context_elements"]:
                    bad.append(f"#{n}: {len(elements)} context elements")
                for e in elements:
                    if not e["text"].strip() or len(e["text"]) > SLACK["context_text"]:
                        bad.append(f"#{n}: context text {len(e['text'])}")
            elif kind == "image":
                url = b.get("image_url", "")
                slack_file = b.get("slack_file") or {}
                if slack_file:  # an uploaded file, by id or url (exactly one image source)
                    if url or not (slack_file.get("id") or slack_file.get("url")):
                        bad.append(f"#{n}: image with a bad slack_file")
                elif not url.startswith(("https://", "http://")) or len(url) > SLACK["image_url"]:
                    bad.append(f"#{n}: image without a public URL")
                if not b.get("alt_text") or len(b["alt_text"]) > SLACK["alt_text"]:
                    bad.append(f"#{n}: alt text")
            elif kind == "actions":
                elements = b.get("elements", [])
                if not elements or len(elements) > 25:
                    bad.append(f"#{n}: {len(elements)} action elements")
                for e in elements:
                    if len(e.get("options", [])) > 100 or any(len(o["value"]) > 150 for o in e.get("options", [])):
                        bad.append(f"#{n}: select options")
            elif kind != "divider":
                bad.append(f"#{n}: unknown block {kind}")
        for f in p.get("files", []):
            if f.get("type") != "file" or not f.get("path"):
                bad.append(f"#{n}: bad file marker {f}")
    return bad


def discord_problems(payloads: list[DiscordPayload]) -> list[str]:
    """Every way these payloads break a Discord limit, measured on the real discord.Embed objects."""
    bad: list[str] = []
    if not payloads:
        return ["no payload"]
    for n, p in enumerate(payloads):
        if not p.embeds and not (p.content and p.content.strip()) and not p.files:
            bad.append(f"#{n}: empty message")
        if p.content is not None and len(p.content) > DISCORD["content"]:
            bad.append(f"#{n}: content {len(p.content)}")
        if len(p.embeds) > DISCORD["embeds"]:
            bad.append(f"#{n}: {len(p.embeds)} embeds")
        if len(p.files) > DISCORD["files"]:
            bad.append(f"#{n}: {len(p.files)} files")
        total = sum(len(e) for e in p.embeds)
        if total > DISCORD["total"]:
            bad.append(f"#{n}: {total} characters over all embeds")
        names = {f.rsplit("/", 1)[-1] for f in p.files}
        for e in p.embeds:
            if not isinstance(e, discord.Embed):
                bad.append(f"#{n}: not a discord.Embed")
                continue
            if e.title and len(e.title) > DISCORD["title"]:
                bad.append(f"#{n}: title {len(e.title)}")
            if e.description and len(e.description) > DISCORD["description"]:
                bad.append(f"#{n}: description {len(e.description)}")
            if len(e.fields) > DISCORD["fields"]:
                bad.append(f"#{n}: {len(e.fields)} fields")
            for f in e.fields:
                if not f.name or not f.name.strip() or len(f.name) > DISCORD["field_name"]:
                    bad.append(f"#{n}: field name {f.name!r}")
                if not f.value or not f.value.strip() or len(f.value) > DISCORD["field_value"]:
                    bad.append(f"#{n}: field value {len(f.value or '')}")
            if e.footer.text and len(e.footer.text) > DISCORD["footer"]:
                bad.append(f"#{n}: footer {len(e.footer.text)}")
            if len(e) == 0 and not e.image:
                bad.append(f"#{n}: empty embed")
            url = e.image.url or ""
            if url.startswith("attachment://") and url.removeprefix("attachment://") not in names:
                bad.append(f"#{n}: {url} not attached")
            if len(e.to_dict().get("description", "")) != len(e.description or ""):
                bad.append(f"#{n}: description changed on serialisation")
    return bad
