"""Result events, the input of alerts: new result, new state of the art, new paper with code.

`storage.results` writes the first two as it stores results; `paper_got_code` writes the third
when a paper gets its first repository. Events are deduplicated by (kind, dedupe_key): running
the same sync twice writes no second event.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from sotabot.storage.models import EVENT_KEY_CHARS, Benchmark, Paper, PaperRepo, Repo, Result, ResultEvent, Task, utcnow

NEW_RESULT = "new_result"
NEW_SOTA = "new_sota"
NEW_PAPER_WITH_CODE = "new_paper_with_code"
EVENT_KINDS = (NEW_RESULT, NEW_SOTA, NEW_PAPER_WITH_CODE)


def emit_event(
    session: Session,
    kind: str,
    dedupe_key: str,
    *,
    task_id: int | None = None,
    benchmark_id: int | None = None,
    result_id: int | None = None,
    paper_id: int | None = None,
    payload: dict | None = None,
    now: datetime | None = None,
) -> ResultEvent | None:
    """Insert an event unless (kind, dedupe_key) exists; returns the new row or None."""
    dedupe_key = dedupe_key[:EVENT_KEY_CHARS]
    exists = session.exec(
        select(ResultEvent.id).where(ResultEvent.kind == kind, ResultEvent.dedupe_key == dedupe_key)
    ).first()
    if exists is not None:
        return None
    event = ResultEvent(
        kind=kind,
        dedupe_key=dedupe_key,
        task_id=task_id,
        benchmark_id=benchmark_id,
        result_id=result_id,
        paper_id=paper_id,
        payload=payload or {},
        created_at=now or utcnow(),
    )
    session.add(event)  # flushed with the next query or commit (its id is assigned then)
    return event


def paper_got_code(session: Session, paper_id: int, now: datetime | None = None) -> list[ResultEvent]:
    """`new_paper_with_code` for every task the paper has results on, once per (task, paper).

    Call it after linking a repository to a paper; the dedupe key makes later links to the
    same paper (a second repo, a re-sync) write nothing.
    """
    paper = session.get(Paper, paper_id)
    if paper is None:
        return []
    links = session.exec(
        select(PaperRepo, Repo)
        .join(Repo, col(Repo.id) == col(PaperRepo.repo_id))
        .where(PaperRepo.paper_id == paper_id)
        .order_by(col(PaperRepo.official).desc(), col(PaperRepo.created_at), col(PaperRepo.id))
    ).all()
    if not links:
        return []
    tasks = session.exec(
        select(Task)
        .join(Benchmark, col(Benchmark.task_id) == col(Task.id))
        .join(Result, col(Result.benchmark_id) == col(Benchmark.id))
        .where(Result.paper_id == paper_id)
        .distinct()
        .order_by(col(Task.id))
    ).all()
    payload = {
        "paper_title": paper.title,
        "arxiv_id": paper.arxiv_id,
        "paper_url": paper.url or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None),
        "code_url": links[0][1].url,
        "repo_url": links[0][1].url,
        "official": links[0][0].official,
        "repos": [{"url": repo.url, "official": link.official, "found_by": link.found_by} for link, repo in links],
    }
    events = []
    for task in tasks:
        event = emit_event(
            session,
            NEW_PAPER_WITH_CODE,
            f"t{task.id}:p{paper_id}",
            task_id=task.id,
            paper_id=paper_id,
            payload={**payload, "task": task.slug, "task_name": task.name},
            now=now,
        )
        if event is not None:
            events.append(event)
    return events


def list_events(
    session: Session,
    *,
    since: datetime | None = None,
    kind: str | None = None,
    task_id: int | None = None,
    limit: int = 50,
) -> list[ResultEvent]:
    """Recent events, newest first (what `sotabot events` and alert previews show)."""
    query = select(ResultEvent)
    if since is not None:
        query = query.where(col(ResultEvent.created_at) >= since)
    if kind is not None:
        query = query.where(ResultEvent.kind == kind)
    if task_id is not None:
        query = query.where(ResultEvent.task_id == task_id)
    query = query.order_by(col(ResultEvent.created_at).desc(), col(ResultEvent.id).desc()).limit(limit)
    return list(session.exec(query).all())
