"""The real archive files every archive test reads (recorded data, through `fixture_files`)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def pwc_tables(fixture_files) -> Path:
    """The folder of real evaluation-tables files."""
    return fixture_files.pwc_tables


@pytest.fixture(scope="module")
def table_files(pwc_tables: Path) -> list[Path]:
    """Every real leaderboard file in that folder."""
    return sorted(pwc_tables.glob("*.json"))


@pytest.fixture(scope="module")
def links_file(fixture_files) -> Path:
    return fixture_files.upstream / "pwc_links_between_papers_and_code_excerpts.json"


@pytest.fixture(scope="module")
def papers_file(fixture_files) -> Path:
    return fixture_files.upstream / "pwc_papers_with_abstracts_first_entry.json"
