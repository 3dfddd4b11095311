"""The delivery loop: drains the outbox through each platform, politely and without loss.

One loop sleeps until the next due row (or until `wake()` says one was added), claims due
rows (storage.outbox), and sends them: rows of one channel in order and at most one message
per `per_channel_interval_seconds`, all channels together at most `concurrency` at once.
Rate limits (Slack 429 + Retry-After, Discord 429 retry_after) are waited out in place up to
`max_inline_wait_seconds` (so a split message never resends its first parts), longer ones
reschedule the row without using up an attempt. Other failures back off exponentially and
the row is dead after `max_attempts`, error kept. A channel that is gone is marked inactive.
Claims, leases and the records after each send go through `bot.ledger.Ledger`, which
retries them for as long as the database is busy or full, so a send happens once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sotabot.bot.ledger import Ledger, db_reason
from sotabot.bot.settings import Config
from sotabot.digests.message import Message
from sotabot.storage.outbox import Claimed, deactivate_channel, mark_dead, mark_retry, mark_sent, next_due_at

log = logging.getLogger(__name__)

SLACK_GONE = frozenset({"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"})
# Cannot post here: the channel is switched off (logged), never retried.
DISCORD_GONE = frozenset({10003, 50001, 50013, 50083})  # Unknown Channel, Missing Access/Permissions, archived thread
# The loop goes round at least every 30 s; this long without progress (beyond an inline
# rate-limit wait) while the database is fine means it is stuck.
STALL_SECONDS = 90.0


class SendError(Exception):
    """A send failed in a way worth retrying later."""


class RateLimited(SendError):
    def __init__(self, retry_after: float, scope: str = "channel") -> None:
        super().__init__(f"rate limited for {retry_after:.1f}s ({scope})")
        self.retry_after = retry_after
        self.scope = scope


class ChannelGone(SendError):
    """The channel no longer exists or the bot lost access: stop sending there."""


class Sender(Protocol):
    async def send_part(self, target: Claimed, part: Any) -> None: ...
    def parts(self, message: Message) -> list[Any]: ...


class SlackSender:
    """chat.postMessage through slack_sdk, Block Kit from bot.render_slack.

    Thread parts (a digest's full lists) are posted with `thread_ts` of the delivery's first
    message; link and media unfurls are off, so a digest of twenty links stays one compact post.
    """

    def __init__(self, token: str, api_url: str) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self.client = AsyncWebClient(token=token, base_url=api_url if api_url.endswith("/") else api_url + "/")
        self._parent_ts: dict[int, str] = {}  # delivery id -> ts of its first message

    def parts(self, message: Message) -> list[Any]:
        from sotabot.bot.render.slack import render_slack

        return render_slack(message)

    async def send_part(self, target: Claimed, part: Any) -> None:
        from slack_sdk.errors import SlackApiError

        thread_ts = self._parent_ts.get(target.id) if part.get("thread") else None
        try:
            response = await self.client.chat_postMessage(
                channel=target.channel, text=part["text"], blocks=part.get("blocks"), thread_ts=thread_ts,
                unfurl_links=False, unfurl_media=False,
            )
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error") if response is not None else None
            if response is not None and (response.status_code == 429 or error == "ratelimited"):
                raise RateLimited(float(response.headers.get("Retry-After", 1) or 1)) from None
            if error in SLACK_GONE:
                raise ChannelGone(error) from None
            raise SendError(f"slack: {error or exc}") from None
        if not part.get("thread") and response.get("ts"):
            self._parent_ts[target.id] = str(response["ts"])
            if len(self._parent_ts) > 10_000:  # only the sends in flight need theirs
                self._parent_ts.pop(next(iter(self._parent_ts)))


class DiscordSender:
    """POST /channels/{id}/messages with the bot token; embeds from bot.render_discord.

    Thread parts go into a thread started on the delivery's first message
    (POST /channels/{id}/messages/{message}/threads); where the bot may not start one, they
    follow in the channel.
    """

    THREAD_NAME_CHARS = 100

    def __init__(self, token: str, api_url: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (sotabot, 0.1)"},
            timeout=20.0,
        )
        self._parent: dict[int, tuple[str, str]] = {}  # delivery id -> (first message id, thread name)
        self._threads: dict[int, str | None] = {}

    def parts(self, message: Message) -> list[Any]:
        from sotabot.bot.render.discord import render_discord

        return render_discord(message)

    async def send_part(self, target: Claimed, part: Any) -> None:
        channel = target.channel
        if getattr(part, "thread", False):
            channel = await self._thread_of(target) or target.channel
        data = await self._post(f"/channels/{channel}/messages", self._body(part))
        if not getattr(part, "thread", False) and data.get("id"):
            self._parent[target.id] = (str(data["id"]), self._thread_name(part))

    async def _thread_of(self, target: Claimed) -> str | None:
        """The thread under the delivery's first message, started on first use; None when it cannot be."""
        if target.id in self._threads:
            return self._threads[target.id]
        parent = self._parent.get(target.id)
        thread_id = None
        if parent is not None:
            message_id, name = parent
            try:
                data = await self._post(f"/channels/{target.channel}/messages/{message_id}/threads",
                                        {"name": name, "auto_archive_duration": 1440})
                thread_id = str(data["id"]) if data.get("id") else None
            except ChannelGone as exc:  # no Create Public Threads here: the rest follows in the channel
                log.info("discord: no thread for delivery %s (%s); posting in the channel", target.id, exc)
        self._threads[target.id] = thread_id
        return thread_id

    def _thread_name(self, part: Any) -> str:
        title = next((e.title for e in part.embeds if e.title), None) or "sotabot"
        return str(title)[: self.THREAD_NAME_CHARS]

    def _body(self, part: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "embeds": [embed.to_dict() for embed in part.embeds],
            "allowed_mentions": {"parse": []},  # a digest or alert never pings anyone
        }
        if part.content:
            body["content"] = part.content
        return body

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        if response.status_code < 300:
            try:
                data = response.json()
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 429:
            retry_after = float(data.get("retry_after") or response.headers.get("Retry-After") or 1)
            raise RateLimited(retry_after, "global" if data.get("global") else "channel")
        if data.get("code") in DISCORD_GONE:
            raise ChannelGone(f"discord {data.get('code')}: {data.get('message', '')}")
        raise SendError(f"discord HTTP {response.status_code}: {data.get('message', response.text[:200])}")


class DeliveryLoop:
    """Drains the outbox; `run()` forever in `sotabot run`, `drain_once()` for `sotabot deliver`."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        senders: dict[str, Sender],
        *,
        now: Callable[[], datetime] | None = None,
        batch: int = 200,
        metrics: Any = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.senders = senders
        self.now = now or (lambda: datetime.now(UTC))
        self.batch = batch
        self.metrics = metrics  # bot.metrics.Metrics, optional
        self.stats: dict[str, int] = defaultdict(int)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sent: dict[int, float] = {}
        self._global_pause_until = 0.0
        self._sem = asyncio.Semaphore(max(1, config.delivery.concurrency))
        self.ledger = Ledger(engine, config.delivery.lease_seconds, self.now)
        self.loop_at = time.monotonic()  # the last sign of progress (for /healthz)
        self.running = False
        self.finished = False

    def wake(self) -> None:
        """Something was queued: look now instead of at the next due time (thread-safe)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def drain_once(self) -> int:
        """Send everything due now; returns how many deliveries were attempted."""
        if self.ledger.beating:
            return await self._drain()
        stop = asyncio.Event()
        beat = asyncio.ensure_future(self.ledger.heartbeat(stop))
        try:
            return await self._drain()
        finally:
            stop.set()
            await beat

    async def _drain(self) -> int:
        total = 0
        while True:
            self.loop_at = time.monotonic()
            claimed = await self.ledger.claim(self.now(), self.batch)
            if not claimed:
                return total
            by_channel: dict[int, list[Claimed]] = defaultdict(list)
            for item in claimed:
                by_channel[item.channel_id].append(item)
            await asyncio.gather(*(self._send_channel(items) for items in by_channel.values()))
            total += len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        log.info("delivery loop started (%s)", ", ".join(sorted(self.senders)) or "no platforms")
        self.running = True
        beat = asyncio.ensure_future(self.ledger.heartbeat(stop))
        try:
            await self._run(stop)
        finally:
            self.running, self.finished = False, True
            await beat
            self.ledger.close()
        log.info("delivery loop stopped")

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.loop_at = time.monotonic()
            try:
                await self._drain()
                due = await asyncio.to_thread(next_due_at, self.engine)
            except SQLAlchemyError as exc:  # busy, full or unreachable: the ledger logged why
                log.debug("delivery loop waits for the database: %s", db_reason(exc))
                due = self.now() + timedelta(seconds=1)
            except Exception:
                log.exception("delivery loop error; retrying in 5s")
                due = self.now() + timedelta(seconds=5)
            timeout = 30.0
            if due is not None:
                if due.tzinfo is None:
                    due = due.replace(tzinfo=UTC)
                timeout = min(timeout, max(0.05, (due - self.now()).total_seconds()))
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()

    async def _pace(self, channel_id: int) -> None:
        interval = self.config.delivery.per_channel_interval_seconds
        wait = max(self._last_sent.get(channel_id, 0.0) + interval, self._global_pause_until) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _send_channel(self, items: list[Claimed]) -> None:
        ordered = sorted(items, key=lambda c: c.id)
        for index, item in enumerate(ordered):
            outcome = await self._send_one(item)
            if self.metrics is not None:
                self.metrics.deliveries.labels(item.platform, outcome).inc()
            if outcome == "gone":  # the channel's other rows died with it
                self.ledger.owned.difference_update(rest.id for rest in ordered[index + 1 :])
                return

    async def _send_one(self, item: Claimed) -> str:
        sender = self.senders.get(item.platform)
        if sender is None:
            at = self.now() + timedelta(minutes=5)
            await self.ledger.record(
                item.id, "skipped", _retry_free, f"platform {item.platform} not configured", at, sent=False
            )
            return "skipped"
        try:
            message = Message.from_dict(item.payload)
            parts = sender.parts(message)
        except Exception as exc:  # a payload we cannot render will never succeed
            log.error("delivery %s: cannot render payload: %s", item.id, exc)
            await self.ledger.record(item.id, "dead", mark_dead, f"render: {exc}", sent=False)
            self.stats["dead"] += 1
            return "dead"
        try:
            for part in parts:
                await self._send_part(sender, item, part)
        except ChannelGone as exc:
            log.warning("channel %s (%s) is gone: %s; marking it inactive", item.channel, item.platform, exc)
            await self.ledger.record(item.id, "gone", _deactivate, item.channel_id, str(exc), sent=False)
            self.stats["gone"] += 1
            return "gone"
        except RateLimited as exc:
            at = self.now() + timedelta(seconds=exc.retry_after)
            await self.ledger.record(item.id, "rate limited", _retry_free, str(exc), at, sent=False)
            self.stats["rate_limited"] += 1
            return "retry"
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if item.attempts >= self.config.delivery.max_attempts:
                log.error("delivery %s to %s dead after %d attempts: %s", item.id, item.channel, item.attempts, error)
                await self.ledger.record(item.id, "dead", mark_dead, error, sent=False)
                self.stats["dead"] += 1
                return "dead"
            delay = self.config.delivery.backoff_base_seconds * (2 ** (item.attempts - 1))
            log.warning("delivery %s to %s failed (%s); retry in %.0fs", item.id, item.channel, error, delay)
            at = self.now() + timedelta(seconds=delay)
            await self.ledger.record(item.id, "retry", mark_retry, error, at, sent=False)
            self.stats["failed"] += 1
            return "retry"
        await self.ledger.record(item.id, "sent", mark_sent, self.now(), sent=True)
        self.stats["sent"] += 1
        return "sent"

    async def _send_part(self, sender: Sender, item: Claimed, part: Any) -> None:
        """Send one part, waiting out short rate limits in place so no earlier part repeats."""
        while True:
            await self._pace(item.channel_id)
            self.loop_at = time.monotonic()
            async with self._sem:
                try:
                    await sender.send_part(item, part)
                except RateLimited as exc:
                    if exc.retry_after > self.config.delivery.max_inline_wait_seconds:
                        raise
                    self.stats["rate_limited"] += 1
                    until = time.monotonic() + exc.retry_after
                    if exc.scope == "global":
                        self._global_pause_until = max(self._global_pause_until, until)
                    self._last_sent[item.channel_id] = until - self.config.delivery.per_channel_interval_seconds
                    continue
                finally:
                    self._last_sent[item.channel_id] = max(self._last_sent.get(item.channel_id, 0.0), time.monotonic())
            return


def _retry_free(engine: Engine, delivery_id: int, error: str, at: datetime) -> None:
    """Back to pending without using up an attempt (rate limits, an unconfigured platform)."""
    mark_retry(engine, delivery_id, error, at, count_attempt=False)


def _deactivate(engine: Engine, _delivery_id: int, channel_id: int, reason: str) -> None:
    deactivate_channel(engine, channel_id, reason)


def delivery_health(loop: DeliveryLoop, stopping: asyncio.Event) -> tuple[str | None, str | None]:
    """/healthz probe: stopped or stalled is a problem; a database that delays deliveries is a note."""
    if stopping.is_set():
        return None, None
    if loop.finished:
        return "delivery loop stopped", None
    if (delay := loop.ledger.delay()) is not None:
        return None, f"deliveries delayed: database busy ({delay})"
    idle = time.monotonic() - loop.loop_at
    if loop.running and idle > STALL_SECONDS + loop.config.delivery.max_inline_wait_seconds:
        return f"delivery loop stalled: no progress for {idle:.0f}s", None
    return None, None


def build_senders(config: Config) -> dict[str, Sender]:
    """A sender for each platform whose token is configured."""
    senders: dict[str, Sender] = {}
    if config.slack.bot_token:
        senders["slack"] = SlackSender(config.slack.bot_token.reveal(), config.slack.api_url)
    if config.discord.token:
        senders["discord"] = DiscordSender(config.discord.token.reveal(), config.discord.api_url)
    return senders


def attach(service: Any) -> None:
    """Join `sotabot run` (bot.service PLUGINS): delivery loop, scheduler and /metrics.

    The scheduler runs wherever a platform is configured (on PostgreSQL, only in the process
    holding the lock); the terminal demo runs no scheduled polls, so a fresh offline machine
    is not flooded with connection errors.
    """
    from aiohttp import web

    from sotabot.bot.metrics import CONTENT_TYPE, Metrics
    from sotabot.digests.scheduler import build_scheduler

    engine, config = service.engine, service.config
    metrics = Metrics(engine)
    service.metrics = metrics
    senders = build_senders(config)
    loop = DeliveryLoop(engine, config, senders, metrics=metrics)
    service.delivery = loop
    if senders:
        service.add_task("delivery", loop.run)

    if service.http_app is not None:
        from sotabot.bot.platforms.slack import HEALTH_KEY

        health = service.http_app[HEALTH_KEY]
        if senders:
            health.watch("delivery", lambda: delivery_health(loop, service.stop_event))

        async def metrics_route(_request: web.Request) -> web.Response:
            body = await asyncio.to_thread(metrics.render)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

        service.http_app.router.add_get("/metrics", metrics_route)

    if not config.scheduler.enabled or service.plan.terminal:
        return
    scheduler = build_scheduler(engine, config, on_queued=loop.wake, on_result=metrics.record_job)
    service.scheduler = scheduler
    started = asyncio.Event()
    if service.http_app is not None:

        def scheduler_health() -> tuple[str | None, str | None]:
            stopped = started.is_set() and not scheduler.running and not service.stop_event.is_set()
            return ("scheduler stopped" if stopped else None), None

        service.http_app[HEALTH_KEY].watch("scheduler", scheduler_health)

    async def start(_service: Any) -> None:
        scheduler.start()
        started.set()

    async def stop(_service: Any) -> None:
        scheduler.shutdown(wait=False)
        scheduler.poll_pool.shutdown(wait=False, cancel_futures=True)  # a stuck poll is left to the exit's grace
        await asyncio.to_thread(scheduler.leadership.release)

    service.on_startup.append(start)
    service.on_shutdown.append(stop)
