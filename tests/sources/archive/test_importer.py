"""Importing the Papers with Code archive: the real leaderboard files land whole, counts match
the JSON, values parse, directions are right, nothing changes on a second import, and a bad file
leaves the database exactly as it was."""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from sotabot.bot.settings import Config
from sotabot.sources.archive.links import import_links
from sotabot.sources.archive.papers import import_papers
from sotabot.sources.archive.report import ArchiveError
from sotabot.sources.archive.starter import STARTER_FILE, ensure_starter_data
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.normalise.taxonomy import CURATED_ALIASES, slugify
from sotabot.sources.normalise.variants import CURATED_DATASET_VARIANTS, CURATED_TASK_DATASET_VARIANTS
from sotabot.storage.models import (
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultValue,
    Task,
    TaskAlias,
)
from tests.fakes.upstream import FakeUpstream, Fault, Reply


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: 'nothing changed' means equal snapshots."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(table.select().order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
    return out


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()[0]


# -- what the JSON says, computed here without the importer ----------------------------------

_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5}|[a-z-]+/\d{7})", re.IGNORECASE)


def _words(text) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def _dataset_key(name: str, slug: str) -> str:
    """One dataset, spelled in several ways: case, punctuation and a "v" before a version aside, and the
    curated variants (the lists are data: "PTB" is Language Modelling's word-level Penn Treebank)."""
    words = re.sub(r"[^0-9a-z]+", " ", name.lower()).split()
    key = "".join(re.sub(r"^v(?=\d)", "", w) for w in words)
    key = CURATED_DATASET_VARIANTS.get(key, key)
    return CURATED_TASK_DATASET_VARIANTS.get(slug, {}).get(key, key)


def expected_counts(files: list[Path]) -> dict[str, int]:
    """Tasks by slug, benchmarks by (task, dataset path), results by (benchmark, model, paper).

    As the importer merges them: a task named by a curated alias of a task already seen is that
    task; a top-level dataset spelled like one the task already has is that benchmark; a model named
    with a trailing "(YYYY)" beside the same model without it, same paper, same values, is that result."""
    tasks: set[str] = set()
    benchmarks: set[tuple] = set()
    results: set[tuple] = set()
    said: dict[tuple, set] = {}  # (benchmark, model without its year, paper) -> the values its rows carry
    first_spelling: dict[tuple[str, str], str] = {}
    curated = {" ".join(re.sub(r"[^0-9a-z]+", " ", a.lower()).split()): t for a, t in CURATED_ALIASES.items()}
    rows = 0

    def walk_dataset(slug: str, node: dict, parent: tuple) -> None:
        nonlocal rows
        name = _words(node.get("dataset") or node.get("subdataset"))
        if not parent:
            name = first_spelling.setdefault((slug, _dataset_key(name, slug)), name)
        path = (*parent, name)
        sota = node.get("sota")
        if isinstance(sota, dict):
            benchmarks.add((slug, path))
            for index, row in enumerate(sota.get("rows") or []):
                rows += 1
                # a blank model name is a real anonymous entry: named by its paper, else by its row
                url = (row.get("paper_url") or "").strip()
                model = (html.unescape(_words(row["model_name"])) or html.unescape(_words(row.get("paper_title")))
                         or url or f"Anonymous entry #{index + 1}")
                match = _ARXIV.search(url)
                paper = match.group(1) if match else url
                if (slug, path, model, paper) in results:
                    continue
                values = json.dumps(row.get("metrics"), sort_keys=True)
                twin = (slug, path, re.sub(r"\s*\((?:19|20)\d\d\)$", "", model), paper)
                if paper and values in said.get(twin, set()):
                    continue
                said.setdefault(twin, set()).add(values)
                results.add((slug, path, model, paper))
        for sub in node.get("subdatasets") or []:
            walk_dataset(slug, sub, path)

    def walk_task(node: dict) -> None:
        name = _words(node["task"])
        slug = slugify(name)
        target = curated.get(" ".join(re.sub(r"[^0-9a-z]+", " ", name.lower()).split()))
        if slug not in tasks and target in tasks:
            slug = target
        tasks.add(slug)
        for dataset in node.get("datasets") or []:
            walk_dataset(slug, dataset, ())
        for sub in node.get("subtasks") or []:
            walk_task(sub)

    for path in files:
        for node in json.loads(path.read_text()):
            walk_task(node)
    return {"tasks": len(tasks), "benchmarks": len(benchmarks), "results": len(results), "rows": rows}


def test_the_fixture_directory_holds_the_real_leaderboards(table_files):
    assert len(table_files) >= 12
    assert expected_counts(table_files)["rows"] > 3500


# -- the real leaderboard files --------------------------------------------------------------


def test_importing_every_real_file_matches_the_counts_in_the_json(engine, table_files):
    reports = [import_tables(engine, path) for path in table_files]
    want = expected_counts(table_files)
    assert count(engine, Task) == want["tasks"]
    assert count(engine, Benchmark) == want["benchmarks"]
    assert count(engine, Result) == want["results"]
    assert sum(r.rows for r in reports) == want["rows"]
    # every benchmark's cached count is its number of results
    with Session(engine) as s:
        for bench in s.exec(select(Benchmark)).scalars():
            n = s.exec(select(func.count()).where(Result.benchmark_id == bench.id)).one()[0]
            assert bench.result_count == n


def test_each_real_file_alone_matches_its_own_counts(sqlite_engine, pwc_table_file):
    report = import_tables(sqlite_engine, pwc_table_file)
    want = expected_counts([pwc_table_file])
    assert count(sqlite_engine, Task) == want["tasks"]
    assert count(sqlite_engine, Benchmark) == want["benchmarks"]
    assert count(sqlite_engine, Result) == want["results"]
    assert report.rows == want["rows"]
    assert report.rows - report.duplicates == want["results"]


def test_lower_is_better_metrics_are_marked_lower(engine, table_files):
    for path in table_files:
        import_tables(engine, path)
    with Session(engine) as s:
        direction = dict(s.exec(select(Metric.name, Metric.direction)).all())
    for name in ("Error rate", "Test Error", "Top-1 Error", "Perplexity", "WER", "Percentage error"):
        assert direction[name] == "lower", name
    for name in ("Accuracy", "F1", "BLEU", "EM", "% Test Accuracy", "Percentage correct"):
        assert direction[name] == "higher", name


def _values(engine, raw: str) -> set:
    with Session(engine) as s:
        return set(s.exec(select(ResultValue.value).where(ResultValue.raw == raw)).scalars())


def test_values_parse_into_numbers_and_keep_the_raw_string(engine, pwc_tables):
    for name in ("ogb.json", "snli.json", "redditsota.json", "nlp-progress.json"):
        import_tables(engine, pwc_tables / name)
    assert _values(engine, "0.8428 ± 0.0014") == {0.8428}
    assert _values(engine, "220k") == {220_000.0}
    assert _values(engine, "3.0m") == {3_000_000.0}
    assert _values(engine, "15m") == {15_000_000.0}
    assert _values(engine, "80.3%") == {80.3}
    assert _values(engine, "0.25±0.005") == {0.25}
    assert _values(engine, "2.53 ± 0.40") == {2.53}
    assert _values(engine, "(32.76 32.07 26.26 22.74)") == {None}
    assert _values(engine, "-") == {None}
    assert _values(engine, "") == {None}


def test_a_row_missing_a_declared_metric_has_only_the_values_it_carries(engine, pwc_tables):
    import_tables(engine, pwc_tables / "redditsota.json")
    with Session(engine) as s:
        bench = s.exec(
            select(Benchmark).join(Dataset, Dataset.id == Benchmark.dataset_id).where(Dataset.name == "ImageNet-1k")
        ).scalar_one()
        declared = s.exec(
            select(Metric.name)
            .join(BenchmarkMetric, BenchmarkMetric.metric_id == Metric.id)
            .where(BenchmarkMetric.benchmark_id == bench.id)
            .order_by(BenchmarkMetric.position)
        ).scalars().all()
        assert declared[:2] == ["Test Error", "Top-1 Error"]
        primary = s.get(Metric, bench.primary_metric_id)
        assert primary.name == "Test Error"
        nasnet = s.exec(
            select(Result).where(Result.benchmark_id == bench.id, Result.paper_key == "1707.07012")
        ).scalar_one()
        names = s.exec(
            select(Metric.name).join(ResultValue, ResultValue.metric_id == Metric.id)
            .where(ResultValue.result_id == nasnet.id)
        ).scalars().all()
        assert names == ["Top-1 Error"]


def test_subtasks_and_subdatasets_keep_their_parents(engine, pwc_tables):
    import_tables(engine, pwc_tables / "nlp-progress.json")
    with Session(engine) as s:
        compression = s.exec(select(Task).where(Task.slug == "sentence-compression")).scalar_one()
        parent = s.get(Task, compression.parent_id)
        assert parent.slug == "summarization"
        subs = s.exec(select(Dataset).where(Dataset.parent_id.is_not(None))).scalars().all()
        assert {d.name for d in subs} >= {"Restricted", "Unrestricted", "General"}
        for sub in subs:
            bench = s.exec(select(Benchmark).where(Benchmark.dataset_id == sub.id)).scalars().first()
            assert bench is not None


def test_results_link_papers_by_arxiv_id_and_keep_code_date_and_extra_data(engine, pwc_tables):
    import_tables(engine, pwc_tables / "ogb.json")
    import_tables(engine, pwc_tables / "nlp-progress.json")
    with Session(engine) as s:
        arxiv = s.exec(select(Result).where(Result.paper_key == "1403.6652")).scalars().first()
        assert arxiv.paper_id is not None
        paper = s.get(Paper, arxiv.paper_id)
        assert paper.arxiv_id == "1403.6652"
        assert arxiv.result_date == date(2020, 7, 23)
        assert arxiv.code_url and arxiv.code_url.startswith("https://github.com/")
        other = s.exec(select(Result).where(Result.paper_url.like("%aclweb.org%"))).scalars().first()
        assert other.paper_key == other.paper_url
        assert s.exec(select(func.count()).where(Result.extra_data.is_(True))).one()[0] >= 0
        versions = s.exec(select(Paper.arxiv_id).where(Paper.arxiv_id.like("%v%"))).scalars().all()
        assert not [v for v in versions if re.search(r"v\d+$", v)]


def test_blank_model_names_are_named_by_their_paper_or_row(engine, pwc_tables):
    import_tables(engine, pwc_tables / "redditsota.json")
    import_tables(engine, pwc_tables / "squad.json")
    with Session(engine) as s:
        models = set(s.exec(select(Result.model)).scalars())
    assert "Dynamic Routing Between Capsules" in models
    assert "Anonymous entry #15" in models  # no name, no paper: never "(unnamed row 14)" as before
    assert not any(m.startswith("(unnamed row") for m in models)
    assert "" not in models


def test_reimporting_the_same_files_changes_nothing(engine, table_files):
    for path in table_files:
        import_tables(engine, path)
    before = snapshot(engine)
    for path in table_files:
        report = import_tables(engine, path)
        assert not report.changed, report.summary()
    assert snapshot(engine) == before


def test_a_gzipped_file_imports_like_the_plain_one(engine, tmp_path, pwc_tables):
    plain = pwc_tables / "snli.json"
    packed = tmp_path / "evaluation-tables.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    report = import_tables(engine, packed)
    assert report.inserted["results"] == expected_counts([plain])["results"]
    before = snapshot(engine)
    assert not import_tables(engine, plain).changed
    assert snapshot(engine) == before


def test_task_names_synonyms_and_curated_aliases_become_aliases(engine, tmp_path):
    tasks = [
        {"task": "Object Detection", "synonyms": ["object localisation"], "categories": ["Computer Vision"],
         "datasets": [{"dataset": "COCO", "sota": {"metrics": ["box AP"],
                                                   "rows": [{"model_name": "DINO", "metrics": {"box AP": "63.3"}}]}}],
         "subtasks": [{"task": "3D Object Detection", "datasets": []}]},
    ]
    path = tmp_path / "tables.json"
    path.write_text(json.dumps(tasks))
    import_tables(engine, path)
    with Session(engine) as s:
        aliases = {a.alias: (a.source, s.get(Task, a.task_id).slug) for a in s.exec(select(TaskAlias)).scalars()}
        task = s.exec(select(Task).where(Task.slug == "object-detection")).scalar_one()
        assert task.area == "Computer Vision"
    assert aliases["object detection"] == ("name", "object-detection")
    assert aliases["object localisation"] == ("dump", "object-detection")
    assert aliases["obj det"] == ("curated", "object-detection")
    assert aliases["od"] == ("curated", "object-detection")
    assert aliases["3d det"] == ("curated", "3d-object-detection")
    assert "semseg" not in aliases  # its task does not exist here


def test_metric_overrides_from_the_config_win(engine, pwc_tables):
    import_tables(engine, pwc_tables / "snli.json", Config(metrics={"% test accuracy": "lower"}))
    with Session(engine) as s:
        metric = s.exec(select(Metric).where(Metric.name == "% Test Accuracy")).scalar_one()
    assert metric.direction == "lower"


def test_results_written_by_another_source_are_left_alone(engine, pwc_tables):
    import_tables(engine, pwc_tables / "snli.json")
    with Session(engine) as s:
        result = s.exec(select(Result)).scalars().first()
        result.source = "pwc_api"
        result.code_url = "https://github.com/live/api"
        s.add(result)
        s.commit()
        rid = result.id
    import_tables(engine, pwc_tables / "snli.json")
    with Session(engine) as s:
        assert s.get(Result, rid).code_url == "https://github.com/live/api"


def test_the_starter_data_fills_an_empty_database_once(engine):
    assert ensure_starter_data(engine, Config()) is True
    with Session(engine) as s:
        task = s.exec(select(Task).where(Task.slug == "image-classification")).scalar_one()
        alias = s.exec(select(TaskAlias).where(TaskAlias.alias == "image classification")).scalar_one()
        assert alias.task_id == task.id
        assert s.exec(select(func.count()).where(Benchmark.task_id == task.id)).one()[0] > 0
    before = snapshot(engine)
    assert ensure_starter_data(engine, Config()) is False
    assert snapshot(engine) == before


def test_the_starter_data_never_goes_into_a_database_that_has_tasks(engine, pwc_tables):
    import_tables(engine, pwc_tables / "snli.json")
    assert ensure_starter_data(engine, Config()) is False
    assert count(engine, Task) == 1


def test_the_shipped_starter_file_is_rebuilt_byte_for_byte_from_the_fixtures(tmp_path, pwc_tables):
    from tools.build_starter import build

    out = build(pwc_tables, tmp_path / "starter.json.gz")
    assert out.read_bytes() == STARTER_FILE.read_bytes()


# -- bad input: one clear error, nothing stored ----------------------------------------------


@pytest.fixture
def loaded(engine, pwc_tables):
    """A database that already holds one real file, to prove nothing of it is lost."""
    import_tables(engine, pwc_tables / "snli.json")
    return engine


def _bad_row_file(tmp_path: Path, good_rows: int) -> Path:
    rows = [{"model_name": f"model {i}", "metrics": {"Accuracy": f"{i % 97}.5"}} for i in range(good_rows)]
    rows.append({"paper_title": "no model here", "metrics": {"Accuracy": "1"}})
    tasks = [{"task": "Bulk Task", "datasets": [{"dataset": "Bulk Set", "sota": {"metrics": ["Accuracy"],
                                                                                 "rows": rows}}]}]
    path = tmp_path / "bad-row.json"
    path.write_text(json.dumps(tasks))
    return path


def test_a_row_without_a_model_name_is_an_error_naming_where(loaded, tmp_path):
    before = snapshot(loaded)
    path = _bad_row_file(tmp_path, 3)
    with pytest.raises(ArchiveError) as err:
        import_tables(loaded, path)
    message = str(err.value)
    assert str(path) in message and "'Bulk Task'" in message and "'Bulk Set'" in message and "row 3" in message
    assert "model name" in message and "\n" not in message
    assert err.value.rolled_back
    assert snapshot(loaded) == before


def test_a_bad_row_after_thousands_of_written_rows_still_leaves_nothing(loaded, tmp_path):
    before = snapshot(loaded)
    with pytest.raises(ArchiveError, match="row 12000"):
        import_tables(loaded, _bad_row_file(tmp_path, 12_000))
    assert snapshot(loaded) == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "truncated or invalid JSON"),
        (b"hello, this is not json", "not JSON"),
        (b'{"task": "not a list"}', "JSON object"),
        (b"", "empty file"),
        (b"[1, 2, 3]", "task entry is not a JSON object"),
    ],
    ids=["truncated", "not-json", "object", "empty", "not-tasks"],
)
def test_a_broken_file_is_one_clear_error_and_changes_nothing(loaded, tmp_path, content, problem, pwc_tables):
    path = tmp_path / "broken.json"
    if content is None:  # a real file cut in the middle of a row
        content = (pwc_tables / "squad.json").read_bytes()[:50_000]
    path.write_bytes(content)
    before = snapshot(loaded)
    with pytest.raises(ArchiveError, match=re.escape(problem)) as err:
        import_tables(loaded, path)
    assert str(path) in str(err.value)
    assert snapshot(loaded) == before


def test_a_truncated_gzip_file_changes_nothing(loaded, tmp_path, pwc_tables):
    path = tmp_path / "cut.json.gz"
    packed = gzip.compress((pwc_tables / "squad.json").read_bytes())
    path.write_bytes(packed[: len(packed) // 2])
    before = snapshot(loaded)
    with pytest.raises(ArchiveError, match="truncated"):
        import_tables(loaded, path)
    assert snapshot(loaded) == before


def _one_huge_string(path: Path, megabytes: int, escaped_quotes: bool = False) -> Path:
    """A small .json.gz whose one record holds a string of `megabytes` MB (gzip packs it ~1000:1).

    `escaped_quotes`: an escaped quote (and an escaped backslash) in every megabyte, which a
    guard counting bytes between any two quote characters would take for the string's end.
    """
    block = b"a" * (1 << 20)
    if escaped_quotes:
        block = b'\\\\ \\"a' + block[6:]  # an escaped backslash, then an escaped quote: the string goes on
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'[{"paper_url": "https://arxiv.org/abs/2101.00001", "abstract": "')
        for _ in range(megabytes):
            out.write(block)
        out.write(b'"}]')
    return path


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "escaped-quotes"])
@pytest.mark.parametrize("importer", [import_papers, import_links, import_tables], ids=["papers", "links", "tables"])
def test_one_huge_string_in_a_small_gzip_fails_fast_with_bounded_memory(loaded, tmp_path, importer, escaped):
    import resource
    import time

    from sotabot.sources.archive import reader

    path = _one_huge_string(tmp_path / "bomb.json.gz", 400, escaped_quotes=escaped)
    assert path.stat().st_size < 1 << 20  # under a megabyte on disk, 400 MB unpacked
    before = snapshot(loaded)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ArchiveError, match=r"one JSON value is longer than 16 MB") as err:
        importer(loaded, path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert grown_mb < 4 * (reader.MAX_VALUE_BYTES >> 20)  # stopped near the cap, not at 400 MB
    assert time.monotonic() - started < 30
    assert snapshot(loaded) == before


def test_a_file_that_decompresses_past_the_cap_is_refused(loaded, tmp_path, monkeypatch):
    from sotabot.sources.archive import reader

    monkeypatch.setattr(reader, "MAX_DECOMPRESSED_BYTES", 1 << 20)
    rows = [
        {"paper_url": f"https://arxiv.org/abs/2101.{i:05d}", "repo_url": "https://github.com/a/b"} for i in range(20000)
    ]
    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(json.dumps(rows).encode()))
    before = snapshot(loaded)
    with pytest.raises(ArchiveError, match=r"decompresses to more than 1 MB"):
        import_links(loaded, path)
    assert snapshot(loaded) == before


def test_a_missing_file_is_named(loaded, tmp_path):
    with pytest.raises(ArchiveError, match="no such file") as err:
        import_tables(loaded, tmp_path / "nope.json")
    assert not err.value.rolled_back


# -- URLs --------------------------------------------------------------------------------------


def test_a_dump_can_be_imported_from_a_url(engine, pwc_tables):
    body = gzip.compress((pwc_tables / "snli.json").read_bytes())
    with FakeUpstream() as srv:
        srv.route("/pwc-archive/evaluation-tables.json.gz", Reply(200, body, {"Content-Type": "application/gzip"}))
        seen: list[tuple[int, int | None, str]] = []
        report = import_tables(engine, f"{srv.url}/pwc-archive/evaluation-tables.json.gz",
                               progress=lambda done, total, stage: seen.append((done, total, stage)))
    assert report.inserted["results"] == expected_counts([pwc_tables / "snli.json"])["results"]
    assert ("download" in {stage for *_, stage in seen}) and seen[-1][0] == len(body)


def test_a_failed_or_cut_download_stores_nothing(loaded, pwc_tables):
    before = snapshot(loaded)
    with FakeUpstream() as srv:
        srv.route("/dump.json", Reply(200, (pwc_tables / "squad.json").read_bytes()))
        srv.fail("/dump.json", Fault("truncate"))
        with pytest.raises(ArchiveError, match="download"):
            import_tables(loaded, f"{srv.url}/dump.json")
        with pytest.raises(ArchiveError, match="HTTP 404"):
            import_tables(loaded, f"{srv.url}/missing.json")
    assert snapshot(loaded) == before


# -- links and papers ----------------------------------------------------------------------


def test_links_create_repos_and_official_links_by_arxiv_id(engine, links_file):
    report = import_links(engine, links_file)
    assert report.inserted == {"papers": 4, "repos": 4, "links": 4}
    with Session(engine) as s:
        repos = set(s.exec(select(Repo.url)).scalars())
        assert "https://github.com/leongeiger/kerr" in repos
        assert all(url == url.lower() for url in repos)
        rows = s.exec(select(Paper.arxiv_id, PaperRepo.official, PaperRepo.framework, PaperRepo.found_by)
                      .join(PaperRepo, PaperRepo.paper_id == Paper.id)).all()
    by_paper = {arxiv: (official, framework, found_by) for arxiv, official, framework, found_by in rows}
    assert by_paper["1601.02063"] == (False, None, "pwc")
    assert by_paper["1810.10559"][0] is True
    assert by_paper["1711.10485"][1] == "pytorch"
    assert by_paper["1805.07499"][:2] == (True, "tf")
    before = snapshot(engine)
    assert not import_links(engine, links_file).changed
    assert snapshot(engine) == before


def test_papers_are_stored_by_arxiv_id_with_abstract_authors_and_date(engine, papers_file):
    report = import_papers(engine, papers_file)
    assert report.inserted == {"papers": 1}
    with Session(engine) as s:
        paper = s.exec(select(Paper).where(Paper.arxiv_id == "1805.10616")).scalar_one()
    assert paper.title == "Dynamic Network Model from Partial Observations"
    assert paper.abstract.startswith("Can evolving networks be inferred") and "\n" not in paper.abstract
    assert paper.authors[0] == "Elahe Ghalebi" and len(paper.authors) == 4
    assert paper.published is not None and paper.published.date() == date(2018, 5, 27)
    before = snapshot(engine)
    assert not import_papers(engine, papers_file).changed
    assert snapshot(engine) == before


def test_papers_fill_gaps_but_never_overwrite(engine, tmp_path, papers_file):
    with Session(engine) as s:
        s.add(Paper(arxiv_id="1805.10616", title="Title From arXiv"))
        s.commit()
    import_papers(engine, papers_file)
    with Session(engine) as s:
        paper = s.exec(select(Paper).where(Paper.arxiv_id == "1805.10616")).scalar_one()
    assert paper.title == "Title From arXiv"
    assert paper.abstract.startswith("Can evolving networks")
    assert count(engine, Paper) == 1


def test_junk_paper_records_are_skipped_without_failing(engine, tmp_path):
    junk = [1, "text", None, {"title": "no key at all"}, {"arxiv_id": "2101.00001v3", "title": "Kept",
                                                           "authors": "not a list", "date": "soon", "tasks": None}]
    path = tmp_path / "papers.json"
    path.write_text(json.dumps(junk))
    report = import_papers(engine, path)
    assert report.rows == 5 and report.skipped == 4
    with Session(engine) as s:
        paper = s.exec(select(Paper)).scalar_one()
    assert (paper.arxiv_id, paper.title, paper.authors, paper.published) == ("2101.00001", "Kept", [], None)


def test_the_second_process_reader_gives_the_same_rows(engine, tmp_path, links_file, papers_file):
    papers = tmp_path / "papers.json.gz"
    records = json.loads(papers_file.read_text()) * 3 + [
        {"arxiv_id": f"2001.{i:05d}", "title": f"Paper {i}", "abstract": "a", "authors": ["A"], "date": "2020-01-01"}
        for i in range(50)
    ]
    papers.write_bytes(gzip.compress(json.dumps(records).encode()))
    links = tmp_path / "links.json"
    shutil.copy(links_file, links)
    report = import_papers(engine, papers, parallel=True)
    assert (report.rows, report.inserted["papers"], report.duplicates) == (53, 51, 2)
    assert import_links(engine, links, parallel=True).inserted["links"] == 4
    before = snapshot(engine)
    assert not import_papers(engine, papers, parallel=False).changed
    assert snapshot(engine) == before


def test_a_truncated_file_read_by_the_second_process_changes_nothing(loaded, tmp_path, papers_file):
    path = tmp_path / "papers.json"
    path.write_bytes(papers_file.read_bytes()[:900])
    before = snapshot(loaded)
    with pytest.raises(ArchiveError, match="truncated or invalid JSON"):
        import_papers(loaded, path, parallel=True)
    assert snapshot(loaded) == before
