"""Terminal rendering: readable, literal user text, visible URLs."""

from __future__ import annotations

import io

from rich.console import Console

from sotabot.bot.render.terminal import render_terminal
from sotabot.digests.message import Context, Fields, Header, Image, Message, Section, Table


def _out(msg: Message) -> str:
    buf = io.StringIO()
    render_terminal(msg, Console(file=buf, width=100, color_system=None))
    return buf.getvalue()


def test_leaderboard_shapes_print_as_text_with_urls() -> None:
    out = _out(Message("x", [
        Header("Object Detection"),
        Section("**COCO** · [Co-DETR](https://arxiv.org/abs/2211.12860)"),
        Table(columns=["#", "Model", "box AP"], rows=[["1", "Co-DETR", "66.0"]], align=["r", "l", "r"]),
        Fields([("Tasks", "a, b")]),
        Context("Data: archive"),
        Image(alt="chart", path="/tmp/c.png"),
    ]))
    for part in ("Object Detection", "COCO", "Co-DETR (https://arxiv.org/abs/2211.12860)", "box AP", "66.0",
                 "Tasks", "Data: archive", "[chart: /tmp/c.png]"):
        assert part in out


def test_rich_markup_in_user_text_prints_literally() -> None:
    out = _out(Message("x", [Section("[bold red]not markup[/] \\*\\*x\\*\\*")]))
    assert "[bold red]not markup[/] **x**" in out


def test_message_without_blocks_prints_its_text() -> None:
    assert "plain answer" in _out(Message("plain answer"))
