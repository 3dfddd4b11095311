"""`sotabot data update`: the Papers with Code archive as the Hugging Face Hub publishes it, downloaded and imported.

Each dataset repository (`[sources.archive]`) is resolved to its commit first; one whose commit is
the one imported last time (source_state `archive:<repo>`, cursor = commit) is skipped without a
download. Everything is downloaded and every shard's footer checked before the first row is written,
so an outage, a 500 or a cut download leaves the database as it was; the commit is recorded only
after all of a repository's shards are imported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sotabot.sources.archive.links import import_links
from sotabot.sources.archive.papers import import_papers
from sotabot.sources.archive.parquet import check_parquet
from sotabot.sources.archive.report import STATE_PREFIX, ArchiveError, ImportReport, ProgressCallback
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.poll import get_state, record_outcome

log = logging.getLogger(__name__)

SHARDS = "data/*.parquet"

IMPORT_ORDER: tuple[tuple[str, str, Callable[..., ImportReport]], ...] = (
    ("tables", "pwc-tables", import_tables),
    ("papers", "pwc-papers", import_papers),
    ("links", "pwc-links", import_links),
)


class ArchiveUpdateError(Exception):
    """One line naming the repository and what went wrong; nothing of the update was stored."""


@dataclass
class RepoUpdate:
    """What `data update` did for one dataset repository."""

    kind: str
    repo: str
    revision: str | None = None
    previous: str | None = None
    snapshot_at: datetime | None = None  # the revision's lastModified on the Hub: how old the archive is
    shards: list[Path] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return self.revision is not None and self.revision == self.previous

    def summary(self) -> str:
        short = (self.revision or "?")[:12]
        if self.unchanged:
            return f"{self.repo}@{short}: already imported, nothing to do"
        rows = sum(r.rows for r in self.reports)
        new = sum(sum(r.inserted.values()) for r in self.reports)
        return f"{self.repo}@{short}: {len(self.shards)} shards, {rows} records, {new} new rows"


def hub_endpoint(configured: str) -> str | None:
    """The config's endpoint, else HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
    return configured.rstrip("/") or os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def hub_cache() -> str | None:
    """HF_HUB_CACHE or HF_HOME/hub as they are now; None leaves huggingface_hub's default."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def repositories(config: Any, papers: bool) -> list[tuple[str, str]]:
    """(kind, repo id) to update, in import order: tables and links, papers with `papers`."""
    archive = config.sources.archive
    wanted = {"tables": archive.tables_repo, "links": archive.links_repo}
    if papers:
        wanted["papers"] = archive.papers_repo
    return [(kind, wanted[kind]) for kind, _, _ in IMPORT_ORDER if wanted.get(kind)]


def _stored_revision(engine: Engine, repo: str) -> str | None:
    with Session(engine) as session:
        return get_state(session, STATE_PREFIX + repo).cursor


def record_import(engine: Engine, what: str, revision: str) -> None:
    """Remember that `what` (a Hub repository, "starter", "file:<kind>") was imported at `revision`."""
    _record_revision(engine, what, revision)


UPDATE_HINT = (
    "the leaderboards are the starter set (results up to 2022): run `sotabot data update` for the full archive"
)


def _record_revision(engine: Engine, repo: str, revision: str, snapshot_at: datetime | None = None) -> None:
    with Session(engine) as session:
        state = get_state(session, STATE_PREFIX + repo)
        state.cursor = revision
        state.snapshot_at = snapshot_at
        state.etag = revision[:64]
        state.last_success_at = datetime.now(UTC)
        state.last_error = None
        state.runs += 1
        session.add(state)
        session.commit()


def _fetch(update: RepoUpdate, revision: str, endpoint: str | None, token: str | None, bars: bool) -> None:
    """Resolve and download one repository's shards, then check every shard's footer."""
    from huggingface_hub import HfApi, snapshot_download  # a heavy import, only for this command
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if bars else disable_progress_bars)()

    try:
        info = HfApi(endpoint=endpoint, token=token).dataset_info(update.repo, revision=revision)
        if not info.sha:
            raise ArchiveUpdateError(f"{update.repo}: the Hub sent no commit for revision {revision!r}")
        update.revision = info.sha
        update.snapshot_at = info.last_modified if isinstance(info.last_modified, datetime) else None
        if update.unchanged:
            return
        folder = snapshot_download(
            update.repo,
            repo_type="dataset",
            revision=info.sha,
            allow_patterns=SHARDS,
            endpoint=endpoint,
            token=token,
            cache_dir=hub_cache(),
        )
    except ArchiveUpdateError:
        raise
    except Exception as exc:  # huggingface_hub raises HTTP, offline, cache and consistency errors of many types
        raise ArchiveUpdateError(f"{update.repo}: download failed ({_one_line(exc)})") from None
    update.shards = sorted(Path(folder).glob(SHARDS))
    if not update.shards:
        raise ArchiveUpdateError(f"{update.repo}: no {SHARDS} files at revision {info.sha[:12]}")
    for shard in update.shards:
        try:
            check_parquet(shard, f"{update.repo}/{shard.parent.name}/{shard.name}")
        except ArchiveError as exc:
            raise ArchiveUpdateError(str(exc)) from None


def update_archive(
    engine: Engine,
    config: Any,
    *,
    papers: bool = False,
    progress: Callable[[str], ProgressCallback | None] | None = None,
    download_bars: bool = False,
) -> list[RepoUpdate]:
    """Download what changed on the Hub, then import it; raises ArchiveUpdateError (one line) on failure.

    `progress(label)` may return a progress callback for the import of the shard named `label`;
    `download_bars` shows huggingface_hub's own download bars (on a terminal), else log lines only.
    """
    archive = config.sources.archive
    endpoint = hub_endpoint(archive.endpoint)
    token = config.sources.huggingface.token.reveal() or None
    updates = [
        RepoUpdate(kind, repo, previous=_stored_revision(engine, repo)) for kind, repo in repositories(config, papers)
    ]
    for update in updates:
        log.info("archive: resolving %s (%s)", update.repo, endpoint or "huggingface.co")
        try:
            _fetch(update, archive.revision, endpoint, token, download_bars)
        except ArchiveUpdateError as exc:
            record_outcome(engine, STATE_PREFIX + update.repo, str(exc))
            raise
        if update.unchanged:
            log.info("archive: %s unchanged at %s", update.repo, (update.revision or "")[:12])
        else:
            log.info("archive: %s at %s: %d shards downloaded", update.repo, (update.revision or "")[:12],
                     len(update.shards))
    importers = {kind: importer for kind, _, importer in IMPORT_ORDER}
    for update in updates:
        if update.unchanged:
            continue
        for shard in update.shards:
            label = f"{update.repo}/{shard.parent.name}/{shard.name}"
            try:
                report = importers[update.kind](engine, shard, config, progress(label) if progress else None)
            except ArchiveError as exc:
                message = f"{update.repo}: import failed ({exc})"
                record_outcome(engine, STATE_PREFIX + update.repo, message)
                raise ArchiveUpdateError(message) from None
            report.source = label
            update.reports.append(report)
            log.info("archive: %s", report.summary())
        assert update.revision is not None
        _record_revision(engine, update.repo, update.revision, update.snapshot_at)
    return updates
