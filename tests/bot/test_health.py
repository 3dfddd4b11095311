"""/healthz: within a second, 200 or 503 with the reason, never queued behind other work."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import text

from sotabot.bot.delivery import DeliveryLoop, delivery_health
from sotabot.bot.health import Health
from sotabot.bot.settings import Config
from sotabot.storage.db import make_engine


async def _timed(health: Health) -> tuple[float, int, str]:
    started = time.monotonic()
    status, body = await health.check()
    return time.monotonic() - started, status, body


async def test_health_is_ok_when_the_database_answers_and_every_probe_is_fine(sqlite_engine):
    health = Health(sqlite_engine)
    health.watch("delivery", lambda: (None, None))
    assert (await health.check()) == (200, "ok")
    await health.close()


async def test_an_unreadable_database_is_503_database_unavailable(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    health = Health(engine)
    seconds, status, body = await _timed(health)
    assert (status, body.split(":")[0]) == (503, "database unavailable")
    assert seconds < 1.0
    await health.close()


async def test_health_answers_at_once_while_every_shared_worker_thread_is_blocked(sqlite_engine):
    release = threading.Event()
    blocked = [asyncio.ensure_future(asyncio.to_thread(release.wait, 10)) for _ in range(64)]
    try:
        seconds, status, body = await _timed(Health(sqlite_engine))
    finally:
        release.set()
        await asyncio.gather(*blocked)
    assert (status, body) == (200, "ok")
    assert seconds < 1.0


async def test_a_database_check_that_hangs_is_503_within_the_deadline_and_not_started_twice(sqlite_engine):
    health = Health(sqlite_engine)
    gate = threading.Event()
    health._ping = lambda: gate.wait(10)  # type: ignore[method-assign]  # a connection that never answers
    try:
        first = await _timed(health)
        second = await _timed(health)
    finally:
        gate.set()
    assert first[1:] == (503, "database unavailable: no answer within 0.8s") and first[0] < 1.0
    assert second[1:] == (503, "database unavailable: the previous check has not returned") and second[0] < 0.1
    await health.close()


async def test_postgresql_table_locks_do_not_hold_up_the_check(postgres_url):
    engine = make_engine(postgres_url)
    from sotabot.storage.db import upgrade

    upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE"))
        seconds, status, body = await _timed(Health(engine))
        conn.rollback()
    assert (status, body) == (200, "ok") and seconds < 1.0
    engine.dispose()


def test_the_delivery_probe_names_a_stopped_or_stalled_loop_and_notes_a_busy_database(sqlite_engine):
    loop = DeliveryLoop(sqlite_engine, Config(), {})
    stopping = asyncio.Event()
    assert delivery_health(loop, stopping) == (None, None)
    loop.running = True
    loop.loop_at = time.monotonic() - 3600
    assert delivery_health(loop, stopping)[0] == "delivery loop stalled: no progress for 3600s"
    loop.ledger.trouble = "database is locked"
    assert delivery_health(loop, stopping) == (None, "deliveries delayed: database busy (database is locked)")
    loop.running, loop.finished = False, True
    assert delivery_health(loop, stopping) == ("delivery loop stopped", None)
    stopping.set()  # a normal stop is not a failure
    assert delivery_health(loop, stopping) == (None, None)


async def test_a_running_service_whose_scheduler_stopped_is_503_scheduler_stopped(sqlite_engine):
    import aiohttp

    from sotabot.bot.service import Service
    from tests.bot.test_metrics import _config
    from tests.fakes.slack_api import FakeSlackApi

    with FakeSlackApi() as api:
        service = Service(sqlite_engine, _config(api.url))
        runner = asyncio.create_task(service.run())
        try:
            for _ in range(400):
                if service.http_port:
                    break
                await asyncio.sleep(0.025)
            base = f"http://127.0.0.1:{service.http_port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/healthz") as resp:
                    assert (resp.status, await resp.text()) == (200, "ok")
                service.scheduler.shutdown(wait=False)
                async with http.get(f"{base}/healthz") as resp:
                    assert (resp.status, await resp.text()) == (503, "scheduler stopped")
        finally:
            service.request_stop()
            assert await asyncio.wait_for(runner, 20) == 0
