"""`sotabot doctor`: is the config valid, the database reachable, each token set, each upstream answering?"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import make_url

from sotabot.bot.cli.app import App
from sotabot.bot.settings import Config

DOCTOR_TIMEOUT_SECONDS = 2.0


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("doctor", help="check config, database, tokens and upstream reachability")
    d.add_argument("--timeout", type=float, default=DOCTOR_TIMEOUT_SECONDS, metavar="S", help="per upstream (2 s)")
    d.set_defaults(func=_doctor)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _upstream_urls(obj: object, prefix: str = "") -> list[tuple[str, str]]:
    """Every `*_url` key of the config except the database: the upstreams the service talks to."""
    found: list[tuple[str, str]] = []
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value, key = getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            found.extend(_upstream_urls(value, key + "."))
        elif key.endswith("_url") and key != "database.url" and isinstance(value, str) and value:
            found.append((key, value))
    return found


def check_url(key: str, url: str, timeout: float) -> Check:
    """Reachable means any HTTP answer below 500 within `timeout` (HEAD, else GET)."""
    start = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.head(url)
            if response.status_code in (405, 501):
                with client.stream("GET", url) as streamed:
                    response = streamed
    except httpx.TimeoutException:
        return Check(key, False, f"{url}  timed out after {timeout:g} s")
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Check(key, False, f"{url}  {type(exc).__name__}: {exc}".strip())
    ms = (time.monotonic() - start) * 1000
    return Check(key, response.status_code < 500, f"{url}  HTTP {response.status_code}, {ms:.0f} ms")


def _database_check(config: Config) -> Check:
    from alembic.script import ScriptDirectory

    from sotabot.storage.db import alembic_config, current_revision, make_engine

    shown = make_url(config.database.url).render_as_string(hide_password=True)
    try:
        engine = make_engine(config.database.url)
        try:
            current = current_revision(engine)
            head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        finally:
            engine.dispose()
    except Exception as exc:  # any driver error means "not reachable"; say which
        return Check("database", False, f"{shown}  unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    if current is None:
        state = f"empty (schema is created on first use or by `sotabot db upgrade`; head {head})"
    elif current == head:
        state = f"schema {current}, up to date"
    else:
        state = f"schema {current}, head is {head}: run `sotabot db upgrade`"
    return Check("database", True, f"{shown}  {state}")


def _doctor(args: argparse.Namespace, app: App) -> int:
    config: Config = app.config
    console = Console(highlight=False)

    def show(check: Check) -> None:
        line = Text("  ")
        line.append("ok  " if check.ok else "FAIL", style="green" if check.ok else "red bold")
        line.append(f"  {check.name:<34} {check.detail}")
        console.print(line, soft_wrap=True)

    source = str(Config.source_path) if Config.source_path else "defaults + environment (no file)"
    console.print(Text("config", style="bold"))
    show(Check("config", True, f"valid, from {source}"))
    console.print(Text("database", style="bold"))
    db = _database_check(config)
    show(db)
    console.print(Text("tokens (names only)", style="bold"))
    secrets = config.secrets()
    for key, is_set in secrets.items():
        line = Text(f"  {'set    ' if is_set else 'not set'}  {key}", style="" if is_set else "dim")
        console.print(line)
    urls = _upstream_urls(config)
    console.print(Text(f"upstreams (timeout {args.timeout:g} s)", style="bold"))
    timeout = max(0.1, float(args.timeout))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(urls)))) as pool:
        checks = list(pool.map(lambda kv: check_url(kv[0], kv[1], timeout), urls))
    for check in checks:
        show(check)
    reachable = sum(c.ok for c in checks)
    summary = (
        f"summary: config ok, database {'ok' if db.ok else 'FAILED'}, "
        f"{sum(secrets.values())}/{len(secrets)} tokens set, {reachable}/{len(checks)} upstreams reachable"
    )
    if reachable < len(checks):
        summary += " (unreachable upstreams are retried by the service; offline use still works)"
    console.print(Text(summary, style="bold" if db.ok else "bold red"), soft_wrap=True)
    sys.stdout.flush()
    return 0 if db.ok else 1
