"""Code repository URLs in one spelling, so a repo found in three places is stored once.

`normalise_repo_url` accepts what papers, READMEs and dumps write ("github.com/Owner/Name.git",
"git@github.com:owner/name", ".../tree/master/src", "www.github.com/...)") and returns
`https://github.com/owner/name` in lower case (GitHub names are case-insensitive), or the
same shape for gitlab.com and bitbucket.org; anything that is not a repository gives None.
"""

from __future__ import annotations

import re

_URL = re.compile(
    r"^(?:git\+)?(?:(?:https?|git|ssh)://)?(?:[\w.-]+@)?(?:www\.)?"
    r"(?P<host>github\.com|gitlab\.com|bitbucket\.org)[:/]+"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)",
    re.IGNORECASE,
)
_OWNER = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9_])?$")
_NAME = re.compile(r"^[a-z0-9_.-]+$")

# First path segments that are GitHub pages, not users or organisations.
_NOT_OWNERS = frozenset(
    {
        "about", "apps", "blog", "collections", "contact", "customer-stories", "enterprise", "events",
        "explore", "features", "gist", "issues", "join", "login", "marketplace", "new", "notifications",
        "orgs", "organizations", "pricing", "pulls", "search", "security", "settings", "site", "sponsors",
        "topics", "trending", "users", "readme", "codespaces", "team", "home",
    }
)


def normalise_repo_url(url: str | None) -> str | None:
    """`https://<host>/<owner>/<name>` in lower case for a repository URL, else None."""
    if not url or not isinstance(url, str):
        return None
    text = url.strip().strip("<>()[]{}\"'`").strip()
    match = _URL.match(text)
    if match is None:
        return None
    host = match["host"].lower()
    owner = match["owner"].lower()
    name = match["name"].lower().rstrip(".,;:")
    if name.endswith(".git"):
        name = name[:-4]
    if host == "github.com" and owner in _NOT_OWNERS:
        return None
    if not _OWNER.match(owner) or name in ("", ".", "..") or not _NAME.match(name):
        return None
    return f"https://{host}/{owner}/{name}"
