"""The Slack app: one slash command (`/sota ...`) on slack-bolt's AsyncApp.

The listener acks at once (Slack's 3-second deadline), computes the answer in a worker
thread (SQLModel sessions are synchronous; `Answerer` keeps acks ahead of answers under
load) and answers through the command's `response_url` — ephemeral for errors and usage,
in the channel for results — with any chart uploaded first and shown inside the answer
(bot/platforms/slack_files.py). The same AsyncApp serves Socket Mode
(`AsyncSocketModeHandler`) and HTTP mode (`build_http_app`, signed requests only: Bolt's
request verification checks the v0 HMAC signature and the 5-minute timestamp window before
any listener runs, so a rejected request changes nothing).

`can_manage` in Slack: a slash command's payload carries no role, so who may change a
channel's subscriptions and digest is `slack.managers` ("everyone" by default, "admins"
checked with users.info, or a list of user ids; slack_events.Managers). Pass `can_manage=` to
`build_slack_app` to decide per request instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.engine import Engine

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.health import Health
from sotabot.bot.platforms.slack_events import (
    Managers,
    can_post_in,
    changes_channel,
    command_needs_reach,
    register_actions,
    register_lifecycle,
)
from sotabot.bot.platforms.slack_files import inline_files, send_answer
from sotabot.bot.render.slack import render_slack
from sotabot.bot.settings import Config
from sotabot.digests.message import Message
from sotabot.storage.config import ConfigError

log = logging.getLogger(__name__)

# Slack accepts at most five messages through one response_url (within 30 minutes).
MAX_RESPONSES = 5
# Threads computing answers: one by default, so the event loop (acks) is not starved of the GIL.
COMMAND_WORKERS = 1
# When the event loop runs this late, the next computation waits a little: acks come first.
LOOP_LAG_BUDGET = 0.05
LAG_PROBE_SECONDS = 0.02
# Commands waiting for a worker before new ones get BUSY (a queue bound, not a rate limit).
MAX_PENDING = 1000
SORRY = "Sorry, something went wrong answering that. Try again in a moment."
BUSY = "sotabot is busy right now; try that again in a minute."

ENGINE_KEY: web.AppKey[Engine] = web.AppKey("engine", Engine)
SLACK_APP_KEY: web.AppKey[AsyncApp] = web.AppKey("slack_app", AsyncApp)
HEALTH_KEY: web.AppKey[Health] = web.AppKey("health", Health)
SIGNING_SECRET_KEY: web.AppKey[str] = web.AppKey("signing_secret", str)
SIGNATURE_WINDOW_SECONDS = 5 * 60

CanManage = Callable[[Mapping[str, Any]], bool]
_ANSWERERS: weakref.WeakKeyDictionary[AsyncApp, Answerer] = weakref.WeakKeyDictionary()


def workspace_key(enterprise_id: str | None, team_id: str | None) -> str:
    """Channels are keyed by "E…:T…" on Enterprise Grid, else by the team id alone."""
    team = team_id or ""
    return f"{enterprise_id}:{team}" if enterprise_id else team


def context_from_body(body: Mapping[str, Any], can_manage: CanManage | None = None) -> CommandContext:
    """The neutral command context of a slash-command payload."""
    return CommandContext(
        platform="slack",
        workspace=workspace_key(body.get("enterprise_id"), body.get("team_id")),
        channel=str(body.get("channel_id") or ""),
        user=str(body.get("user_id") or ""),
        can_manage=True if can_manage is None else bool(can_manage(body)),
        channel_name=body.get("channel_name"),
    )


def _web_client(config: Config, client: AsyncWebClient | None) -> tuple[AsyncWebClient, str | None]:
    """The app's Web API client (no token: Bolt makes one per request) and the bot token."""
    token = config.slack.bot_token.reveal() or None
    if client is None:
        return AsyncWebClient(base_url=config.slack.api_url), token
    token = token or client.token
    if client.token is None:
        return client, token
    # Bolt ignores (and warns about) a client token when `authorize` is set: copy without it.
    bare = AsyncWebClient(
        base_url=client.base_url, timeout=client.timeout, ssl=client.ssl, proxy=client.proxy,
        session=client.session, headers=client.headers, logger=client.logger,
    )
    return bare, token


def build_slack_app(
    engine: Engine,
    config: Config,
    *,
    client: AsyncWebClient | None = None,
    can_manage: CanManage | None = None,
    workers: int = COMMAND_WORKERS,
    max_pending: int = MAX_PENDING,
) -> AsyncApp:
    """The Bolt app with the slash command registered; HTTP mode requires a signing secret."""
    slack = config.slack
    secret = slack.signing_secret.reveal()
    if slack.mode == "http" and not secret:
        raise ConfigError("slack.signing_secret", "is required in HTTP mode (requests are verified with it)")
    api, bot_token = _web_client(config, client)

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        # Single-workspace install: the token is configured, so no auth.test round trip before ack.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=bot_token)

    app = AsyncApp(
        name="sotabot",
        client=api,
        signing_secret=secret,
        authorize=authorize,
        process_before_response=False,
        logger=logging.getLogger("sotabot.slack"),
        # HTTP mode verifies in `_slack_events` before Bolt sees the request (Socket Mode needs none)
        request_verification_enabled=False,
    )
    answerer = Answerer(engine, config, can_manage=can_manage, workers=workers, max_pending=max_pending)
    _ANSWERERS[app] = answerer

    async def on_command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()  # first, always: Slack's deadline is 3 s
        await answerer.answer(body, client if bot_token else None)

    app.command(slack.command)(on_command)
    register_lifecycle(app, engine, workspace_key)
    register_actions(app, engine, config, workspace_key, can_manage, bot_token, answerer.managers)
    return app


async def close_slack_app(app: AsyncApp) -> None:
    """Release the worker threads and HTTP session of an app built by build_slack_app."""
    answerer = _ANSWERERS.pop(app, None)
    if answerer is not None:
        await answerer.close()


class Answerer:
    """The work after the ack: compute and render in a small pool, post through response_url.

    Acks come first. Answers are computed by `workers` threads of its own (not the loop's
    default executor), so at most that many threads compete with the event loop for the
    GIL; and when the loop runs late (a probe timer measures it) the next computation waits
    for it to catch up. Under overload answers queue, not acks; past `max_pending` waiting
    commands a new one gets a short "busy" answer instead of an ever longer queue. Answers
    share one HTTP session (keep-alive to hooks.slack.com).
    """

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        can_manage: CanManage | None = None,
        workers: int = COMMAND_WORKERS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.engine = engine
        self.config = config
        self.can_manage = can_manage
        self.managers = Managers(config.slack.managers)
        self.max_pending = max_pending
        self.pending = 0
        self.stats: Counter[str] = Counter()
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sotabot-slack")
        self._slots = asyncio.Semaphore(self.workers)
        self._session: aiohttp.ClientSession | None = None
        self._probe: asyncio.Task[None] | None = None
        self.loop_lag = 0.0  # seconds the probe timer last fired late

    def compute(self, ctx: CommandContext, text: str) -> tuple[Message, list[dict[str, Any]]]:
        """handle() and render_slack() in a worker thread; never raises."""
        try:
            msg = handle(self.engine, self.config, ctx, text)
        except Exception:
            log.exception("slack command failed (workspace %s, channel %s)", ctx.workspace, ctx.channel)
            msg = Message.error(SORRY)
        return msg, render_payloads(msg)

    async def answer(self, body: Mapping[str, Any], client: AsyncWebClient | None) -> None:
        """Compute (or refuse as busy) and deliver; failures are logged, never raised."""
        ctx = context_from_body(body, self.can_manage)
        response_url = str(body.get("response_url") or "")
        if not response_url:
            log.warning("slash command without response_url from %s: not answered", ctx.workspace)
            return
        ctx = await with_reach(ctx, str(body.get("text") or ""), client)
        if self.can_manage is None and changes_channel(str(body.get("text") or "")):
            ctx = replace(ctx, can_manage=await self.managers.allows(client, ctx.user))
        if self.pending >= self.max_pending:
            self.stats["busy"] += 1
            msg = Message.error(BUSY)
            payloads = render_payloads(msg)
        else:
            self.pending += 1
            try:
                msg, payloads = await self._compute_when_free(ctx, str(body.get("text") or ""))
            finally:
                self.pending -= 1
            self.stats["answered"] += 1
        await deliver_payloads(payloads, msg.ephemeral, ctx.channel, self.responder(response_url), client)

    async def _compute_when_free(self, ctx: CommandContext, text: str) -> tuple[Message, list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        if self._probe is None or self._probe.done():
            self._probe = loop.create_task(self._probe_lag(), name="sotabot-slack-lag-probe")
        async with self._slots:
            if self.loop_lag > LOOP_LAG_BUDGET:
                self.stats["yielded"] += 1
                await asyncio.sleep(min(self.loop_lag, 0.25))
            return await loop.run_in_executor(self._pool, self.compute, ctx, text)

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.loop_lag = max(0.0, loop.time() - started - LAG_PROBE_SECONDS)

    def responder(self, response_url: str) -> Callable[..., Any]:
        """What Bolt's `respond` does, over the shared session."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        webhook = AsyncWebhookClient(url=response_url, session=self._session)

        async def respond(**message: Any) -> Any:
            return await webhook.send_dict({k: v for k, v in message.items() if v is not None})

        return respond

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


async def with_reach(ctx: CommandContext, text: str, client: AsyncWebClient | None) -> CommandContext:
    """The context with `can_post` filled in for channel commands (one conversations.info call)."""
    if client is None or not ctx.channel or not command_needs_reach(text):
        return ctx
    return replace(ctx, can_post=await can_post_in(client, ctx.channel))


def render_payloads(msg: Message) -> list[dict[str, Any]]:
    """render_slack, with a plain apology if a reply cannot be rendered."""
    try:
        return render_slack(msg)
    except Exception:
        log.exception("slack rendering failed")
        return render_slack(Message.error("Sorry, that answer could not be displayed."))


async def deliver_payloads(
    payloads: list[dict[str, Any]],
    ephemeral: bool,
    channel: str,
    respond: Callable[..., Any],
    client: AsyncWebClient | None,
) -> None:
    """At most 5 messages through response_url (Slack's limit per command); charts inside them."""
    if len(payloads) > MAX_RESPONSES:
        log.warning("reply split into %d messages; Slack takes %d per command", len(payloads), MAX_RESPONSES)
    response_type = "ephemeral" if ephemeral else "in_channel"
    for payload in payloads[:MAX_RESPONSES]:
        payload = await inline_files(payload, client)
        try:
            sent = await send_answer(respond, payload, response_type=response_type)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            log.warning("slack respond failed: %s", type(exc).__name__)
            return
        if getattr(sent, "status_code", 200) != 200:
            log.warning("slack respond got HTTP %s: %s", sent.status_code, str(sent.body)[:200])
            return


def verify_request(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str | None:
    """Why a request is not from Slack (None when it is): v0 HMAC-SHA256 within 5 minutes.

    Done here rather than by Bolt, so that garbage (`X-Slack-Request-Timestamp: abc`) is a
    plain 401 instead of a 500 with a traceback, and nothing of a rejected body is logged.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed timestamp"
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return "timestamp outside the 5-minute window"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


async def _slack_events(request: web.Request) -> web.Response:
    body = await request.read()
    reason = verify_request(request.app[SIGNING_SECRET_KEY], request.headers, body)
    if reason is not None:
        log.debug("slack request rejected (%s) from %s", reason, request.remote)
        return web.Response(status=401, text="invalid request")
    bolt_request = await to_bolt_request(request)
    bolt_response = await request.app[SLACK_APP_KEY].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


def build_http_app(engine: Engine, config: Config, slack_app: AsyncApp | None = None) -> web.Application:
    """GET /healthz and, with a Slack app, POST `slack.path`; others add routes (e.g. /metrics)."""
    app = web.Application()
    app[ENGINE_KEY] = engine
    health = Health(engine)
    app[HEALTH_KEY] = health
    app.router.add_get("/healthz", health.route)
    app.on_cleanup.append(health.close)
    if slack_app is not None:
        app[SLACK_APP_KEY] = slack_app
        app[SIGNING_SECRET_KEY] = config.slack.signing_secret.reveal()
        app.router.add_post(config.slack.path, _slack_events)

        async def close_slack(_: web.Application) -> None:
            await close_slack_app(slack_app)

        app.on_cleanup.append(close_slack)
    return app


def build_socket_mode_handler(app: AsyncApp, config: Config) -> Any:
    """Socket Mode: an outbound WebSocket, for labs without a public URL (needs `slack.app_token`)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    token = config.slack.app_token.reveal()
    if not token:
        raise ConfigError("slack.app_token", "is required in socket mode (an xapp- app-level token)")
    return AsyncSocketModeHandler(app, app_token=token, web_client=AsyncWebClient(base_url=config.slack.api_url))
