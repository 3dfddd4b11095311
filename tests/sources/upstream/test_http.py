"""The shared polite client: pacing, retries with Retry-After, body cap, give-up."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from sotabot.sources.upstream.http import (
    DeadlineExceeded,
    PoliteClient,
    Politeness,
    UpstreamError,
    parse_retry_after,
    poll_deadline,
)
from tests.fakes.clock import FakeClock
from tests.fakes.upstream import FakeUpstream, Fault, Reply


@pytest.fixture
def server():
    clock = FakeClock()
    with FakeUpstream(clock=clock) as srv:
        srv.route("/ok", Reply.json({"ok": True}))
        yield srv


def client(server, **kw) -> PoliteClient:
    return PoliteClient(
        server.url, politeness=Politeness(**kw), clock=server.clock, user_agent="sotabot-test (me@lab.org)"
    )


def test_requests_are_spaced_by_the_minimum_interval(server):
    with client(server, min_interval=3.0) as c:
        for _ in range(4):
            assert c.get("/ok").json() == {"ok": True}
    times = [r.at for r in server.log]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [3.0, 3.0, 3.0]
    assert all(r.headers["user-agent"] == "sotabot-test (me@lab.org)" for r in server.log)


def test_429_is_retried_after_the_servers_retry_after(server):
    server.fail("/ok", Fault("status", status=429, retry_after="7"))
    with client(server, backoff_base=1.0) as c:
        assert c.get("/ok").status_code == 200
    assert len(server.log) == 2
    assert server.log[1].at - server.log[0].at == pytest.approx(7.0)


def test_5xx_and_truncated_bodies_back_off_exponentially(server):
    server.fail("/ok", Fault("status", status=503))
    server.fail("/ok", Fault("truncate"))
    server.fail("/ok", Fault("status", status=500))
    with client(server, backoff_base=2.0) as c:
        assert c.get("/ok").json() == {"ok": True}
    assert server.clock.sleeps == [2.0, 4.0, 8.0]


def test_the_retry_budget_ends_in_an_upstream_error(server):
    server.fail("/ok", Fault("status", status=502), times=10)
    with client(server, max_retries=2, backoff_base=1.0) as c, pytest.raises(UpstreamError, match="3 attempts"):
        c.get("/ok")
    assert len(server.log) == 3


def test_a_body_over_the_cap_is_refused_not_retried(server):
    server.fail("/ok", Fault("oversize", status=64))  # ~128 KiB
    with client(server, max_body_bytes=16 * 1024) as c, pytest.raises(UpstreamError, match="cap"):
        c.get("/ok")
    assert len(server.log) == 1


def test_a_compressed_body_is_decoded_once(server):
    payload = json.dumps({"rows": list(range(200))}).encode()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    server.route("/gz", Reply(200, gzip.compress(payload), headers))
    with client(server) as c:
        response = c.get("/gz")
    assert response.json() == {"rows": list(range(200))}  # most APIs (the Hub, GitHub) gzip their JSON
    assert "content-encoding" not in response.headers


def test_4xx_is_returned_to_the_caller_without_retry(server):
    with client(server) as c:
        assert c.get("/missing").status_code == 404
    assert len(server.log) == 1


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12", now=0) == 12
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40) == pytest.approx(60)
    assert parse_retry_after("soon", now=0) is None


def test_a_retry_after_beyond_the_cap_is_an_error_for_the_next_poll_not_a_wait(server):
    server.fail("/ok", Fault("status", status=429, retry_after="86400"))
    with client(server, max_retry_after=120.0) as c, pytest.raises(UpstreamError) as err:
        c.get("/ok")
    assert "Retry-After 86400s, beyond the 120s cap" in str(err.value)
    assert server.clock.sleeps == [] and len(server.log) == 1  # no wait, no second request


@pytest.mark.parametrize("kind", ["drip", "drip-headers"], ids=["body", "headers"])
def test_a_response_dripping_a_byte_at_a_time_ends_at_the_request_deadline(kind):
    import time

    with FakeUpstream() as srv:
        srv.fail("/slow", Fault(kind, seconds=0.2), times=10)
        started = time.monotonic()
        politeness = Politeness(request_deadline=1.0, max_retries=0)
        with PoliteClient(srv.url, politeness=politeness) as c, pytest.raises(DeadlineExceeded) as err:
            c.get("/slow")
        assert time.monotonic() - started < 3.0  # each read succeeds; only the deadline ends it
    assert "took longer than the 1s request deadline" in str(err.value)


def test_a_stop_ends_a_request_whose_headers_drip_within_a_second():
    import threading
    import time

    from sotabot.sources.upstream.http import STOP

    with FakeUpstream() as srv:
        srv.fail("/slow", Fault("drip-headers", seconds=0.2), times=10)
        politeness = Politeness(request_deadline=60.0, max_retries=0)
        timer = threading.Timer(0.5, STOP.set)
        try:
            with PoliteClient(srv.url, politeness=politeness) as c, pytest.raises(DeadlineExceeded) as err:
                timer.start()
                started = time.monotonic()
                c.get("/slow")
            took = time.monotonic() - started
        finally:
            timer.cancel()
            STOP.clear()
    assert took < 1.5 and "stopped" in str(err.value)


def test_a_poll_deadline_ends_requests_and_backoffs_inside_it(server):
    import time

    server.fail("/ok", Fault("status", status=503), times=10)
    with client(server, backoff_base=1.0, max_retries=10) as c, poll_deadline(0.2):
        time.sleep(0.25)
        with pytest.raises(DeadlineExceeded) as err:
            c.get("/ok")
    assert "poll cut off by its deadline" in str(err.value)
    assert len(server.log) == 0


def test_a_poll_cut_off_by_its_deadline_is_recorded_for_status(sqlite_engine):
    import time

    from sqlmodel import Session, select

    from sotabot.sources.poll import run_poll
    from sotabot.storage.models import SourceState

    with FakeUpstream() as srv:
        srv.fail("/feed", Fault("drip", seconds=0.2), times=10)
        http = PoliteClient(srv.url, politeness=Politeness(request_deadline=60.0, max_retries=0))
        started = time.monotonic()
        report = run_poll(sqlite_engine, "dripping", lambda r: http.get("/feed"), client=http, deadline=1.0)
        assert time.monotonic() - started < 3.0
    assert report.errors and "poll cut off by its deadline" in report.errors[0]
    with Session(sqlite_engine) as s:
        state = s.exec(select(SourceState).where(SourceState.source == "dripping")).one()
    assert "poll cut off by its deadline" in (state.last_error or "")
