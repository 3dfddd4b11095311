"""A local HTTP server that answers what huggingface_hub's `dataset_info` and `snapshot_download` ask:
repo info (`/api/datasets/{id}/revision/{rev}`: id, sha, siblings), the file listing
(`/api/datasets/{id}/tree/{rev}`), and `/datasets/{id}/resolve/{rev}/{file}` (HEAD and GET) with the
headers the client reads: ETag, X-Repo-Commit, Content-Length, Accept-Ranges."""

from __future__ import annotations

import hashlib

from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply


class FakeHub(FakeUpstream):
    """`publish(repo, files)` serves a dataset repository at a new commit; `.url` is HF_ENDPOINT."""

    def publish(self, repo: str, files: dict[str, bytes], commit: str | None = None) -> str:
        digest = hashlib.sha1(repo.encode())
        for name in sorted(files):
            digest.update(name.encode() + hashlib.sha256(files[name]).digest())
        commit = commit or digest.hexdigest()
        siblings = [{"rfilename": name} for name in sorted(files)]
        info = {"id": repo, "sha": commit, "private": False, "disabled": False, "siblings": siblings,
                "lastModified": "2025-07-28T00:00:00.000Z", "tags": [], "downloads": 0, "likes": 0}
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
