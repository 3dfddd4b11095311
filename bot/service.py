"""`sotabot run` as one asyncio loop: Slack, Discord, the HTTP server, background jobs.

What runs depends on the configured secrets: Discord when `discord.token` is set; Slack in
Socket Mode when `slack.app_token` is set, or in HTTP mode (`slack.mode = "http"`) when
`slack.signing_secret` is set; the HTTP server (/healthz, and /slack/events in HTTP mode)
when `server.enabled`. With neither Slack nor Discord configured the terminal chat opens,
so a fresh machine answers `/sota image classification` with no account at all.

Background jobs (the digest scheduler, the delivery loop) join through `Service.add_task`
or through a module in PLUGINS exposing `attach(service)`, so this file does not change
when they arrive. Every task gets the stop event and should return soon after it is set;
SIGINT/SIGTERM set it, the process then closes each platform and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from aiohttp import web
from sqlalchemy.engine import Engine

from sotabot.bot.settings import Config
from sotabot.sources.upstream.http import STOP as UPSTREAM_STOP
from sotabot.storage.config import ConfigError

log = logging.getLogger(__name__)

BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]
Hook = Callable[["Service"], Awaitable[None]]

# Optional modules that join the service: each may expose `attach(service: Service) -> None`.
PLUGINS = ("sotabot.digests.scheduler", "sotabot.bot.delivery", "sotabot.bot.archive_update")

# SIGTERM to exit stays within 10 s: tasks get this long to finish, worker threads EXIT_GRACE_SECONDS more.
SHUTDOWN_GRACE_SECONDS = 5.0
EXIT_GRACE_SECONDS = 2.0
# How long a thread may hold the GIL while another waits (Python's default is 5 ms). The event
# loop (Slack acks, Discord heartbeats) then gets it back within 1 ms from threads computing
# answers: bench/slack_load.py shows ack p99 several times lower under load.
GIL_SWITCH_INTERVAL = 0.001


def run_until_stopped(service: Service) -> int:
    """`asyncio.run(service.run())`, except that a worker thread still stuck at the end cannot hold the exit.

    asyncio.run joins every default-executor thread without a time limit (a poll reading a
    dripping upstream, a write waiting for a lock), so SIGTERM could leave the process alive.
    Here they get EXIT_GRACE_SECONDS; then the process exits without them: their open
    transactions roll back (SQLite's journal, PostgreSQL's closed connection), and every
    delivery not recorded as sent stays in the outbox.
    """
    service.hold_upstream_stop = True
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stuck: list[str] = []
    try:
        code = loop.run_until_complete(service.run())
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        with contextlib.suppress(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_default_executor(), EXIT_GRACE_SECONDS))
        asyncio.set_event_loop(None)
        loop.close()
        me = threading.current_thread()
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        for thread in threading.enumerate():
            if thread is not me and not thread.daemon:
                thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not me]
    if stuck:
        log.warning("exiting with %d worker threads still busy (%s)", len(stuck), ", ".join(sorted(stuck))[:200])
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def tune_interpreter() -> None:
    """Latency over throughput for this process: it serves interactive commands."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


@dataclass(frozen=True)
class Plan:
    """Which parts run, decided from the config alone (and printed at start)."""

    slack: str | None  # "socket" | "http" | None
    discord: bool
    http_server: bool
    terminal: bool

    def describe(self) -> str:
        parts = []
        if self.slack:
            parts.append(f"slack ({self.slack} mode)")
        if self.discord:
            parts.append("discord")
        if self.terminal:
            parts.append("terminal chat")
        if self.http_server:
            parts.append("http server")
        return ", ".join(parts) or "nothing"


def plan_for(config: Config) -> Plan:
    """Decide what to run; a half-configured platform fails naming the missing key."""
    slack = config.slack
    mode: str | None = None
    if slack.mode == "http":
        if slack.signing_secret:
            mode = "http"
        elif slack.bot_token:
            raise ConfigError("slack.signing_secret", "is required in HTTP mode (slack.mode = \"http\")")
    elif slack.app_token:
        mode = "socket"
    elif slack.bot_token:
        raise ConfigError("slack.app_token", "is required in socket mode (or set slack.mode = \"http\")")
    discord = bool(config.discord.token)
    return Plan(
        slack=mode,
        discord=discord,
        http_server=config.server.enabled or mode == "http",
        terminal=mode is None and not discord,
    )


class Service:
    """One process: platforms, HTTP server and background tasks sharing one asyncio loop."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        stdin: TextIO | None = None,
        console: Any | None = None,
        load_plugins: bool = True,
    ) -> None:
        self.engine = engine
        self.config = config
        self.plan = plan_for(config)
        self.stdin = stdin
        self.console = console
        self.background: list[tuple[str, BackgroundTask]] = []
        self.on_startup: list[Hook] = []  # run inside the loop before tasks start (e.g. scheduler.start())
        self.on_shutdown: list[Hook] = []
        self.stop_event = asyncio.Event()
        self.exit_code = 0
        # After run() returns, keep upstream requests stopped (run_until_stopped: the process
        # exits next, so polls still in flight must end); in-process callers get them back.
        self.hold_upstream_stop = False
        self.http_app: web.Application | None = None
        self.http_port: int | None = None  # the bound port once serving (useful when port = 0)
        self.slack_app: Any | None = None  # slack_bolt AsyncApp
        self.socket_handler: Any | None = None
        self.discord_client: Any | None = None  # bot.discord_app.SotaBotClient
        self._build()
        if load_plugins:
            self._attach_plugins()

    # --- assembly -----------------------------------------------------------------------

    def _build(self) -> None:
        if self.plan.slack:
            from sotabot.bot.platforms.slack import build_slack_app, build_socket_mode_handler

            self.slack_app = build_slack_app(self.engine, self.config)
            if self.plan.slack == "socket":
                self.socket_handler = build_socket_mode_handler(self.slack_app, self.config)
        if self.plan.http_server:
            from sotabot.bot.platforms.slack import build_http_app

            self.http_app = build_http_app(
                self.engine, self.config, self.slack_app if self.plan.slack == "http" else None
            )
        if self.plan.discord:
            from sotabot.bot.platforms.discord import SotaBotClient

            self.discord_client = SotaBotClient(self.engine, self.config)

    def _attach_plugins(self) -> None:
        for name in PLUGINS:
            module = importlib.import_module(name)
            attach = getattr(module, "attach", None)
            if callable(attach):
                attach(self)

    def add_task(self, name: str, task: BackgroundTask) -> None:
        """Run `task(stop_event)` for the life of the service (before `run()` starts)."""
        self.background.append((name, task))

    def request_stop(self, code: int = 0) -> None:
        """Begin a graceful shutdown; the first non-zero code wins."""
        if code and not self.exit_code:
            self.exit_code = code
        self.stop_event.set()

    # --- running ------------------------------------------------------------------------

    async def run(self) -> int:
        """Start everything, wait for a signal, quit or a fatal error, then close it all."""
        loop = asyncio.get_running_loop()
        tune_interpreter()
        UPSTREAM_STOP.clear()
        self._install_signal_handlers(loop)
        log.info("sotabot run: %s", self.plan.describe())
        tasks: dict[asyncio.Task[Any], tuple[str, bool]] = {}  # task -> (name, ends the service)
        runner: web.AppRunner | None = None
        try:
            for hook in self.on_startup:
                await hook(self)
            runner = await self._start_http()
            if self.socket_handler is not None:
                await self.socket_handler.connect_async()
                log.info("slack: socket mode connected")
            if self.discord_client is not None:
                token = self.config.discord.token.reveal()
                tasks[asyncio.create_task(self.discord_client.start(token), name="discord")] = ("discord", True)
            for name, func in self.background:
                tasks[asyncio.create_task(self._guard(func), name=name)] = (name, False)
            if self.plan.terminal:
                tasks[asyncio.create_task(self._terminal(), name="terminal")] = ("terminal", True)
            await self._supervise(tasks)
        finally:
            await self._shutdown(tasks, runner)
            if not self.hold_upstream_stop:
                UPSTREAM_STOP.clear()
        return self.exit_code

    async def _guard(self, func: BackgroundTask) -> None:
        await func(self.stop_event)

    async def _terminal(self) -> None:
        from sotabot.bot.platforms.terminal import run_terminal_chat

        code = await run_terminal_chat(
            self.engine, self.config, stream=self.stdin, console=self.console, stop=self.stop_event
        )
        self.request_stop(code)

    async def _supervise(self, tasks: dict[asyncio.Task[Any], tuple[str, bool]]) -> None:
        """Wait for the stop event; a task that fails stops the service with exit code 1."""
        stop_wait = asyncio.ensure_future(self.stop_event.wait())
        pending: set[asyncio.Future[Any]] = {stop_wait, *tasks}
        try:
            while not self.stop_event.is_set():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is stop_wait:
                        continue
                    name, essential = tasks[task]  # type: ignore[index]
                    if task.cancelled():
                        continue
                    exc = task.exception()
                    if exc is not None:
                        log.error("%s stopped with an error: %s", name, _describe(exc), exc_info=exc)
                        self.request_stop(1)
                    elif essential and not self.stop_event.is_set():
                        log.warning("%s stopped", name)
                        self.request_stop(1)
        finally:
            stop_wait.cancel()

    async def _start_http(self) -> web.AppRunner | None:
        if self.http_app is None:
            return None
        server = self.config.server
        port = server.port if server.enabled else self.config.slack.port
        runner = web.AppRunner(self.http_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, server.host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if self.plan.slack == "http":
                raise ConfigError("server.port", f"cannot listen on {server.host}:{port}: {exc.strerror}") from None
            log.warning("http server not started: cannot listen on %s:%s (%s)", server.host, port, exc.strerror)
            return None
        addresses = runner.addresses
        self.http_port = int(addresses[0][1]) if addresses else port
        routes = "/healthz" + (f", {self.config.slack.path}" if self.plan.slack == "http" else "")
        log.info("http server on http://%s:%s (%s)", server.host, self.http_port, routes)
        return runner

    async def _shutdown(self, tasks: dict[asyncio.Task[Any], tuple[str, bool]], runner: web.AppRunner | None) -> None:
        self.stop_event.set()
        UPSTREAM_STOP.set()  # polls in flight end at their next byte or backoff
        live = [t for t in tasks if not t.done()]
        if live:
            _, still = await asyncio.wait(live, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        if self.discord_client is not None and not self.discord_client.is_closed():
            with contextlib.suppress(Exception):
                await self.discord_client.close()
        if self.socket_handler is not None:
            with contextlib.suppress(Exception):
                await self.socket_handler.close_async()
        if runner is not None:
            await runner.cleanup()  # also closes the Slack answer pool (build_http_app's cleanup)
        if self.slack_app is not None:
            from sotabot.bot.platforms.slack import close_slack_app

            await close_slack_app(self.slack_app)
        for hook in self.on_shutdown:
            try:
                await hook(self)
            except Exception:
                log.exception("shutdown hook failed")
        log.info("sotabot run: stopped")

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Windows, or not the main thread: Ctrl-C then ends the loop the default way
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stop_event.is_set():
            log.warning("second %s: exiting now", sig.name)
            sys.exit(130)
        log.info("%s received: shutting down", sig.name)
        self.request_stop(0)


def _describe(exc: BaseException) -> str:
    """One line for logs, never a secret (discord.py's LoginFailure says only "Improper token")."""
    return f"{type(exc).__name__}: {exc}"
