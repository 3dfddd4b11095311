"""A local HTTP server that answers what huggingface_hub asks, in the real Hub's JSON shapes.

- `dataset_info` and `snapshot_download` (the archive): repo info (`/api/datasets/{id}[/revision/{rev}]`:
  id, sha, siblings), the file listing (`/api/datasets/{id}/tree/{rev}`), and
  `/datasets/{id}/resolve/{rev}/{file}` (HEAD and GET) with the headers the client reads: ETag,
  X-Repo-Commit, Content-Length, Accept-Ranges.
- `list_datasets(benchmark=True)` and `get_dataset_leaderboard` (the leaderboards): `GET /api/datasets`
  honouring `filter` (every value a tag of the dataset: `benchmark:official`) and `expand` as the
  Hub does (no `cardData` unless expanded; with `expand`, only `_id`, `id` and those fields), in pages of
  `page_size` linked by `Link: <...>; rel="next"` with a `cursor`, as the Hub pages; and
  `GET /api/datasets/{id}/leaderboard` (a list of rows; no leaderboard: 404).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply


def listing_item(summary: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    """A dataset as `GET /api/datasets` shows it: no `cardData` by default; with `expand`, only those fields."""
    if expand:
        return {k: v for k, v in summary.items() if k in ("_id", "id", *expand)}
    return {k: v for k, v in summary.items() if k != "cardData"}


def listing(summaries: list[dict[str, Any]]) -> Any:
    """A one-page `GET /api/datasets` handler over these summaries, fields chosen as the Hub does."""

    def answer(req: LoggedRequest) -> Reply:
        return Reply.json([listing_item(d, req.query.get("expand", [])) for d in summaries])

    return answer


class FakeHub(FakeUpstream):
    """`publish(repo, files)` serves a dataset repository at a new commit, `benchmark(repo, rows)` lists
    an official benchmark with its leaderboard; `.url` is HF_ENDPOINT."""

    page_size = 1000

    def __init__(self, clock: Any | None = None) -> None:
        super().__init__(clock=clock)
        self.datasets: dict[str, dict[str, Any]] = {}  # repo id -> its summary in the listing
        self.route("/api/datasets", self._listing)

    def benchmark(self, repo: str, rows: list[dict] | None, tags: tuple[str, ...] = (), **summary: Any) -> None:
        """List `repo` as an official benchmark (plus `tags`); `rows` is its leaderboard (None: it has none)."""
        self.datasets[repo] = {
            "_id": hashlib.sha1(repo.encode()).hexdigest()[:24], "id": repo, "author": repo.split("/")[0],
            "private": False, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
            "tags": ["benchmark:official", *tags], "lastModified": "2026-06-01T10:00:00.000Z",
            "createdAt": "2025-01-01T00:00:00.000Z", "key": "", **summary,
        }
        if rows is not None:
            self.route(f"/api/datasets/{repo}/leaderboard", Reply.json(rows))

    def _listing(self, req: LoggedRequest) -> Reply:
        wanted = req.query.get("filter", [])
        items = [d for d in self.datasets.values() if all(tag in d["tags"] for tag in wanted)]
        start = int((req.query.get("cursor") or ["0"])[0])
        page = [listing_item(d, req.query.get("expand", [])) for d in items[start : start + self.page_size]]
        headers = {}
        if start + self.page_size < len(items):
            query = urlencode([*((k, v) for k, vs in req.query.items() if k != "cursor" for v in vs),
                               ("cursor", str(start + self.page_size))])
            headers["Link"] = f'<{self.url}{req.path}?{query}>; rel="next"'
        return Reply.json(page, headers=headers)

    def publish(self, repo: str, files: dict[str, bytes], commit: str | None = None) -> str:
        digest = hashlib.sha1(repo.encode())
        for name in sorted(files):
            digest.update(name.encode() + hashlib.sha256(files[name]).digest())
        commit = commit or digest.hexdigest()
        siblings = [{"rfilename": name} for name in sorted(files)]
        info = {"id": repo, "sha": commit, "private": False, "disabled": False, "siblings": siblings,
                "lastModified": "2025-07-28T00:00:00.000Z", "tags": [], "downloads": 0, "likes": 0}
        self.route(f"/api/datasets/{repo}", Reply.json(info))  # dataset_info without a revision
        for rev in ("main", commit):
            self.route(f"/api/datasets/{repo}/revision/{rev}", Reply.json(info))
        tree = []
        for name in sorted(files):
            data = files[name]
            sha256 = hashlib.sha256(data).hexdigest()
            oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            tree.append({"type": "file", "oid": oid, "size": len(data), "path": name,
                         "lfs": {"oid": sha256, "size": len(data), "pointerSize": 134}})
            for method in ("GET", "HEAD"):
                for rev in ("main", commit):
                    self.route(f"/datasets/{repo}/resolve/{rev}/{name}", self._file(data, sha256, commit), method)
        for rev in ("main", commit):
            self.route(f"/api/datasets/{repo}/tree/{rev}", Reply.json(tree))
        return commit

    @staticmethod
    def _file(data: bytes, sha256: str, commit: str):
        def reply(req: LoggedRequest) -> Reply:
            headers = {"ETag": f'"{sha256}"', "X-Repo-Commit": commit, "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            return Reply(200, data, headers)

        return reply
