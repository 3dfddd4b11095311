"""Message -> rich output for the terminal channel and the CLI.

Text is built as `rich.text.Text` objects, never as markup strings, so a task name or a
model called "[bold]" prints literally. Links are OSC-8 hyperlinks where the terminal supports
them and also show their URL as "text (url)", since a terminal user copies it.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text

from sotabot.bot.render.inline import parse_inline, plain_text
from sotabot.digests.message import Context, Divider, Fields, Header, Image, Item, Message, Section, Table


def inline_text(md: str, base: str = "") -> Text:
    """Neutral inline Markdown as a styled rich Text."""
    out = Text(style=base)
    for span in parse_inline(md):
        if span.kind == "bold":
            out.append(span.text, style="bold")
        elif span.kind == "italic":
            out.append(span.text, style="italic")
        elif span.kind == "code":
            out.append(span.text, style="bold cyan")
        elif span.kind == "link" and span.url:
            out.append(span.text, style=Style(underline=True, bold=span.strong or None, link=span.url))
            if span.text.strip() != span.url:
                out.append(f" ({span.url})", style="dim")
        else:
            out.append(span.text)
    return out


def render_terminal(msg: Message, console: Console) -> None:
    """Print the message; errors in red, small print dimmed."""
    error = msg.kind in ("error", "usage")
    if not msg.blocks:
        console.print(inline_text(msg.text, "red" if error else ""))
        return
    for block in [*msg.blocks, *msg.thread]:
        if isinstance(block, Header):
            console.print(Text(plain_text(block.text), style="bold underline"))
        elif isinstance(block, Section):
            console.print(inline_text(block.text, "red" if error else ""))
        elif isinstance(block, Item):
            console.print(inline_text(block.markdown()))
        elif isinstance(block, Fields):
            grid = RichTable.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column()
            for label, value in block.pairs:
                grid.add_row(inline_text(label), inline_text(value))
            console.print(grid)
        elif isinstance(block, Table):
            table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for i, col in enumerate(block.columns):
                justify = "right" if i < len(block.align) and block.align[i] == "r" else "left"
                table.add_column(inline_text(col), justify=justify, overflow="fold")
            for row in block.rows:
                cells = [inline_text(c) for c in row[: len(block.columns)]]
                cells += [Text("")] * (len(block.columns) - len(cells))
                table.add_row(*cells)
            console.print(table)
        elif isinstance(block, Context):
            console.print(inline_text(block.text, "dim"))
        elif isinstance(block, Divider):
            console.rule(style="dim")
        elif isinstance(block, Image):
            where = block.path or block.url or ""
            console.print(Text(f"[{plain_text(block.alt) or 'image'}: {where}]", style="dim"))
