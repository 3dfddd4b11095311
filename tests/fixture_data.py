"""The type of the `fixture_files` fixture (tests/conftest.py), importable for annotations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FixtureFiles:
    """The project's copy of real upstream data (tests/fixtures), by folder."""

    root: Path

    @property
    def upstream(self) -> Path:
        return self.root / "upstream"

    @property
    def pwc_tables(self) -> Path:
        return self.root / "pwc-evaluation-tables"

    @property
    def pwc_api(self) -> Path:
        return self.root / "paperswithcode-co"

    @property
    def hf_leaderboards(self) -> Path:
        return self.root / "huggingface-leaderboards"
