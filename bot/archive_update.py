"""`sotabot run` and the full archive: one log line saying how to load it while the database holds only
the starter set, and with `[sources.archive] auto_update = true` the update itself, in a thread in the
background, while the bot already answers from what it has."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sotabot.sources.archive.hub import UPDATE_HINT, ArchiveUpdateError, update_archive
from sotabot.sources.archive.state import starter_only

log = logging.getLogger(__name__)


def attach(service: Any) -> None:
    engine, config = service.engine, service.config
    try:
        only_starter = starter_only(engine)
    except Exception as exc:  # a database that is not there yet: the service reports that itself
        log.debug("archive: state not readable: %s", exc)
        return
    if not config.sources.archive.auto_update:
        if only_starter:
            log.info("archive: %s (or set [sources.archive] auto_update = true)", UPDATE_HINT)
        return

    async def update(stop: asyncio.Event) -> None:
        log.info("archive: updating from the Hugging Face Hub in the background")
        try:
            updates = await asyncio.to_thread(update_archive, engine, config)
        except ArchiveUpdateError as exc:
            log.error("archive: update failed: %s", exc)
            return
        except Exception as exc:  # a background update never stops the service
            log.error("archive: update failed: %s: %s", type(exc).__name__, exc)
            return
        for item in updates:
            log.info("archive: %s", item.summary())

    service.add_task("archive-update", update)
