"""What an archive import reports, and the error it raises for a file it cannot use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SOURCE = "pwc_archive"
STATE_PREFIX = "archive:"  # source_state rows of archive imports: archive:<hub repo>, archive:starter
ProgressCallback = Callable[[int, int | None, str], None]
"""progress(done_bytes, total_bytes_or_None, stage) with stage "download" or "import"."""


class ArchiveError(Exception):
    """A file the importer cannot use; the message names the file and the problem.

    `rolled_back` is True when the error came after writing had begun (and was undone).
    """

    rolled_back = False


@dataclass


class ImportReport:
    """What one file import did: per kind of row, how many were new, updated or already there."""

    kind: str
    source: str
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    rows: int = 0  # records read from the file (result rows, links, papers)
    duplicates: int = 0  # records that repeat an earlier record of the same file
    skipped: int = 0  # records with nothing usable (no paper key, not a repository URL, ...)
    bytes_read: int = 0
    elapsed: float = 0.0
    reader_peak_mb: float = 0.0  # peak memory of the second-process reader, when one was used
    transactions: int = 0  # chunks committed (each held the write lock only while it wrote)
    longest_transaction: float = 0.0  # seconds: how long others waited at most for the write lock

    def add(self, what: str, *, inserted: int = 0, updated: int = 0, seen: int = 0) -> None:
        if inserted:
            self.inserted[what] = self.inserted.get(what, 0) + inserted
        if updated:
            self.updated[what] = self.updated.get(what, 0) + updated
        if seen:
            self.seen[what] = self.seen.get(what, 0) + seen

    @property
    def unchanged(self) -> dict[str, int]:
        out = {}
        for what, seen in self.seen.items():
            rest = seen - self.inserted.get(what, 0) - self.updated.get(what, 0)
            if rest > 0:
                out[what] = rest
        return out

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "nothing"

        parts = [f"{self.source}: {self.rows} records in {self.elapsed:.1f}s", f"new {fmt(self.inserted)}"]
        if self.updated:
            parts.append(f"updated {fmt(self.updated)}")
        if self.unchanged:
            parts.append(f"unchanged {fmt(self.unchanged)}")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate records")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return "; ".join(parts)
