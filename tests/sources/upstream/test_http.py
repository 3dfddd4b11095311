"""The shared polite client: pacing, retries with Retry-After, body cap, give-up."""

from __future__ import annotations

import itertools

import pytest

from sotabot.sources.upstream.http import PoliteClient, Politeness, UpstreamError, parse_retry_after
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


def test_4xx_is_returned_to_the_caller_without_retry(server):
    with client(server) as c:
        assert c.get("/missing").status_code == 404
    assert len(server.log) == 1


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12", now=0) == 12
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40) == pytest.approx(60)
    assert parse_retry_after("soon", now=0) is None
