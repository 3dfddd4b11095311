"""The archive importers by the name `sotabot import` gives them."""

from __future__ import annotations

from collections.abc import Callable

from sotabot.sources.archive.links import import_links
from sotabot.sources.archive.papers import import_papers
from sotabot.sources.archive.report import ImportReport
from sotabot.sources.archive.tables import import_tables

IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "pwc-tables": import_tables,
    "pwc-links": import_links,
    "pwc-papers": import_papers,
}
