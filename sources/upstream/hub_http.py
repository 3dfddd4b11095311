"""huggingface_hub's HTTP routed through our PoliteClient, for the length of a `routed` block.

huggingface_hub sends every request through one process-wide httpx.Client made by its client
factory (`set_client_factory`). We install once a factory whose client routes by a ContextVar:
- inside `routed(polite, endpoint)` (in that thread only) a request goes through `polite`:
  our pacing, retries on our clock honouring Retry-After, body cap, request and poll
  deadlines, request count and User-Agent. A request for any other place than `endpoint`
  (a next-page link or a redirect elsewhere) is refused before it is sent, so a token never
  leaves the Hub;
- outside it, a request goes to a client made by huggingface_hub's own default factory,
  exactly as if nothing were installed (the archive download in sources/archive/hub.py).

Every status huggingface_hub's own backoff retries (408, 429, 5xx) is retried here first and
ends in an UpstreamError, so its real-clock sleeps never run on a routed request.

Installing goes through `set_client_factory`, which closes the shared client of the moment: it
happens once a process (again only if someone replaced our factory), and a download running in
another thread at that very instant may lose its connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from huggingface_hub.utils import get_session, set_client_factory
from huggingface_hub.utils._http import default_client_factory  # not exported; the factory we stand in for

from sotabot.sources.upstream.http import RETRY_STATUSES, ApiError, PoliteClient

HUB_RETRY_STATUSES = RETRY_STATUSES | {408}  # the statuses huggingface_hub's http_backoff retries
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "transfer-encoding"})


class Refused(ApiError):
    """A request the route did not send: another place than the endpoint, or one past a caller's limit."""


@dataclass
class Route:
    """Where routed requests go, and the last answer (for a caller that reads its raw body)."""

    client: PoliteClient
    endpoint: str
    before: Callable[[httpx.Request], None] | None = None  # may raise Refused
    last: httpx.Response | None = None

    def allows(self, url: httpx.URL) -> bool:
        mine = urlsplit(self.endpoint.rstrip("/") + "/")
        place = (url.scheme, url.netloc.decode().lower())
        return place == (mine.scheme.lower(), mine.netloc.lower()) and url.path.startswith(mine.path)

    def send(self, request: httpx.Request) -> httpx.Response:
        if not self.allows(request.url):
            raise Refused(f"{self.client.name}: not following {request.url} (not {self.endpoint})")
        if self.before is not None:
            self.before(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        self.last = self.client.request(
            request.method, str(request.url), headers=headers, content=request.read() or None,
            retry_statuses=HUB_RETRY_STATUSES,
        )
        return self.last


_ROUTE: ContextVar[Route | None] = ContextVar("hub_route", default=None)
_INSTALL_LOCK = threading.Lock()


class _RoutingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._default: httpx.Client | None = None
        self._lock = threading.Lock()

    def _fallback(self) -> httpx.Client:
        with self._lock:
            if self._default is None:
                self._default = default_client_factory()
            return self._default

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        route = _ROUTE.get()
        if route is not None:
            return route.send(request)
        # Redirects are followed by the outer client (as the default client follows them), not twice.
        return self._fallback().send(request, stream=True, follow_redirects=False)

    def close(self) -> None:
        if self._default is not None:
            self._default.close()


class RoutingClient(httpx.Client):
    """The client huggingface_hub shares process-wide once `routed` has run: configured like its default."""

    def __init__(self) -> None:
        super().__init__(transport=_RoutingTransport(), follow_redirects=True, timeout=None)


def install() -> None:
    """Make huggingface_hub's shared client a RoutingClient (once; again if someone replaced it)."""
    with _INSTALL_LOCK:
        if not isinstance(get_session(), RoutingClient):
            set_client_factory(RoutingClient)


@contextmanager
def routed(
    client: PoliteClient, endpoint: str, before: Callable[[httpx.Request], None] | None = None
) -> Iterator[Route]:
    """huggingface_hub calls made inside (in this thread) go through `client`, to `endpoint` only."""
    install()
    route = Route(client, endpoint, before)
    token = _ROUTE.set(route)
    try:
        yield route
    finally:
        _ROUTE.reset(token)


__all__ = ["HUB_RETRY_STATUSES", "Refused", "Route", "RoutingClient", "install", "routed"]
