"""GitHub repository metadata and star snapshots, within GitHub's rate limits.

Every tracked repository (a `Repo` row on github.com) is refreshed least recently checked
first: stars, pushed_at, primary language, licence (SPDX id) and the archived flag, plus one
`StarSnapshot` per refresh, which is what trending's star velocity is computed from.

- With `sources.github.token`: GraphQL, up to 100 repositories a request (one aliased
  `repository(owner:, name:)` field each), so 10,000 repositories cost 100 requests. A null
  entry means deleted or renamed; one REST request tells which (301 moved / 404 deleted).
- Without a token: REST `GET /repos/{owner}/{name}` with `If-None-Match`, because a 304 is
  cheap; a 304 still gives a snapshot (same stars), a 301 is followed once and recorded in
  `Repo.moved_to`, a 404/410/451 marks the repository deleted and it is not refreshed again.
- Primary limit: `X-RateLimit-Remaining/Reset`. When the budget is spent the next request
  waits until the reset on the injected clock (one sleep, never a spin); a wait longer than
  the allowed maximum ends the poll, records it in source_state and the next poll does not
  call GitHub before the reset. Secondary limits (403/429) wait for Retry-After, else for the
  reset when the budget is 0, else a minute, doubling.
- With a token, papers still without code are looked up with repository search for their
  arXiv id, paced to `sources.github.search_per_minute`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.sources.normalise.links import link_paper, mark_code_checked, papers_needing_code
from sotabot.sources.normalise.repo_urls import normalise_repo_url
from sotabot.sources.normalise.values import parse_timestamp
from sotabot.sources.poll import PollReport, get_state, record_outcome, run_poll
from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import (
    Clock,
    PoliteClient,
    Politeness,
    SystemClock,
    UpstreamError,
    parse_retry_after,
    user_agent,
)
from sotabot.storage.db import chunks, session_scope, upsert
from sotabot.storage.models import Paper, Repo, StarSnapshot, as_utc

log = logging.getLogger(__name__)

SOURCE = "github"
GITHUB_PREFIX = "https://github.com/"
GRAPHQL_BATCH = 100  # GitHub's documented maximum of nodes a query may ask for at once
REST_FLUSH_EVERY = 100  # REST results are written in batches too
DEFAULT_MAX_RATE_LIMIT_WAIT = 900.0  # seconds; a longer pause ends the poll
SECONDARY_WAIT = 60.0  # GitHub: "wait at least one minute" without Retry-After
RATE_LIMIT_RETRIES = 3
SEARCH_RESULTS_PER_PAPER = 3
DEFAULT_MAX_SEARCHES = 60  # two minutes of search budget per poll at 30/min
DELETED_STATUSES = frozenset({404, 410, 451})
SERVER_ERRORS = frozenset({500, 502, 503, 504})  # retried by PoliteClient; 403/429 are ours
MAX_REPORTED_ERRORS = 20


class RateLimited(Exception):
    """GitHub asked us to wait longer than this poll may: the poll ends here."""

    def __init__(self, resource: str, until: datetime) -> None:
        super().__init__(f"GitHub {resource} rate limit: paused until {until.isoformat(timespec='seconds')}")
        self.resource = resource
        self.until = until


@dataclass
class RepoInfo:
    """What we keep of a repository, from either REST or GraphQL."""

    full_name: str | None
    stars: int | None
    pushed_at: datetime | None
    language: str | None
    license: str | None
    archived: bool


@dataclass
class BatchResult:
    """One GraphQL batch: found repositories, not-found ones and per-entry errors, by index."""

    found: dict[int, RepoInfo] = field(default_factory=dict)
    not_found: set[int] = field(default_factory=set)
    errors: dict[int, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- parsing


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: Any, limit: int = 100) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def parse_repo_json(data: Any) -> RepoInfo | None:
    """A REST repository (or search item) object; None if it is not one. Missing fields stay None."""
    if not isinstance(data, dict):
        return None
    full_name = _str(data.get("full_name"), 300)
    if full_name is None and data.get("stargazers_count") is None:
        return None
    lic = data.get("license")
    return RepoInfo(
        full_name=full_name,
        stars=_int(data.get("stargazers_count")),
        pushed_at=parse_timestamp(data.get("pushed_at")),
        language=_str(data.get("language")),
        license=_str(lic.get("spdx_id")) if isinstance(lic, dict) else None,
        archived=data.get("archived") is True,
    )


def parse_graphql_repo(data: Any) -> RepoInfo | None:
    """A GraphQL `repository` object as asked for by `build_query`."""
    if not isinstance(data, dict):
        return None
    lang = data.get("primaryLanguage")
    lic = data.get("licenseInfo")
    return RepoInfo(
        full_name=_str(data.get("nameWithOwner"), 300),
        stars=_int(data.get("stargazerCount")),
        pushed_at=parse_timestamp(data.get("pushedAt")),
        language=_str(lang.get("name")) if isinstance(lang, dict) else None,
        license=_str(lic.get("spdxId")) if isinstance(lic, dict) else None,
        archived=data.get("isArchived") is True,
    )


def owner_name(url: str) -> tuple[str, str] | None:
    """(owner, name) of a normalised github.com repository URL, else None."""
    norm = normalise_repo_url(url)
    if norm is None or not norm.startswith(GITHUB_PREFIX):
        return None
    owner, name = norm[len(GITHUB_PREFIX) :].split("/", 1)
    return owner, name


_REPO_FIELDS = "stargazerCount pushedAt primaryLanguage{name} licenseInfo{spdxId} isArchived nameWithOwner"


def build_query(keys: Sequence[tuple[str, str]]) -> str:
    """One GraphQL query asking for every (owner, name) under aliases r0, r1, ..."""
    if len(keys) > GRAPHQL_BATCH:
        raise ValueError(f"at most {GRAPHQL_BATCH} repositories per query, got {len(keys)}")
    parts = [
        f"r{i}: repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) {{{_REPO_FIELDS}}}"
        for i, (owner, name) in enumerate(keys)
    ]
    return "query {\n" + "\n".join(parts) + "\n}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamError(
            f"github: invalid JSON from {response.request.url}", status=response.status_code
        ) from None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --------------------------------------------------------------------------- client


class RateLimits:
    """The per-resource budget GitHub reports in X-RateLimit-* headers; waits on the clock."""

    def __init__(self, clock: Clock, max_wait: float) -> None:
        self.clock = clock
        self.max_wait = max_wait
        self.waited = 0.0
        self._budget: dict[str, tuple[int, float]] = {}

    def observe(self, resource: str, headers: httpx.Headers) -> None:
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = _int(headers.get("X-RateLimit-Reset"))
        if remaining is not None and reset is not None:
            self._budget[resource] = (remaining, float(reset))

    def remaining(self, resource: str) -> int | None:
        entry = self._budget.get(resource)
        return entry[0] if entry else None

    def reset_at(self, resource: str) -> float | None:
        entry = self._budget.get(resource)
        return entry[1] if entry else None

    def before_request(self, resource: str) -> None:
        """If the budget is spent, sleep once until the reset (or end the poll)."""
        entry = self._budget.get(resource)
        if entry is None or entry[0] > 0:
            return
        self.wait(resource, entry[1] - self.clock.time() + 1.0)

    def wait(self, resource: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if seconds > self.max_wait:
            raise RateLimited(resource, _utc(self.clock.time() + seconds))
        if seconds > 0:
            log.info("github %s rate limit: waiting %.0fs", resource, seconds)
            self.clock.sleep(seconds)
            self.waited += seconds
        self._budget.pop(resource, None)


class GitHub:
    """REST, GraphQL and search calls with GitHub's rate-limit rules applied."""

    def __init__(
        self,
        config: SourcesSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        max_wait: float | None = None,
    ) -> None:
        gh = config.sources.github
        self.clock = clock or SystemClock()
        self.api_url = gh.api_url.rstrip("/")
        self.graphql_url = gh.graphql_url
        self.has_token = bool(gh.token.reveal())
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.has_token:
            headers["Authorization"] = f"Bearer {gh.token.reveal()}"
        if max_wait is None:
            max_wait = float(getattr(gh, "max_rate_limit_wait_seconds", DEFAULT_MAX_RATE_LIMIT_WAIT))
        self.limits = RateLimits(self.clock, max_wait)
        self.search_interval = 60.0 / gh.search_per_minute if gh.search_per_minute > 0 else 60.0
        self._last_search: float | None = None
        self.http = PoliteClient(
            self.api_url,
            politeness=Politeness.from_config(config.sources.http),
            user_agent=user_agent(config.sources.arxiv.contact),
            headers=headers,
            clock=self.clock,
            transport=transport,
            name="github",
        )

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()

    # -- the one place requests go through

    def _is_rate_limited(self, response: httpx.Response) -> bool:
        if response.status_code == 429:
            return True
        if response.status_code != 403:
            return False
        return (
            "Retry-After" in response.headers
            or response.headers.get("X-RateLimit-Remaining") == "0"
            or b"rate limit" in response.content.lower()
        )

    def call(self, resource: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request, waiting out primary and secondary limits; UpstreamError on failure."""
        response: httpx.Response | None = None
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            self.limits.before_request(resource)
            response = self.http.request(method, url, retry_statuses=SERVER_ERRORS, **kwargs)
            self.limits.observe(resource, response.headers)
            if not self._is_rate_limited(response):
                return response
            if attempt == RATE_LIMIT_RETRIES:
                break
            now = self.clock.time()
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
            reset = self.limits.reset_at(resource)
            if retry_after is not None:
                delay = retry_after
            elif self.limits.remaining(resource) == 0 and reset is not None:
                delay = reset - now + 1.0
            else:
                delay = SECONDARY_WAIT * (2**attempt)
            log.warning("github %s: HTTP %d rate limited; waiting %.0fs", url, response.status_code, delay)
            self.limits.wait(resource, delay)
        assert response is not None
        # status=None: this is the rate limit, not an answer about the repository
        raise UpstreamError(f"github: still rate limited after {RATE_LIMIT_RETRIES + 1} attempts", url=url)

    # -- REST

    def repo_rest(self, owner: str, name: str, etag: str | None = None) -> tuple[int, RepoInfo | None, str | None]:
        """(status, info, etag) for one repository: 200, 304 (unchanged), 301 followed once, 404."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self.call("core", "GET", f"/repos/{owner}/{name}", headers=headers)
        status = response.status_code
        if status in (301, 302, 307, 308):
            location = response.headers.get("Location", "")
            target = urljoin(f"{self.api_url}/", location)
            if not location or urlsplit(target)[:2] != urlsplit(self.api_url)[:2]:
                raise UpstreamError(f"github: {owner}/{name} moved to an unexpected place: {location!r}", status=status)
            response = self.call("core", "GET", target)
            if response.status_code == 200:
                info = parse_repo_json(_json(response))
                if info is None:
                    raise UpstreamError(f"github: {owner}/{name}: moved, but the new place is not a repository")
                return 301, info, response.headers.get("ETag")
            status = response.status_code
        if status == 304:
            return 304, None, etag
        if status in DELETED_STATUSES:
            return 404, None, None
        if status != 200:
            raise UpstreamError(f"github: GET /repos/{owner}/{name}: HTTP {status}", status=status)
        info = parse_repo_json(_json(response))
        if info is None:
            raise UpstreamError(f"github: /repos/{owner}/{name} is not a repository object", status=status)
        return 200, info, response.headers.get("ETag")

    # -- GraphQL

    def repos_graphql(self, keys: Sequence[tuple[str, str]]) -> BatchResult:
        """Up to 100 repositories in one request; a whole-batch failure raises UpstreamError."""
        query = build_query(keys)
        for _ in range(RATE_LIMIT_RETRIES + 1):
            response = self.call("graphql", "POST", self.graphql_url, json={"query": query})
            if response.status_code == 401:
                raise UpstreamError("github: the token was rejected (HTTP 401)", status=401)
            if response.status_code != 200:
                raise UpstreamError(f"github: GraphQL HTTP {response.status_code}", status=response.status_code)
            body = _json(response)
            if not isinstance(body, dict):
                raise UpstreamError("github: GraphQL answer is not an object")
            errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                reset = self.limits.reset_at("graphql") or self.clock.time() + SECONDARY_WAIT
                self.limits.wait("graphql", reset - self.clock.time() + 1.0)
                continue
            data = body.get("data")
            if not isinstance(data, dict):
                message = "; ".join(str(e.get("message", "")) for e in errors) or "no data"
                raise UpstreamError(f"github: GraphQL error: {message[:300]}")
            return _batch_result(len(keys), data, errors)
        raise UpstreamError("github: GraphQL still rate limited")

    # -- search

    def search_code_for_paper(self, arxiv_id: str) -> list[str]:
        """Repository URLs whose name, description or topics mention the arXiv id (best first)."""
        if self._last_search is not None:
            wait = self._last_search + self.search_interval - self.clock.monotonic()
            if wait > 0:
                self.clock.sleep(wait)
        self._last_search = self.clock.monotonic()
        response = self.call("search", "GET", "/search/repositories", params={"q": arxiv_id, "per_page": 10})
        if response.status_code == 422:  # a query GitHub cannot run: no results, not an outage
            return []
        if response.status_code != 200:
            raise UpstreamError(f"github: search HTTP {response.status_code}", status=response.status_code)
        return search_result_urls(_json(response))


def search_result_urls(body: Any, limit: int = SEARCH_RESULTS_PER_PAPER) -> list[str]:
    """Repository URLs of a /search/repositories answer, tolerant of old and partial shapes."""
    items = body.get("items") if isinstance(body, dict) else None
    urls: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        raw = item.get("html_url") or (f"{GITHUB_PREFIX}{item['full_name']}" if item.get("full_name") else None)
        url = normalise_repo_url(raw) if isinstance(raw, str) else None
        if url and url.startswith(GITHUB_PREFIX) and url not in urls:
            urls.append(url)
        if len(urls) >= limit:
            break
    return urls


def _batch_result(count: int, data: dict[str, Any], errors: list[dict[str, Any]]) -> BatchResult:
    by_alias: dict[str, dict[str, Any]] = {}
    for error in errors:
        path = error.get("path")
        if isinstance(path, list) and path and isinstance(path[0], str):
            by_alias.setdefault(path[0], error)
    result = BatchResult()
    for i in range(count):
        alias = f"r{i}"
        info = parse_graphql_repo(data.get(alias))
        if info is not None:
            result.found[i] = info
            continue
        error = by_alias.get(alias)
        if error is None or error.get("type") == "NOT_FOUND":
            result.not_found.add(i)
        else:
            result.errors[i] = f"{error.get('type', 'ERROR')}: {str(error.get('message', ''))[:200]}"
    return result


# --------------------------------------------------------------------------- storing


@dataclass
class _Tracked:
    """A repository due for refresh, with what is stored now (to tell updated from unchanged)."""

    id: int
    url: str
    owner: str
    name: str
    etag: str | None
    stars: int | None
    language: str | None
    license: str | None
    pushed_at: datetime | None
    archived: bool
    moved_to: str | None


class _Writer:
    """Collects refresh outcomes and writes them in batches: one UPDATE and one upsert each."""

    def __init__(self, engine: Engine, report: PollReport, now: datetime) -> None:
        self.engine = engine
        self.report = report
        self.now = now
        self.updates: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []

    def _row(self, repo: _Tracked, **changes: Any) -> dict[str, Any]:
        row = {
            "id": repo.id, "stars": repo.stars, "language": repo.language, "license": repo.license,
            "pushed_at": repo.pushed_at, "archived": repo.archived, "etag": repo.etag,
            "moved_to": repo.moved_to, "deleted": False, "checked_at": self.now,
        }
        row.update(changes)
        return row

    def refreshed(self, repo: _Tracked, info: RepoInfo, etag: str | None = None, moved: bool = False) -> None:
        moved_to = repo.moved_to
        if info.full_name:
            new_url = normalise_repo_url(f"{GITHUB_PREFIX}{info.full_name}")
            current = normalise_repo_url(repo.url) or repo.url  # rows written elsewhere may keep their case
            if new_url and new_url != current and new_url != repo.moved_to:
                moved_to = new_url
                moved = True
        if moved:
            self.report.add("moved")
        stars = info.stars if info.stars is not None else repo.stars
        row = self._row(
            repo, stars=stars, language=info.language, license=info.license, pushed_at=info.pushed_at,
            archived=info.archived, etag=etag if etag is not None else repo.etag, moved_to=moved_to,
        )
        before = (repo.stars, repo.language, repo.license, as_utc(repo.pushed_at), repo.archived, repo.moved_to)
        after = (row["stars"], row["language"], row["license"], row["pushed_at"], row["archived"], row["moved_to"])
        if before == after:
            self.report.unchanged += 1
        else:
            self.report.updated += 1
        self.updates.append(row)
        if stars is not None:
            self.snapshots.append({"repo_id": repo.id, "taken_at": self.now, "stars": stars})

    def not_modified(self, repo: _Tracked) -> None:
        self.report.unchanged += 1
        self.updates.append(self._row(repo))
        if repo.stars is not None:
            self.snapshots.append({"repo_id": repo.id, "taken_at": self.now, "stars": repo.stars})

    def deleted(self, repo: _Tracked) -> None:
        self.report.add("deleted")
        self.updates.append(self._row(repo, deleted=True, etag=None))

    def failed_for_good(self, repo: _Tracked, message: str) -> None:
        """A per-repository answer that retrying soon will not change: rotate it to the back."""
        _error(self.report, message)
        self.updates.append(self._row(repo))

    def flush(self) -> None:
        if not self.updates and not self.snapshots:
            return
        with session_scope(self.engine) as session:
            if self.updates:
                session.execute(_UPDATE_REPO, [{f"b_{k}": v for k, v in row.items()} for row in self.updates])
            if self.snapshots:
                upsert_snapshots(session, self.snapshots)
        self.report.add("snapshots", len(self.snapshots))
        self.updates, self.snapshots = [], []


_REPO = Repo.__table__  # type: ignore[attr-defined]
_REFRESHED = ("stars", "language", "license", "pushed_at", "archived", "etag", "moved_to", "deleted", "checked_at")
# One cached statement run as executemany: far cheaper than an ORM bulk update per batch.
_UPDATE_REPO = (
    update(_REPO).where(_REPO.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in _REFRESHED})
)


def upsert_snapshots(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert star snapshots; a second refresh at the same instant overwrites, never duplicates."""
    insert = upsert(session, StarSnapshot)
    stmt = insert.on_conflict_do_update(index_elements=["repo_id", "taken_at"], set_={"stars": insert.excluded.stars})
    session.execute(stmt, rows)


def _error(report: PollReport, message: str) -> None:
    log.warning("%s", message)
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append(message)
    else:
        report.add("more_errors")


def tracked_repos(engine: Engine, since: date | None = None, limit: int | None = None) -> list[_Tracked]:
    """GitHub repositories to refresh, least recently checked first; deleted ones never."""
    stmt = (
        select(
            Repo.id, Repo.url, Repo.etag, Repo.stars, Repo.language, Repo.license, Repo.pushed_at,
            Repo.archived, Repo.moved_to,
        )
        .where(Repo.deleted == False, Repo.url.like(f"{GITHUB_PREFIX}%"))  # noqa: E712
        .order_by(Repo.checked_at.asc().nulls_first(), Repo.id)
    )
    if since is not None:
        cutoff = datetime(since.year, since.month, since.day, tzinfo=UTC)
        stmt = stmt.where((Repo.checked_at == None) | (Repo.checked_at < cutoff))  # noqa: E711
    if limit is not None:
        stmt = stmt.limit(limit)
    out: list[_Tracked] = []
    with Session(engine) as session:
        for row in session.exec(stmt):
            where = owner_name(row.moved_to or row.url) or owner_name(row.url)
            if where is None:
                continue
            out.append(
                _Tracked(
                    id=row.id, url=row.url, owner=where[0], name=where[1], etag=row.etag, stars=row.stars,
                    language=row.language, license=row.license, pushed_at=as_utc(row.pushed_at),
                    archived=row.archived, moved_to=row.moved_to,
                )
            )
    return out


# --------------------------------------------------------------------------- refresh


def refresh_rest(engine: Engine, gh: GitHub, repos: Sequence[_Tracked], report: PollReport, now: datetime) -> None:
    """One conditional GET per repository; stops early only on a rate-limit pause or an outage."""
    writer = _Writer(engine, report, now)
    failures_in_a_row = 0
    try:
        for repo in repos:
            try:
                status, info, etag = gh.repo_rest(repo.owner, repo.name, repo.etag)
            except UpstreamError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    writer.failed_for_good(repo, f"{repo.url}: {exc}")
                    continue
                _error(report, f"{repo.url}: {exc}")
                failures_in_a_row += 1
                if failures_in_a_row >= 3:
                    _error(report, "github: three failures in a row; the rest waits for the next poll")
                    return
                continue
            failures_in_a_row = 0
            if status == 304:
                writer.not_modified(repo)
            elif status == 404:
                writer.deleted(repo)
            else:
                assert info is not None
                writer.refreshed(repo, info, etag=etag, moved=status == 301)
            if len(writer.updates) >= REST_FLUSH_EVERY:
                writer.flush()
    finally:
        writer.flush()


def refresh_graphql(
    engine: Engine, gh: GitHub, repos: Sequence[_Tracked], report: PollReport, now: datetime
) -> None:
    """Batches of 100 per GraphQL request; null entries are settled with one REST request."""
    writer = _Writer(engine, report, now)
    missing: list[_Tracked] = []
    failures_in_a_row = 0
    try:
        for batch in chunks(repos, GRAPHQL_BATCH):
            try:
                result = gh.repos_graphql([(r.owner, r.name) for r in batch])
            except UpstreamError as exc:
                _error(report, f"github GraphQL batch of {len(batch)}: {exc}")
                if exc.status == 401:
                    return
                failures_in_a_row += 1
                if failures_in_a_row >= 3:
                    _error(report, "github: three failed batches in a row; the rest waits for the next poll")
                    return
                continue
            failures_in_a_row = 0
            for i, repo in enumerate(batch):
                if i in result.found:
                    writer.refreshed(repo, result.found[i])
                elif i in result.not_found:
                    missing.append(repo)
                else:
                    _error(report, f"{repo.url}: {result.errors.get(i, 'no answer')}")
            writer.flush()
    finally:
        writer.flush()
    if missing:
        # Renamed or deleted? REST answers 301 or 404 where GraphQL only says null.
        refresh_rest(engine, gh, missing, report, now)


def search_papers_without_code(
    engine: Engine,
    gh: GitHub,
    report: PollReport,
    now: datetime,
    recheck_days: int,
    max_searches: int = DEFAULT_MAX_SEARCHES,
) -> None:
    """Repository search for the arXiv id of papers still without code (token only)."""
    with Session(engine) as session:
        candidates = [
            (p.id, p.arxiv_id)
            for p in papers_needing_code(session, now, recheck_days=recheck_days, limit=max_searches)
            if p.arxiv_id
        ]
    searched = 0
    for paper_id, arxiv_id in candidates:
        try:
            urls = gh.search_code_for_paper(arxiv_id)
        except UpstreamError as exc:
            _error(report, f"github search {arxiv_id}: {exc}")
            break
        searched += 1
        with session_scope(engine) as session:
            paper = session.get(Paper, paper_id)
            if paper is not None:
                report.linked += link_paper(session, paper, "github_search", urls, False)
                mark_code_checked(session, [paper], now)
    report.add("searched", searched)


def _read_pause(engine: Engine) -> datetime | None:
    with Session(engine) as session:
        state = get_state(session, SOURCE)
        session.commit()
        try:
            cursor = json.loads(state.cursor or "{}")
        except ValueError:
            return None
    until = cursor.get("rate_limited_until") if isinstance(cursor, dict) else None
    return parse_timestamp(until)


def _write_pause(engine: Engine, until: datetime | None) -> None:
    with session_scope(engine) as session:
        state = get_state(session, SOURCE)
        state.cursor = json.dumps({"rate_limited_until": until.isoformat()}) if until else None
        session.add(state)


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    limit: int | None = None,
    max_wait: float | None = None,
    max_searches: int = DEFAULT_MAX_SEARCHES,
) -> PollReport:
    """Refresh tracked repositories (GraphQL with a token, REST without) and search for missing code.

    `since`: refresh only repositories not checked since that day (default: all of them).
    """
    clock = clock or SystemClock()
    now = _utc(clock.time())
    pause = _read_pause(engine)
    if pause is not None and pause > now:
        report = PollReport(SOURCE)
        report.errors.append(f"GitHub rate limit: paused until {pause.isoformat(timespec='seconds')}")
        record_outcome(engine, SOURCE, report.errors[0], now)
        return report
    gh = GitHub(config, clock=clock, transport=transport, max_wait=max_wait)
    paused_until: datetime | None = None

    def body(report: PollReport) -> None:
        nonlocal paused_until
        try:
            repos = tracked_repos(engine, since=since, limit=limit)
            if gh.has_token:
                refresh_graphql(engine, gh, repos, report, now)
                search_papers_without_code(
                    engine, gh, report, now, config.sources.arxiv.code_recheck_days, max_searches=max_searches
                )
            else:
                refresh_rest(engine, gh, repos, report, now)
        except RateLimited as exc:
            paused_until = exc.until
            report.errors.append(str(exc))
        finally:
            if gh.limits.waited:
                report.details["rate_limit_wait_s"] = int(gh.limits.waited)
        _write_pause(engine, paused_until)

    return run_poll(engine, SOURCE, body, client=gh, now=lambda: _utc(clock.time()))
