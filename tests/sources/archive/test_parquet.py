"""Importing the archive from Parquet (as the Hugging Face Hub distributes it): the same real tables,
links and papers land as from the JSON dumps, a file is read one row group at a time, and a cut or
foreign file is one clear error that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sotabot.sources.archive.links import import_links
from sotabot.sources.archive.papers import import_papers
from sotabot.sources.archive.parquet import parquet_records
from sotabot.sources.archive.report import ArchiveError
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.models import Benchmark, Result, Task
from tests.sources.archive.archive_content import archive_content
from tests.sources.archive.parquet_files import parquet_from_json
from tests.sources.archive.test_importer import count, expected_counts, snapshot


@pytest.fixture(scope="module")
def parquet_tables(table_files, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parquet-tables")
    return [parquet_from_json(path, folder / f"{path.stem}.parquet") for path in table_files]


def test_arrow_inference_really_fills_missing_keys_with_nulls(parquet_tables):
    """The premise: in the file every row carries every metric of the table, most of them null."""
    squad = next(p for p in parquet_tables if p.stem == "squad")
    raw = pq.ParquetFile(squad).read_row_group(0).to_pylist()[0]
    rows = [row for ds in raw["datasets"] for row in ds["sota"]["rows"]]
    assert any(None in row["metrics"].values() for row in rows) or any(row.get("paper_date") is None for row in rows)
    assert pq.ParquetFile(parquet_tables[0]).num_row_groups >= 1


def test_records_read_back_as_the_json_records_without_their_nulls(table_files, parquet_tables):
    def without_nulls(value):  # and numbers as floats: Arrow widens a column of ints and floats
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value if v is not None]
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    for source, parquet in zip(table_files, parquet_tables, strict=True):
        want = without_nulls(json.loads(source.read_text()))
        got = without_nulls(list(parquet_records(parquet, str(parquet), "tasks")))
        assert len(got) == len(want), source.name
        for a, b in zip(got, want, strict=True):
            assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), source.name


def test_a_row_group_is_read_in_batches_of_rows_in_order(links_file, tmp_path, monkeypatch):
    """A Hub shard's one big row group must not become one list of dicts: rows come BATCH_ROWS at a time."""
    from sotabot.sources.archive import parquet

    links = parquet_from_json(links_file, tmp_path / "links.parquet", row_group_size=10_000)
    assert pq.ParquetFile(links).num_row_groups == 1
    whole = list(parquet_records(links, "links", "links"))
    sizes: list[int] = []
    real = pq.ParquetFile.iter_batches

    def watched(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(parquet, "BATCH_ROWS", 2)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", watched)
    assert list(parquet_records(links, "links", "links")) == whole
    assert len(whole) > 2 and max(sizes) == 2 and sum(sizes) == len(whole)


def test_parquet_tables_import_the_same_tasks_benchmarks_and_results_as_the_json(
    engine, sqlite_engine, table_files, parquet_tables
):
    """Parquet on each backend against JSON on SQLite, compared by natural keys."""
    for path in table_files:
        import_tables(sqlite_engine, path)
    reports = [import_tables(engine, path) for path in parquet_tables]
    want = archive_content(sqlite_engine)
    got = archive_content(engine)
    for what in want:
        assert got[what] == want[what], what
    counts = expected_counts(table_files)
    assert sum(r.rows for r in reports) == counts["rows"]
    assert (count(engine, Task), count(engine, Benchmark), count(engine, Result)) == (
        counts["tasks"], counts["benchmarks"], counts["results"]
    )


def test_reimporting_the_parquet_files_changes_nothing(sqlite_engine, parquet_tables):
    for path in parquet_tables:
        import_tables(sqlite_engine, path)
    before = snapshot(sqlite_engine)
    assert [p.name for p in parquet_tables if import_tables(sqlite_engine, p).changed] == []
    assert snapshot(sqlite_engine) == before


def test_parquet_links_and_papers_import_like_the_json(engine, sqlite_engine, tmp_path, links_file, papers_file):
    links_pq = parquet_from_json(links_file, tmp_path / "links.parquet", row_group_size=2)
    papers_pq = parquet_from_json(papers_file, tmp_path / "papers.parquet")
    assert import_links(engine, links_pq).inserted["links"] == 4
    assert import_papers(engine, papers_pq).rows == 1
    assert not import_links(engine, links_file).changed
    assert not import_papers(engine, papers_file).changed
    import_links(sqlite_engine, links_file)
    import_papers(sqlite_engine, papers_file)
    got, want = archive_content(engine), archive_content(sqlite_engine)
    assert (got["links"], got["papers"]) == (want["links"], want["papers"])


def test_null_and_empty_read_alike(engine, tmp_path):
    """A links record whose framework is missing in one row and null in another, authors null or []."""
    import pyarrow as pa

    links = [
        {"paper_arxiv_id": "2101.00001", "paper_title": "A", "repo_url": "https://github.com/a/a", "is_official": True,
         "framework": "pytorch"},
        {"paper_arxiv_id": "2101.00002", "paper_title": "B", "repo_url": "https://github.com/b/b"},
        {"paper_arxiv_id": "2101.00003", "paper_title": "C", "repo_url": "https://github.com/c/c", "framework": None,
         "is_official": None},
    ]
    path = tmp_path / "links.parquet"
    pq.write_table(pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(links))]), path)
    report = import_links(engine, path)
    assert (report.rows, report.inserted["links"], report.skipped) == (3, 3, 0)
    papers = [
        {"arxiv_id": "2101.00002", "title": "B", "authors": None, "abstract": "b"},
        {"arxiv_id": "2101.00003", "title": "C", "authors": [], "date": "2021-01-02"},
    ]
    path = tmp_path / "papers.parquet"
    pq.write_table(pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(papers))]), path)
    assert import_papers(engine, path).rows == 2


def test_a_truncated_parquet_file_is_one_clear_error_and_changes_nothing(engine, tmp_path, parquet_tables):
    import_tables(engine, parquet_tables[0])
    before = snapshot(engine)
    cut = tmp_path / "cut.parquet"
    data = next(p for p in parquet_tables if p.stem == "eff").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="truncated or invalid Parquet") as err:
        import_tables(engine, cut)
    assert str(cut) in str(err.value) and "\n" not in str(err.value)
    assert snapshot(engine) == before


def test_metrics_carried_as_json_text_read_like_an_object(engine, tmp_path):
    import pyarrow as pa

    tasks = [{"task": "T", "datasets": [{"dataset": "D", "sota": {"metrics": ["Acc"], "rows": [
        {"model_name": "M", "metrics": json.dumps({"Acc": "91.5"}), "paper_url": "https://arxiv.org/abs/2101.00001"},
    ]}}]}]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(tasks))]), path)
    assert import_tables(engine, path).inserted["values"] == 1
