"""Where the project's recorded upstream data lives: the `fixture_files` fixture's type and root.

Tests reach the files through the `fixture_files` fixture (tests/conftest.py); benches, which
run outside pytest, use `project_fixtures()`, so both read the same folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # README.md there says where each file is from


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


def project_fixtures() -> FixtureFiles:
    """The checkout's own tests/fixtures (for code that runs outside pytest, such as bench/)."""
    return FixtureFiles(FIXTURES)
