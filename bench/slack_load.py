"""Signed `/sota` slash commands at a fixed rate against the real Bolt app in HTTP mode.

`python -m bench.slack_load [--rps 200] [--seconds 30] [--quick]` starts the bot's HTTP
server (build_http_app + build_slack_app, SQLite with the starter leaderboards) in a child
process on loopback, sends `rps` correctly signed requests a second for `seconds` (open
loop: each request leaves at its scheduled time whatever the previous ones did, and its
latency counts from that time), and counts the answers arriving at a local fake
`response_url`. The baseline is the same load against a bare aiohttp handler returning 200,
in the same kind of child process, measured in the same run. Every ack must come within
Slack's 3 s deadline; the exit code is 1 when one did not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

from tests.fixture_data import project_fixtures

ROOT = Path(__file__).resolve().parent.parent
# Bolt's own slash-command test payload, from the project's recorded data (tests/fixtures/upstream).
FIXTURE = project_fixtures().upstream / "slack_slash_command_body_bolt.txt"
SECRET = "bench-signing-secret-0123456789abcdef"
ACK_DEADLINE = 3.0
QUERIES = ["image classification", "object detection", "imagenet classification", "obj det on coco", "help"]


# --- the servers (child processes) -----------------------------------------------------------


def _seed(db_url: str) -> None:
    """The starter leaderboards (about 190 real tasks), as `sotabot run` loads on a fresh machine."""
    from sotabot.bot.settings import Config
    from sotabot.sources.archive.starter import ensure_starter_data
    from sotabot.storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    if not ensure_starter_data(engine, Config()):
        raise SystemExit("bench.slack_load: the starter leaderboards could not be loaded")
    engine.dispose()


def _serve(app: web.Application) -> None:
    """Run `app` on a free loopback port and print the port for the parent."""

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_bot(db_url: str) -> None:
    from sotabot.bot.platforms.slack import build_http_app, build_slack_app
    from sotabot.bot.service import tune_interpreter
    from sotabot.bot.settings import Config
    from sotabot.storage.config import Secret
    from sotabot.storage.db import make_engine

    tune_interpreter()  # as `sotabot run` does

    config = Config()
    config.slack.mode = "http"
    config.slack.signing_secret = Secret(SECRET)
    config.slack.api_url = "http://127.0.0.1:9/api/"  # no bot token: nothing may call the Web API
    engine = make_engine(db_url)
    _serve(build_http_app(engine, config, build_slack_app(engine, config)))


def serve_baseline() -> None:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    _serve(app)


class Child:
    """A server in its own Python process (its own GIL, like a real deployment)."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.slack_load", *args], stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"server {args} did not start")
        self.url = f"http://127.0.0.1:{int(line)}/slack/events"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the load (this process) -----------------------------------------------------------------


@dataclass
class Sink:
    """The fake response_url: records when each request's answer arrived."""

    arrived: dict[int, float] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)
    url: str = ""

    async def handler(self, request: web.Request) -> web.Response:
        body = await request.read()
        with contextlib.suppress(ValueError):
            n = int(request.match_info["n"])
            self.arrived.setdefault(n, time.perf_counter())
            if b"busy right now" in body:
                self.busy.add(n)
        return web.Response(text="ok")


@dataclass
class Run:
    name: str
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    busy: int = 0
    wall: float = 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000

    @property
    def late(self) -> int:
        return sum(1 for x in self.latencies if x >= ACK_DEADLINE) + self.errors


def body_template() -> dict[str, str]:
    raw = FIXTURE.read_text()
    return dict(parse_qsl(raw, keep_blank_values=True))


def signed(fields: dict[str, str], n: int, sink_url: str) -> tuple[bytes, dict[str, str]]:
    data = dict(fields, command="/sota", text=QUERIES[n % len(QUERIES)], response_url=f"{sink_url}/commands/T111/{n}/x")
    body = urlencode(data).encode()
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={sig}",
    }
    return body, headers


async def load(name: str, url: str, rps: float, seconds: float, sink: Sink | None) -> Run:
    run = Run(name)
    fields = body_template()
    total = int(rps * seconds)
    sent_at: dict[int, float] = {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as http:

        async def one(n: int, due: float) -> None:
            body, headers = signed(fields, n, sink.url if sink else "http://127.0.0.1:9")
            try:
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    run.statuses[resp.status] = run.statuses.get(resp.status, 0) + 1
            except (aiohttp.ClientError, TimeoutError):
                run.errors += 1
                return
            run.latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        tasks = []
        for n in range(total):
            due = start + n / rps
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at[n] = due
            tasks.append(asyncio.create_task(one(n, due)))
        run.sent = total
        await asyncio.gather(*tasks)
        run.wall = time.perf_counter() - start
    if sink is not None:
        deadline = time.perf_counter() + 30
        while len(sink.arrived) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        run.answers = [sink.arrived[n] - sent_at[n] for n in sorted(sink.arrived) if n in sent_at]
        run.busy = len(sink.busy)
    return run


async def start_sink() -> tuple[Sink, web.AppRunner]:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/commands/T111/{n}/x", sink.handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    sink.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return sink, runner


def fmt(x: float) -> str:
    return f"{x:8.1f}"


def report(runs: list[Run], rps: float, seconds: float) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{int(rps)} signed /sota requests a second for {seconds:g} s on loopback (ack latency in ms; "
          f"{os.cpu_count()} CPUs, load average {load:.1f})\n")
    print(f"{'server':<22}{'sent':>7}{'200':>7}{'other':>7}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}"
          f"{'req/s':>8}{'>=3s':>6}")
    for r in runs:
        ok = r.statuses.get(200, 0)
        other = sum(v for k, v in r.statuses.items() if k != 200) + r.errors
        maxi = max(r.latencies) * 1000 if r.latencies else float("nan")
        print(f"{r.name:<22}{r.sent:>7}{ok:>7}{other:>7}{fmt(r.pct(0.5))} {fmt(r.pct(0.9))} {fmt(r.pct(0.99))} "
              f"{fmt(maxi)}{r.sent / r.wall if r.wall else 0:>8.0f}{r.late:>6}")
    base, bot = runs[0], runs[1]
    print(f"\nratio to baseline: p50 x{bot.pct(0.5) / base.pct(0.5):.1f}, p99 x{bot.pct(0.99) / base.pct(0.99):.1f}")
    if bot.answers:
        ans = sorted(bot.answers)
        print(f"answers delivered to response_url: {len(ans)}/{bot.sent}, of which {bot.busy} said \"busy\" "
              f"(send -> answer p50 {statistics.median(ans) * 1000:.0f} ms, "
              f"p99 {ans[min(len(ans) - 1, int(0.99 * len(ans)))] * 1000:.0f} ms, max {ans[-1] * 1000:.0f} ms)")
    else:
        print(f"answers delivered to response_url: 0/{bot.sent}")
    verdict = "yes" if bot.late == 0 and bot.statuses.get(200, 0) == bot.sent else "NO"
    print(f"every ack under {ACK_DEADLINE:g} s with 200: {verdict}")


async def bench(rps: float, seconds: float) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _seed(db_url)
        sink, sink_runner = await start_sink()
        runs = []
        try:
            baseline = Child("--serve-baseline")
            try:
                runs.append(await load("bare aiohttp (base)", baseline.url, rps, seconds, None))
            finally:
                baseline.stop()
            bot = Child("--serve-bot", db_url)
            try:
                await load("warm-up", bot.url, 20, 1, sink)  # first-request costs (index build) are not the load
                sink.arrived.clear()
                sink.busy.clear()
                runs.append(await load("sotabot http mode", bot.url, rps, seconds, sink))
            finally:
                bot.stop()
        finally:
            await sink_runner.cleanup()
    report(runs, rps, seconds)
    bot_run = runs[1]
    return 0 if bot_run.late == 0 and bot_run.statuses.get(200, 0) == bot_run.sent else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack_load", description=__doc__.split("\n")[0])
    parser.add_argument("--rps", type=float, default=200.0, help="requests a second (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each run (default 30)")
    parser.add_argument("--quick", action="store_true", help="5 s runs (a smoke test)")
    parser.add_argument("--serve-bot", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bot:
        serve_bot(args.serve_bot)
        return 0
    if args.serve_baseline:
        serve_baseline()
        return 0
    seconds = 5.0 if args.quick else args.seconds
    if args.rps <= 0 or seconds <= 0 or args.rps * seconds > 100_000:
        parser.error("--rps and --seconds must be positive, at most 100,000 requests in all")
    return asyncio.run(bench(args.rps, seconds))


if __name__ == "__main__":
    sys.exit(main())
