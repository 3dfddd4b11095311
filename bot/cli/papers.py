"""`sotabot trending` and `sotabot paper ID`: what the pollers stored, from a terminal.

`paper` accepts the ways people write an arXiv paper (`2411.17700`, `2411.17700v2`,
`arXiv:2411.17700`, an abs/pdf URL, old-style `cs/9301114`) and looks it up by id without
version, which is how papers are stored. `--json` prints a fixed shape for scripts.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import case
from sqlmodel import Session, select

from sotabot.bot.cli.app import App, UserError
from sotabot.digests.trending import trending
from sotabot.storage.models import Paper, PaperRepo, Repo, as_utc

_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v(?P<version>\d+))?"
_REF = re.compile(
    r"^(?:arxiv:\s*|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|(?:https?://)?huggingface\.co/papers/)?"
    + _ID
    + r"(?:\.pdf)?/?$",
    re.IGNORECASE,
)
MAX_AUTHORS_SHOWN = 12


def parse_paper_ref(text: str) -> tuple[str, int | None] | None:
    """(arXiv id without version, version or None) for what a user typed, else None."""
    match = _REF.match(text.strip())
    if match is None:
        return None
    arxiv_id = match["id"]
    if "/" in arxiv_id:  # old style: archive lower case, subject class upper case (math.AG)
        archive, number = arxiv_id.split("/")
        head, _, sub = archive.partition(".")
        arxiv_id = f"{head.lower()}{'.' + sub.upper() if sub else ''}/{number}"
    return arxiv_id, int(match["version"]) if match["version"] else None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("trending", help="papers gaining stars and upvotes")
    t.add_argument("--category", metavar="C", help="arXiv category, e.g. cs.CV")
    t.add_argument("--days", type=_positive, default=7, metavar="N", help="papers from the last N days (7)")
    t.add_argument("--limit", type=_positive, default=10, metavar="N", help="at most N papers (10)")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=_trending)
    p = sub.add_parser("paper", help="one paper with its code links")
    p.add_argument("ref", metavar="ID_OR_URL", help="2411.17700, arXiv:2411.17700v2, an arxiv.org URL, cs/9301114")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_paper)


def paper_payload(session: Session, paper: Paper) -> dict[str, Any]:
    """The `paper --json` shape: exactly these keys, repositories official first, then by stars."""
    rows = session.exec(
        select(Repo.url, Repo.moved_to, Repo.stars, PaperRepo.official, PaperRepo.found_by)
        .join(PaperRepo, PaperRepo.repo_id == Repo.id)
        .where(PaperRepo.paper_id == paper.id, Repo.deleted == False)  # noqa: E712
        .order_by(case((PaperRepo.official == True, 0), else_=1), Repo.stars.desc().nulls_last(), Repo.url)  # noqa: E712
    ).all()
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors or []),
        "categories": list(paper.categories or []),
        "published": as_utc(paper.published).isoformat() if paper.published else None,  # type: ignore[union-attr]
        "abstract": paper.abstract,
        "repos": [
            {"url": moved_to or url, "stars": stars, "official": bool(official), "found_by": found_by}
            for url, moved_to, stars, official, found_by in rows
        ],
        "hf_upvotes": paper.hf_upvotes,
    }


def _paper(args: argparse.Namespace, app: App) -> int:
    ref = parse_paper_ref(args.ref)
    if ref is None:
        raise UserError(f"not an arXiv id or URL: {args.ref!r} (try 2411.17700 or arXiv:2411.17700v2)")
    with Session(app.engine) as session:
        paper = session.exec(select(Paper).where(Paper.arxiv_id == ref[0])).first()
        if paper is None:
            raise UserError(f"paper {ref[0]} is not in the database (poll arxiv first, or check the id)")
        data = paper_payload(session, paper)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    _print_paper(data, Console())
    return 0


def _print_paper(data: dict[str, Any], console: Console) -> None:
    console.print(Text(data["title"] or "(untitled)", style="bold"))
    line = Text(f"arXiv:{data['arxiv_id']}v{data['version']}", style="cyan")
    if data["published"]:
        line.append(f"  published {data['published'][:10]}")
    if data["categories"]:
        line.append("  " + ", ".join(data["categories"]), style="dim")
    if data["hf_upvotes"] is not None:
        line.append(f"  ▲ {data['hf_upvotes']} on Hugging Face")
    console.print(line)
    authors = data["authors"]
    if authors:
        shown = ", ".join(authors[:MAX_AUTHORS_SHOWN]) + (" et al." if len(authors) > MAX_AUTHORS_SHOWN else "")
        console.print(Text(shown, style="italic"))
    console.print(Text(f"https://arxiv.org/abs/{data['arxiv_id']}", style="dim"))
    if data["repos"]:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("code")
        table.add_column("stars", justify="right")
        table.add_column("official")
        table.add_column("found by", style="dim")
        for repo in data["repos"]:
            stars = "" if repo["stars"] is None else f"{repo['stars']:,}"
            table.add_row(Text(repo["url"]), stars, "yes" if repo["official"] else "", Text(repo["found_by"]))
        console.print(table)
    else:
        console.print(Text("no code found yet", style="yellow"))
    if data["abstract"]:
        console.print()
        console.print(Text(data["abstract"]))


def _trending(args: argparse.Namespace, app: App) -> int:
    with Session(app.engine) as session:
        papers = trending(session, category=args.category, days=args.days, limit=args.limit)
    if args.json:
        print(json.dumps([p.to_dict() for p in papers], ensure_ascii=False, indent=2))
        return 0
    console = Console()
    scope = f" in {args.category}" if args.category else ""
    if not papers:
        console.print(Text(f"No trending papers{scope} in the last {args.days} days.", style="yellow"))
        return 0
    table = Table(
        title=Text(f"Trending papers{scope}, last {args.days} days", style="bold"),
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
    )
    table.add_column("#", justify="right")
    table.add_column("paper", overflow="fold")
    table.add_column("stars/day", justify="right")
    table.add_column("stars", justify="right")
    table.add_column("▲", justify="right")
    table.add_column("score", justify="right", style="dim")
    for rank, p in enumerate(papers, 1):
        cell = Text(p.title or "(untitled)", style="bold")
        cell.append(f"\narXiv:{p.arxiv_id}", style="cyan")
        if p.repo_url:
            cell.append(f"  {p.repo_url}", style="dim")
        table.add_row(
            str(rank), cell, f"{p.star_velocity:,.1f}", "" if p.stars is None else f"{p.stars:,}",
            str(p.hf_upvotes), f"{p.score:.2f}",
        )
    console.print(table)
    return 0
