"""The terminal channel answers the chat commands from a stream, with no network or token."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.bot.platforms.terminal import TERMINAL_CONTEXT, command_text, run_terminal_chat
from sotabot.bot.settings import Config
from sotabot.storage.models import Channel, Subscription
from tests.bot.seed_leaderboards import TOP_MODEL, seed_leaderboards


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=140, force_terminal=False, color_system=None), out


async def chat(engine: Engine, text: str) -> tuple[int, str]:
    con, out = console()
    code = await run_terminal_chat(engine, Config(), stream=io.StringIO(text), console=con, interactive=False)
    return code, out.getvalue()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_leaderboards(engine)
    return engine


async def test_a_sota_line_prints_the_leaderboard(seeded):
    code, out = await chat(seeded, "/sota image classification\nquit\n")
    assert code == 0
    assert TOP_MODEL in out
    assert "ImageNet" in out


async def test_the_slash_is_optional_and_so_is_the_word_sota(seeded):
    for line in ("sota image classification", "image classification", "/SOTA   image classification"):
        code, out = await chat(seeded, line + "\n")
        assert (code, TOP_MODEL in out) == (0, True), line


async def test_end_of_input_ends_the_chat_cleanly(seeded):
    assert await chat(seeded, "") == (0, "")
    code, out = await chat(seeded, "/sota image classification")  # no newline, then EOF
    assert code == 0 and TOP_MODEL in out


async def test_quit_stops_before_later_lines(seeded):
    code, out = await chat(seeded, "quit\n/sota image classification\n")
    assert code == 0
    assert TOP_MODEL not in out


async def test_help_and_bad_input_get_short_answers_not_tracebacks(seeded):
    code, out = await chat(seeded, "help\n/sota\n/sota ' OR 1=1; DROP TABLE tasks; --\n\n/sota \u2603\u0000\n")
    assert code == 0
    assert "Traceback" not in out
    assert out.strip()


async def test_settings_made_in_the_terminal_belong_to_the_terminal_channel(seeded):
    code, _ = await chat(seeded, "/sota subscribe image-classification\n")
    assert code == 0
    with Session(seeded) as s:
        (channel,) = s.exec(select(Channel)).all()
        (sub,) = s.exec(select(Subscription)).all()
    assert (channel.platform, channel.workspace, channel.channel) == ("terminal", "local", "terminal")
    assert sub.target == "image-classification"
    assert TERMINAL_CONTEXT.can_manage is True


async def test_a_pipe_that_closes_ends_the_chat(seeded):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"/sota image classification\n")
    os.close(write_fd)
    con, out = console()
    with os.fdopen(read_fd) as stream:
        code = await run_terminal_chat(seeded, Config(), stream=stream, console=con, interactive=False)
    assert code == 0
    assert TOP_MODEL in out.getvalue()


async def test_the_stop_event_ends_a_chat_waiting_for_input(seeded):
    read_fd, write_fd = os.pipe()
    stop = asyncio.Event()
    con, _ = console()
    stream = os.fdopen(read_fd)
    task = asyncio.create_task(run_terminal_chat(seeded, Config(), stream=stream, console=con, stop=stop))
    await asyncio.sleep(0.05)
    stop.set()
    assert await asyncio.wait_for(task, timeout=10) == 0
    os.close(write_fd)  # lets the reader thread see EOF before the stream closes
    await asyncio.sleep(0.05)
    stream.close()


def test_command_text_strips_the_command_prefix_only():
    assert command_text("/sota image classification") == "image classification"
    assert command_text("sota  paper 2411.17700 ") == "paper 2411.17700"
    assert command_text("sotabench") == "sotabench"
    assert command_text("/sota") == ""
    assert command_text("quit") is None
    assert command_text(" EXIT ") is None
