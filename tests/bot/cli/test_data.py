"""`sotabot data update`: the archive from a local server that behaves like the Hugging Face Hub,
serving Parquet shards built from the real fixture tables. It imports what the JSON path imports,
a second run downloads and changes nothing, and a cut shard or a 500 leaves the database as it was."""

from __future__ import annotations

import pytest
from sqlmodel import SQLModel

from sotabot.bot.cli import main
from sotabot.sources.archive.links import import_links
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.db import make_engine, upgrade
from tests.fakes.hub import FakeHub
from tests.fakes.upstream import Fault
from tests.sources.archive.archive_content import archive_content
from tests.sources.archive.parquet_files import parquet_from_json

TABLES = "pwc-archive/evaluation-tables"
LINKS = "pwc-archive/links-between-paper-and-code"
PAPERS = "pwc-archive/papers-with-abstracts"
SHARD_SOURCES = ("snli.json", "squad.json", "redditsota.json")


@pytest.fixture(scope="module")
def shards(fixture_files, tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """Each repository's files as the Hub lists them: data/train-0000N-of-0000M.parquet (and a README)."""
    folder = tmp_path_factory.mktemp("hub-shards")
    tables = {}
    for i, name in enumerate(SHARD_SOURCES):
        path = parquet_from_json(fixture_files.pwc_tables / name, folder / f"t{i}.parquet", row_group_size=1)
        tables[f"data/train-{i:05d}-of-{len(SHARD_SOURCES):05d}.parquet"] = path.read_bytes()
    links = parquet_from_json(fixture_files.upstream / "pwc_links_between_papers_and_code_excerpts.json",
                              folder / "links.parquet", row_group_size=2)
    papers = parquet_from_json(fixture_files.upstream / "pwc_papers_with_abstracts_first_entry.json",
                               folder / "papers.parquet")
    readme = {"README.md": b"---\nlicense: cc-by-sa-4.0\n---\n"}
    return {
        TABLES: {**tables, **readme},
        LINKS: {"data/train-00000-of-00001.parquet": links.read_bytes(), **readme},
        PAPERS: {"data/train-00000-of-00001.parquet": papers.read_bytes(), **readme},
    }


@pytest.fixture
def hub(shards, monkeypatch, tmp_path):
    with FakeHub() as server:
        for repo, files in shards.items():
            server.publish(repo, files)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.delenv("HF_HUB_CACHE", raising=False)
        yield server


def error_line(capsys) -> str:
    """The command's error: the last line on stderr (huggingface_hub's retry warnings are log lines above it)."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and lines[-1].startswith("sotabot: data update: "), lines[-3:]
    return lines[-1]


def leaderboards(engine) -> dict[str, list[tuple]]:
    """Every table but source_state (where a failed update records its error)."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name != "source_state":
                out[table.name] = [tuple(r) for r in conn.execute(table.select().order_by(*table.primary_key.columns))]
    return out


def test_data_update_imports_what_the_json_path_imports(hub, db, tmp_path, capsys, fixture_files):
    assert main(["data", "update"]) == 0
    out = capsys.readouterr().out
    assert TABLES in out and LINKS in out and "3 shards" in out
    reference = make_engine(f"sqlite:///{tmp_path / 'json.db'}")
    upgrade(reference)
    for name in SHARD_SOURCES:
        import_tables(reference, fixture_files.pwc_tables / name)
    import_links(reference, fixture_files.upstream / "pwc_links_between_papers_and_code_excerpts.json")
    want, got = archive_content(reference), archive_content(db)
    reference.dispose()
    for what in ("tasks", "aliases", "datasets", "benchmarks", "results", "values", "links"):
        assert got[what] == want[what], what
    assert not hub.requests_to(f"/api/datasets/{PAPERS}"), "papers-with-abstracts only with --papers"
    assert all("/resolve/" not in r.path or r.path.endswith(".parquet") for r in hub.log)


def test_a_second_run_with_the_same_revision_downloads_and_changes_nothing(hub, db, capsys):
    assert main(["data", "update"]) == 0
    before = leaderboards(db)
    downloads = len(hub.requests_to("/datasets/"))
    assert main(["data", "update"]) == 0
    assert "already imported" in capsys.readouterr().out
    assert len(hub.requests_to("/datasets/")) == downloads
    assert leaderboards(db) == before


def test_papers_come_with_the_flag(hub, db, capsys):
    assert main(["data", "update", "--papers"]) == 0
    assert PAPERS in capsys.readouterr().out
    assert archive_content(db)["papers"]


def test_a_new_revision_with_a_cut_shard_leaves_the_database_as_it_was(hub, db, shards, capsys):
    assert main(["data", "update"]) == 0
    before = leaderboards(db)
    files = dict(shards[TABLES])
    name = "data/train-00001-of-00003.parquet"
    files[name] = files[name][: len(files[name]) // 2]
    hub.publish(TABLES, files)
    capsys.readouterr()
    assert main(["data", "update"]) == 1
    err = error_line(capsys)
    assert TABLES in err and "truncated or invalid Parquet" in err
    assert leaderboards(db) == before


def test_a_hub_error_is_one_line_naming_the_repository_and_stores_nothing(hub, db, capsys, monkeypatch):
    import huggingface_hub.utils._http as hf_http

    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)  # its five retries, without the waits
    upgrade(db)
    before = leaderboards(db)
    hub.fail(f"/datasets/{LINKS}/resolve/", Fault("status", status=500), times=50)
    assert main(["data", "update"]) == 1
    err = error_line(capsys)
    assert LINKS in err and "download failed" in err
    assert leaderboards(db) == before  # the tables downloaded fine, but nothing is imported before all is here
    hub.faults.clear()  # the Hub is back: the update completes
    assert main(["data", "update"]) == 0
    assert leaderboards(db)["results"] and leaderboards(db)["paper_repos"]


def test_an_unreachable_hub_is_one_line_naming_the_repository(db, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    assert main(["data", "update"]) == 1
    assert TABLES in error_line(capsys)


def test_after_the_update_answers_say_they_come_from_the_archive_and_when(hub, db, capsys):
    import json
    from datetime import UTC, datetime

    assert main(["data", "update"]) == 0
    capsys.readouterr()
    assert main(["sota", "question answering", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["data_sources"]] == ["Papers with Code archive"]
    assert data["as_of"] == datetime.now(UTC).date().isoformat()
    assert {(r["source"], r["verified"]) for r in data["rows"]} == {("pwc_archive", True)}
    assert main(["sota", "question answering"]) == 0
    footer = capsys.readouterr().out.strip().splitlines()[-1]
    # the Hub revision's lastModified, not today; the data's licence credited
    assert footer == "Papers with Code archive (CC BY-SA 4.0), snapshot 2025-07"
