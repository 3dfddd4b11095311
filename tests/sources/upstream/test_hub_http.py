"""huggingface_hub's HTTP through our polite client: only inside `routed`, only in that thread, only to its endpoint.

Against the fake Hub (tests/fakes/hub.py) with huggingface_hub's own `HfApi.dataset_info`; its
real-clock backoff is replaced by a sleep that fails the test, so every wait shown is on our clock.
"""

from __future__ import annotations

import threading

import huggingface_hub.utils._http as hf_http
import pytest
from huggingface_hub import HfApi
from huggingface_hub.utils import set_client_factory

from sotabot.sources.upstream.http import PoliteClient, Politeness
from sotabot.sources.upstream.hub_http import Refused, routed
from tests.fakes.clock import FakeClock
from tests.fakes.hub import FakeHub
from tests.fakes.upstream import Fault

REPO = "example-org/code-bench"


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch):
    def refuse(seconds: float) -> None:
        raise AssertionError(f"huggingface_hub slept {seconds}s on the real clock")

    monkeypatch.setattr(hf_http.time, "sleep", refuse)


@pytest.fixture
def hub():
    with FakeHub() as server:
        server.publish(REPO, {"README.md": b"---\nlicense: mit\n---\n"})
        yield server


@pytest.fixture
def polite(hub):
    with PoliteClient(hub.url, politeness=Politeness(backoff_base=1.0), clock=FakeClock(), name="hub-test") as c:
        yield c


def test_only_calls_inside_the_block_go_through_our_client(hub, polite):
    api = HfApi(endpoint=hub.url, token=False)
    with routed(polite, hub.url):
        assert api.dataset_info(REPO).id == REPO
    assert api.dataset_info(REPO).id == REPO  # afterwards: huggingface_hub's own client, as if we were not here
    assert (polite.requests, len(hub.log)) == (1, 2)


def test_another_thread_is_not_routed(hub, polite):
    api = HfApi(endpoint=hub.url, token=False)
    seen: list[str] = []
    with routed(polite, hub.url):
        worker = threading.Thread(target=lambda: seen.append(api.dataset_info(REPO).id))
        worker.start()
        worker.join()
    assert seen == [REPO]
    assert (polite.requests, len(hub.log)) == (0, 1)  # the archive download in another thread stays its own


def test_a_request_for_another_host_is_refused_before_it_is_sent(hub, polite):
    with FakeHub() as elsewhere:
        with routed(polite, hub.url), pytest.raises(Refused, match="not following"):
            HfApi(endpoint=elsewhere.url, token="hf_secret").dataset_info(REPO)
        assert elsewhere.log == []  # the token never left
    assert polite.requests == 0


def test_every_status_the_hub_client_would_retry_is_retried_on_our_clock(hub, polite):
    hub.fail(f"/api/datasets/{REPO}", Fault("status", 408))
    hub.fail(f"/api/datasets/{REPO}", Fault("status", 429, retry_after="7"))
    hub.fail(f"/api/datasets/{REPO}", Fault("status", 503))
    with routed(polite, hub.url):
        assert HfApi(endpoint=hub.url, token=False).dataset_info(REPO).id == REPO
    assert polite.clock.sleeps == [1.0, 7.0, 4.0]  # our backoff, Retry-After honoured; none of the Hub client's


def test_a_client_factory_set_by_someone_else_is_replaced_at_the_next_block(hub, polite):
    set_client_factory(hf_http.default_client_factory)
    with routed(polite, hub.url):
        HfApi(endpoint=hub.url, token=False).dataset_info(REPO)
    assert polite.requests == 1
