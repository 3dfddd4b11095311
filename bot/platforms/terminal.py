"""The terminal channel: the chat commands in a shell, with no account, token or network.

`sotabot run` opens it when no Slack or Discord token is set, so `/sota image classification`
answers on a fresh machine from the starter data. It is one channel like any other
(platform "terminal", workspace "local", channel "terminal"), so subscriptions and digest
settings made here are stored and delivered like Slack's or Discord's.

Lines are read in a daemon thread (a blocked read never holds up shutdown), answers are
computed in a worker thread (SQLModel sessions are synchronous) and printed with rich.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from sqlalchemy.engine import Engine

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.render.terminal import render_terminal
from sotabot.bot.settings import Config
from sotabot.digests.message import Message

log = logging.getLogger(__name__)

PROMPT = "sota> "
QUIT_WORDS = frozenset({"quit", "exit", "q", ":q", "/quit", "/exit", "bye"})
BANNER = "sotabot terminal chat: try [bold]/sota image classification[/], [bold]help[/] or [bold]quit[/]."
_PREFIX = re.compile(r"^/?sota(?:\s+|$)", re.IGNORECASE)

TERMINAL_CONTEXT = CommandContext(
    platform="terminal", workspace="local", channel="terminal", user="local", can_manage=True, channel_name="terminal"
)


def command_text(line: str) -> str | None:
    """What follows "/sota" (or "sota", or nothing) on a line; None when the user quits."""
    stripped = line.strip()
    if stripped.lower() in QUIT_WORDS:
        return None
    return _PREFIX.sub("", stripped, count=1).strip()


def answer(engine: Engine, config: Config, text: str) -> Message:
    """The reply to one command; an unexpected failure becomes a short error, never a traceback."""
    try:
        return handle(engine, config, TERMINAL_CONTEXT, text)
    except Exception:
        log.exception("terminal command failed: %r", text[:200])
        return Message.error("Sorry, something went wrong answering that.")


def _read_in_thread(loop: asyncio.AbstractEventLoop, read: Callable[[], str]) -> asyncio.Future[str | None]:
    """One read in a daemon thread; None at end of input."""
    future: asyncio.Future[str | None] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        value: str | None
        error: BaseException | None = None
        try:
            value = read()
        except EOFError:
            value = None
        except BaseException as exc:  # e.g. a closed stream: end the chat, not the process
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name="terminal-chat-reader", daemon=True).start()
    return future


class _FdLines:
    """Lines from a file descriptor with os.read: no Python-level stream lock is held while
    blocked, so the interpreter can exit while a read is pending."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def __call__(self) -> str:
        while b"\n" not in self.buffer and not self.eof:
            chunk = os.read(self.fd, 65536)
            self.eof = not chunk
            self.buffer += chunk
        if not self.buffer:
            raise EOFError
        line, sep, rest = self.buffer.partition(b"\n")
        self.buffer = rest
        return (line + sep).decode("utf-8", errors="replace")


def _reader(stream: TextIO, interactive: bool) -> Callable[[], str]:
    if stream is sys.stdin:
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
            return lambda: input(PROMPT)
        try:
            return _FdLines(stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def read() -> str:
        line = stream.readline()
        if line == "":
            raise EOFError
        return line

    return read


async def run_terminal_chat(
    engine: Engine,
    config: Config,
    *,
    stream: TextIO | None = None,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
    interactive: bool | None = None,
) -> int:
    """Answer lines until "quit", end of input or `stop`; returns the exit code (0)."""
    stream = sys.stdin if stream is None else stream
    console = console or Console()
    if interactive is None:
        interactive = stream.isatty()
    read = _reader(stream, interactive)
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    if interactive:
        console.print(BANNER)
    saved_tty = _save_tty(stream) if interactive else None
    stop_wait = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            pending = _read_in_thread(loop, read)
            done, _ = await asyncio.wait({pending, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if pending not in done:
                pending.cancel()
                break
            try:
                line = pending.result()
            except Exception as exc:
                log.warning("terminal input closed: %s", type(exc).__name__)
                break
            if line is None:
                if interactive:
                    console.print()
                break
            text = command_text(line)
            if text is None:
                break
            if not text and not line.strip():
                continue
            msg = await asyncio.to_thread(answer, engine, config, text)
            try:
                render_terminal(msg, console)
            except Exception:
                log.exception("terminal rendering failed")
                console.print(msg.text, markup=False)
    finally:
        stop_wait.cancel()
        _restore_tty(stream, saved_tty)
    return 0


def _save_tty(stream: TextIO) -> list | None:  # type: ignore[type-arg]
    """Terminal settings, so a shutdown in the middle of a readline() leaves the shell usable."""
    try:
        import termios

        return termios.tcgetattr(stream.fileno())
    except (ImportError, OSError, ValueError, AttributeError):
        return None


def _restore_tty(stream: TextIO, saved: list | None) -> None:  # type: ignore[type-arg]
    if saved is None:
        return
    try:
        import termios

        termios.tcsetattr(stream.fileno(), termios.TCSADRAIN, saved)
    except (ImportError, OSError, ValueError):
        pass
