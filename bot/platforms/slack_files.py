"""Charts inside a Slack answer: uploaded first, then shown by an image block in the answer itself.

render_slack leaves local images as `{"type": "file", "path": ...}` markers (Block Kit needs
a public URL or a Slack file). `inline_files` uploads each with `files_upload_v2` *without* a
channel (so nothing is posted on its own, and no channel membership is needed) and puts an
image block with `slack_file: {"id": ...}` where the chart belongs. When the chart cannot be
uploaded (no bot token, an API error) the answer says so in a context line instead of the
chart silently missing.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
NO_TOKEN = "The chart is not shown: this sotabot has no Slack bot token to upload it with."


def _note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


async def _upload(client: AsyncWebClient, path: str, alt: str) -> str:
    response = await client.files_upload_v2(file=path, filename=path.rsplit("/", 1)[-1], title=alt, alt_txt=alt)
    file = response.get("file") or {}
    file_id = file.get("id") if isinstance(file, dict) else None
    if not file_id:
        raise SlackClientError("no file id in the upload response")
    return str(file_id)


async def inline_files(payload: dict[str, Any], client: AsyncWebClient | None) -> dict[str, Any]:
    """The payload with its file markers replaced by image blocks (or a line saying why not)."""
    files = payload.get("files") or []
    if not files:
        return payload
    out = {k: v for k, v in payload.items() if k != "files"}
    blocks = list(out.get("blocks") or [])
    for item in files:
        path, alt = item.get("path"), (item.get("alt") or "chart")
        if not path:
            continue
        if client is None:
            block = _note(NO_TOKEN)
        else:
            try:
                block = {"type": "image", "slack_file": {"id": await _upload(client, path, alt)}, "alt_text": alt}
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else None
                log.warning("slack chart upload failed: %s", error or exc)
                block = _note(f"The chart could not be uploaded (Slack said `{error or 'error'}`).")
            except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("slack chart upload failed: %s", type(exc).__name__)
                block = _note("The chart could not be uploaded (Slack did not answer); try again later.")
        if len(blocks) < MAX_BLOCKS:  # above the controls, if the answer has any
            at = next((i for i, b in enumerate(blocks) if b.get("type") == "actions"), len(blocks))
            blocks.insert(at, block)
    out["blocks"] = blocks
    return out
