"""Charts inside a Slack answer: uploaded first, then shown by an image block in the answer itself.

render_slack leaves local images as `{"type": "file", "path": ...}` markers (Block Kit needs
a public URL or a Slack file). `inline_files` uploads each with `files_upload_v2` *without* a
channel (so nothing is posted on its own, and no channel membership is needed) and puts an
image block with `slack_file: {"id": ...}` where the chart belongs. When the chart cannot be
uploaded (no bot token, an API error) the answer says so in a context line instead of the
chart silently missing.

Slack may still refuse that image block: an upload completes asynchronously, and a file shared
nowhere yet can be "invalid slack file" (`invalid_blocks`; slackapi/bolt-python#1251,
python-slack-sdk#1521 and #1658). So the payload also carries `fallback_blocks`, the same answer
with a link to the chart's permalink in the chart's place (a file the bot links in a message it
posts becomes visible to the channel, bolt-python#1018), and `send_answer` resends with those
when Slack refuses the blocks: the leaderboard is never lost to its chart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
NO_TOKEN = "The chart is not shown: this sotabot has no Slack bot token to upload it with."


def _note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _refused_note(permalink: str | None) -> dict[str, Any]:
    """What stands in for a chart Slack would not show inside the answer."""
    if permalink and permalink.startswith("https://") and not any(c in permalink for c in "<>| "):
        return _note(f"Slack could not show the chart inside this answer: <{permalink}|open the chart>.")
    return _note("Slack could not show the chart inside this answer yet; ask again in a moment.")


async def _upload(client: AsyncWebClient, path: str, alt: str) -> tuple[str, str | None]:
    """The uploaded file's id and permalink."""
    response = await client.files_upload_v2(file=path, filename=path.rsplit("/", 1)[-1], title=alt, alt_txt=alt)
    file = response.get("file") or {}
    file_id = file.get("id") if isinstance(file, dict) else None
    if not file_id:
        raise SlackClientError("no file id in the upload response")
    permalink = file.get("permalink")
    return str(file_id), str(permalink) if permalink else None


async def inline_files(payload: dict[str, Any], client: AsyncWebClient | None) -> dict[str, Any]:
    """The payload with its file markers replaced by image blocks (or a line saying why not), and
    `fallback_blocks` (links in the images' place) when it has an image."""
    files = payload.get("files") or []
    if not files:
        return payload
    out = {k: v for k, v in payload.items() if k != "files"}
    blocks = list(out.get("blocks") or [])
    fallback = list(blocks)
    for item in files:
        path, alt = item.get("path"), (item.get("alt") or "chart")
        if not path:
            continue
        instead = None
        if client is None:
            block = _note(NO_TOKEN)
        else:
            try:
                file_id, permalink = await _upload(client, path, alt)
                block = {"type": "image", "slack_file": {"id": file_id}, "alt_text": alt}
                instead = _refused_note(permalink)
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else None
                log.warning("slack chart upload failed: %s", error or exc)
                block = _note(f"The chart could not be uploaded (Slack said `{error or 'error'}`).")
            except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("slack chart upload failed: %s", type(exc).__name__)
                block = _note("The chart could not be uploaded (Slack did not answer); try again later.")
        if len(blocks) < MAX_BLOCKS:  # above the controls, if the answer has any
            for into, what in ((blocks, block), (fallback, instead or block)):
                into.insert(next((i for i, b in enumerate(into) if b.get("type") == "actions"), len(into)), what)
    out["blocks"] = blocks
    if fallback != blocks:
        out["fallback_blocks"] = fallback
    return out


def _refused_blocks(sent: Any) -> str | None:
    """Slack's error when a response_url refused the message's blocks (404 or 400 with `invalid_blocks`)."""
    status, body = getattr(sent, "status_code", 200), str(getattr(sent, "body", "") or "")
    if status != 200 and ("invalid_blocks" in body or "slack_file" in body):
        return body[:200]
    return None


async def send_answer(send: Callable[..., Awaitable[Any]], payload: dict[str, Any], **fields: Any) -> Any:
    """`send(text=, blocks=, **fields)` (a response_url); when Slack refuses the blocks and the payload
    has a chart, once more with its `fallback_blocks`. Returns the last response."""
    sent = await send(text=payload["text"], blocks=payload.get("blocks"), **fields)
    fallback = payload.get("fallback_blocks")
    refused = _refused_blocks(sent) if fallback is not None else None
    if refused is not None:
        log.warning("slack refused the answer with its chart (%s); sent again with a link instead", refused)
        sent = await send(text=payload["text"], blocks=fallback, **fields)
    return sent
