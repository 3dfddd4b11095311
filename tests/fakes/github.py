"""A fake GitHub (REST repos, GraphQL, repository search) on top of FakeUpstream.

Repositories are served from the real recorded bodies; ETags come from the recording (or are
derived from the body), `If-None-Match` gets a 304, renamed repositories answer 301 to the
numeric `/repositories/{id}` URL, and a per-resource budget emits `X-RateLimit-*` headers and
answers 403 with `Remaining: 0` when a client ignores it, the way GitHub does.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply

_ALIAS = re.compile(r'(r\d+): repository\(owner: ("(?:[^"\\]|\\.)*"), name: ("(?:[^"\\]|\\.)*")\)')
_HOP_BY_HOP = {"content-encoding", "transfer-encoding", "content-length", "connection"}


def load_replay(path: Path) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a PyGithub replay file (one field per line)."""
    lines = path.read_text().splitlines()
    status = int(lines[7])
    headers = {k: v for k, v in ast.literal_eval(lines[8]) if k.lower() not in _HOP_BY_HOP}
    return status, headers, lines[9].encode()


@dataclass
class Budget:
    """GitHub's primary rate limit for one resource (core, graphql, search)."""

    limit: int = 5000
    remaining: int = 5000
    reset: float = 0.0
    window: float = 3600.0

    def take(self, now: float) -> bool:
        if now >= self.reset:
            self.remaining = self.limit
            self.reset = now + self.window
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def headers(self, resource: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset)),
            "X-RateLimit-Resource": resource,
        }


@dataclass
class FakeRepo:
    repo_id: int
    full_name: str
    body: bytes
    etag: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class FakeGitHub:
    """Routes GitHub's endpoints on `srv`; state is plain attributes tests can change."""

    def __init__(self, srv: FakeUpstream, clock: Any) -> None:
        self.srv = srv
        self.clock = clock
        self.repos: dict[str, FakeRepo] = {}  # lower-case full name -> repo
        self.renamed: dict[str, str] = {}  # old lower-case full name -> new
        self.budgets = {"core": Budget(), "graphql": Budget(), "search": Budget(limit=30, remaining=30, window=60)}
        self.search_bodies: dict[str, bytes] = {}
        self.graphql_batches: list[int] = []
        self._next_id = 1
        srv.route("/graphql", self._graphql, method="POST")
        srv.route("/search/repositories", self._search)

    # -- set-up

    def add_repo(self, full_name: str, body: bytes | dict[str, Any], etag: str | None = None,
                 headers: dict[str, str] | None = None) -> FakeRepo:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        repo = FakeRepo(
            self._next_id, full_name, data, etag or f'W/"{hashlib.sha1(data).hexdigest()}"', dict(headers or {})
        )
        self._next_id += 1
        self.repos[full_name.lower()] = repo
        for path in {f"/repos/{full_name}", f"/repos/{full_name.lower()}"}:  # GitHub ignores case
            self.srv.route(path, self._rest)
        self.srv.route(f"/repositories/{repo.repo_id}", self._rest)
        return repo

    def synthetic_repo(self, full_name: str, stars: int, **extra: Any) -> FakeRepo:
        body = {
            "full_name": full_name, "html_url": f"https://github.com/{full_name}", "stargazers_count": stars,
            "pushed_at": "2026-01-01T00:00:00Z", "language": "Python", "license": None, "archived": False, **extra,
        }
        return self.add_repo(full_name, body)

    def set_stars(self, full_name: str, stars: int) -> None:
        repo = self.repos[full_name.lower()]
        data = repo.json()
        data["stargazers_count"] = stars
        repo.body = json.dumps(data).encode()
        repo.etag = f'W/"{hashlib.sha1(repo.body).hexdigest()}"'

    def rename(self, old: str, new: str) -> None:
        """The repository now lives at `new`; the old REST path answers 301."""
        repo = self.repos.pop(old.lower())
        data = repo.json()
        data["full_name"] = new
        data["html_url"] = f"https://github.com/{new}"
        repo.full_name, repo.body = new, json.dumps(data).encode()
        self.repos[new.lower()] = repo
        self.renamed[old.lower()] = new.lower()
        for path in {f"/repos/{new}", f"/repos/{new.lower()}"}:
            self.srv.route(path, self._rest)

    def delete(self, full_name: str) -> None:
        self.repos.pop(full_name.lower())

    # -- handlers

    def _limited(self, resource: str) -> Reply | None:
        budget = self.budgets[resource]
        if budget.take(self.clock.time()):
            return None
        return Reply.json(
            {"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"},
            status=403, headers=budget.headers(resource),
        )

    def _rest(self, req: LoggedRequest) -> Reply:
        if (limited := self._limited("core")) is not None:
            return limited
        headers = self.budgets["core"].headers("core")
        if req.path.startswith("/repositories/"):
            wanted = int(req.path.rsplit("/", 1)[1])
            repo = next((r for r in self.repos.values() if r.repo_id == wanted), None)
        else:
            key = req.path[len("/repos/") :].lower()
            if key in self.renamed:
                target = self.repos.get(self.renamed[key])
                if target is not None:
                    location = f"{self.srv.url}/repositories/{target.repo_id}"
                    return Reply.json({"message": "Moved Permanently", "url": location}, status=301,
                                      headers={**headers, "Location": location})
            repo = self.repos.get(key)
        if repo is None:
            return Reply.json({"message": "Not Found"}, status=404, headers=headers)
        headers = {**repo.headers, **headers, "ETag": repo.etag}
        if req.headers.get("if-none-match") == repo.etag:
            return Reply(304, b"", headers)
        return Reply(200, repo.body, {"Content-Type": "application/json; charset=utf-8", **headers})

    def _graphql(self, req: LoggedRequest) -> Reply:
        if (limited := self._limited("graphql")) is not None:
            return limited
        query = json.loads(req.body)["query"]
        aliases = _ALIAS.findall(query)
        self.graphql_batches.append(len(aliases))
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for alias, owner, name in aliases:
            key = f"{json.loads(owner)}/{json.loads(name)}".lower()
            repo = self.repos.get(self.renamed.get(key, key))
            if repo is None:
                data[alias] = None
                errors.append({"type": "NOT_FOUND", "path": [alias], "message": f"Could not resolve {key}"})
                continue
            rest = repo.json()
            lic = rest.get("license")
            data[alias] = {
                "stargazerCount": rest.get("stargazers_count"),
                "pushedAt": rest.get("pushed_at"),
                "primaryLanguage": {"name": rest["language"]} if rest.get("language") else None,
                "licenseInfo": {"spdxId": lic.get("spdx_id")} if isinstance(lic, dict) else None,
                "isArchived": bool(rest.get("archived")),
                "nameWithOwner": rest.get("full_name"),
            }
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return Reply.json(body, headers=self.budgets["graphql"].headers("graphql"))

    def _search(self, req: LoggedRequest) -> Reply:
        if (limited := self._limited("search")) is not None:
            return limited
        q = req.query.get("q", [""])[0]
        body = self.search_bodies.get(q, b'{"total_count":0,"incomplete_results":false,"items":[]}')
        return Reply(200, body, {"Content-Type": "application/json", **self.budgets["search"].headers("search")})
