"""Aligned monospace tables for chat code blocks (Slack and Discord share the layout).

Cells arrive as neutral inline Markdown; inside a code block links and bold cannot show, so
cells become plain text and the caller lists links elsewhere. Widths are measured in
terminal cells (CJK counts double) and capped so a table stays readable on a phone.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, set_cell_size

from sotabot.bot.render.inline import ELLIPSIS, plain_text
from sotabot.digests.message import Table

TABLE_MAX_WIDTH = 64  # characters per line before chat clients start wrapping
MIN_COLUMN_WIDTH = 3
_CONTROL = {ord(c): " " for c in "\t\n\r\x0b\x0c"}


def _cell(md: str) -> str:
    # a backtick run would close the surrounding code block
    return plain_text(md).translate(_CONTROL).replace("`", "ˋ").strip()


def _fit(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)) + ELLIPSIS


def table_lines(table: Table, max_width: int = TABLE_MAX_WIDTH) -> tuple[list[str], list[str]]:
    """(header lines, body lines) with every line at most `max_width` cells wide."""
    ncols = max([len(table.columns), *(len(r) for r in table.rows)], default=0)
    if ncols == 0:
        return [], []
    header = [_cell(c) for c in table.columns] + [""] * (ncols - len(table.columns))
    rows = [[_cell(c) for c in r] + [""] * (ncols - len(r)) for r in table.rows]
    align = list(table.align) + ["l"] * (ncols - len(table.align))
    widths = [max(cell_len(r[i]) for r in [header, *rows]) for i in range(ncols)]
    gap = 2
    budget = max(max_width - gap * (ncols - 1), MIN_COLUMN_WIDTH * ncols)
    while sum(widths) > budget:
        widest = max(range(ncols), key=lambda i: widths[i])
        if widths[widest] <= MIN_COLUMN_WIDTH:
            break
        widths[widest] -= 1

    def line(cells: list[str]) -> str:
        out = []
        for i, text in enumerate(cells):
            text = _fit(text, widths[i])
            pad = " " * (widths[i] - cell_len(text))
            out.append(pad + text if align[i] == "r" else text + pad)
        return (" " * gap).join(out).rstrip()[: max_width * 2]

    head = [line(header), "-" * min(sum(widths) + gap * (ncols - 1), max_width)] if any(header) else []
    return head, [line(r) for r in rows]


def code_blocks(table: Table, limit: int, escape: Callable[[str], str] = str) -> list[str]:
    """The table as ``` blocks of at most `limit` characters, header repeated in each."""
    head, body = table_lines(table)
    if not head and not body:
        return []
    fence_open, fence_close = "```\n", "\n```"
    fixed = len(fence_open) + len(fence_close)
    head_text = "\n".join(escape(h) for h in head)
    blocks: list[str] = []
    current: list[str] = []
    size = fixed + len(head_text)
    for row in body:
        row_text = escape(row)
        if len(row_text) + fixed + len(head_text) + 1 > limit:  # one absurd row: cut it
            row_text = row_text[: max(0, limit - fixed - len(head_text) - 2)] + ELLIPSIS
        extra = len(row_text) + (1 if (current or head_text) else 0)
        if current and size + extra > limit:
            blocks.append(fence_open + "\n".join(filter(None, [head_text, *current])) + fence_close)
            current, size = [], fixed + len(head_text)
            extra = len(row_text) + (1 if head_text else 0)
        current.append(row_text)
        size += extra
    if current or not blocks:
        blocks.append(fence_open + "\n".join(filter(None, [head_text, *current])) + fence_close)
    return blocks
