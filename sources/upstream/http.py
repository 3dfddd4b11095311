"""One polite, robust HTTP client shared by every upstream source.

Politeness is explicit (minimum interval between requests, one connection, a User-Agent
with a contact address), failures are retried with exponential backoff that honours
Retry-After, bodies are capped, and time comes from an injectable clock so tests can check
the pacing from the fake server's request log without sleeping.

Every wait is bounded in wall-clock time: a request ends after `request_deadline` however
slowly its body drips, a poll run's deadline (`poll_deadline`, set by the poll frame)
ends every request and backoff inside it, a Retry-After beyond `max_retry_after` is an
error for the next poll to retry, and `STOP` (set when `sotabot run` stops) ends them all
at the next byte or sleep.
"""

from __future__ import annotations

import contextvars
import email.utils
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from sotabot.sources.settings import HttpConfig
from sotabot.sources.upstream import wire
from sotabot.sources.upstream.wire import DeadlineTransport

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_ENCODED_BODY_HEADERS = frozenset({"content-encoding", "content-length"})
USER_AGENT = "sotabot/0.1 (+https://github.com/sotabot/sotabot)"


def user_agent(contact: str = "") -> str:
    """Our User-Agent, with the operator's contact address when one is configured (upstreams ask for it)."""
    return f"{USER_AGENT} mailto:{contact}" if contact else USER_AGENT


STOP = threading.Event()  # the process is stopping: requests and backoffs end now
_POLL_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("poll_deadline", default=None)


@contextmanager
def poll_deadline(seconds: float | None) -> Iterator[None]:
    """Requests made inside (in this thread) end once `seconds` of wall-clock time have passed."""
    token = _POLL_DEADLINE.set(time.monotonic() + seconds if seconds else None)
    try:
        yield
    finally:
        _POLL_DEADLINE.reset(token)


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def time(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            STOP.wait(seconds)

    def time(self) -> float:
        return time.time()


class UpstreamError(Exception):
    """An upstream request failed for good (after retries, or not retryable)."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class DeadlineExceeded(UpstreamError):
    """A request or a whole poll ran out of wall-clock time (or the process is stopping)."""


@dataclass
class Politeness:
    min_interval: float = 0.0
    max_retries: int = 5
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    max_body_bytes: int = 64 * 1024 * 1024
    timeout: float = 20.0
    request_deadline: float = 120.0
    max_retry_after: float = 120.0

    @classmethod
    def from_config(cls, http: HttpConfig, **overrides: Any) -> Politeness:
        values = {
            "max_retries": http.max_retries,
            "backoff_base": http.backoff_base_seconds,
            "backoff_max": http.backoff_max_seconds,
            "max_body_bytes": http.max_body_bytes,
            "timeout": http.timeout_seconds,
            "request_deadline": http.request_deadline_seconds,
            "max_retry_after": http.max_retry_after_seconds,
        }
        values.update(overrides)
        return cls(**values)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class PoliteClient:
    """A synchronous httpx client with pacing, retries, body cap and a request count."""

    def __init__(
        self,
        base_url: str,
        *,
        politeness: Politeness | None = None,
        user_agent: str = USER_AGENT,
        headers: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        name: str = "upstream",
    ) -> None:
        self.politeness = politeness or Politeness()
        self.clock = clock or SystemClock()
        self.name = name
        self.requests = 0
        self.budget: int | None = None  # requests this client may send (retries included); None: no limit
        self._last_request: float | None = None
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": user_agent, **(headers or {})},
            timeout=self.politeness.timeout,
            limits=limits,
            follow_redirects=False,
            transport=transport or DeadlineTransport(limits, STOP),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pace(self) -> None:
        if self._last_request is not None and self.politeness.min_interval > 0:
            wait = self._last_request + self.politeness.min_interval - self.clock.monotonic()
            if wait > 0:
                self.clock.sleep(wait)
        self._last_request = self.clock.monotonic()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.politeness.backoff_max, self.politeness.backoff_base * (2**attempt))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.politeness.backoff_max))
        return delay

    def _check_time(self, url: str, started: float | None = None) -> float:
        """Seconds left before a deadline; raises DeadlineExceeded when none are."""
        if STOP.is_set():
            raise DeadlineExceeded(f"{self.name}: stopped", url=url)
        now = time.monotonic()
        left = float("inf")
        if started is not None:
            left = started + self.politeness.request_deadline - now
            if left <= 0:
                raise DeadlineExceeded(
                    f"{self.name}: {url} took longer than the {self.politeness.request_deadline:.0f}s request deadline",
                    url=url,
                )
        poll_end = _POLL_DEADLINE.get()
        if poll_end is not None:
            if poll_end <= now:
                raise DeadlineExceeded(f"{self.name}: poll cut off by its deadline at {url}", url=url)
            left = min(left, poll_end - now)
        return left

    def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        left = self._check_time(url, started)
        timeout = min(float(kwargs.pop("timeout", None) or self.politeness.timeout), left)
        request = self._client.build_request(method, url.lstrip("/"), timeout=timeout, **kwargs)
        try:
            # every socket wait (connect, status line and headers dripping byte by byte, a
            # stalled body) ends at the deadline, or within half a second of a stop
            with wire.until(started + left):
                response = self._client.send(request, stream=True)
                try:
                    chunks = self._body(response, request, url, started)
                finally:
                    response.close()
        except httpx.TimeoutException:
            self._check_time(url, started)  # the deadline (or a stop) rather than a read timeout
            raise
        # The body is decoded already: drop its encoding (and the encoded length), else httpx decodes it again.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODED_BODY_HEADERS]
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=request,
            extensions={"http_version": response.extensions.get("http_version", b"HTTP/1.1")},
        )

    def _body(self, response: httpx.Response, request: httpx.Request, url: str, started: float) -> list[bytes]:
        """The body's chunks, within the byte cap and the deadline."""
        cap = self.politeness.max_body_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise UpstreamError(
                f"{self.name}: response of {declared} bytes exceeds the {cap}-byte cap",
                status=response.status_code,
                url=str(request.url),
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            self._check_time(url, started)  # a body dripping byte by byte still ends on time
            size += len(chunk)
            if size > cap:
                raise UpstreamError(
                    f"{self.name}: response exceeds the {cap}-byte cap",
                    status=response.status_code,
                    url=str(request.url),
                )
            chunks.append(chunk)
        return chunks

    def request(
        self,
        method: str,
        url: str,
        *,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with pacing and retries; returns the final response (any non-retry status).

        Raises UpstreamError when the retry budget is spent or the body is over the cap.
        """
        last_error = ""
        for attempt in range(self.politeness.max_retries + 1):
            with self._lock:
                if self.budget is not None and self.requests >= self.budget:
                    raise BudgetSpent(f"{self.name}: request budget of {self.budget} spent")
                self._pace()
                self.requests += 1
                retry_after: float | None = None
                try:
                    response = self._send_once(method, url, **kwargs)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                else:
                    # Decoding errors (truncated gzip) surface here, not as transport errors.
                    if response.status_code not in retry_statuses:
                        return response
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"), self.clock.time()
                    )
                    last_error = f"HTTP {response.status_code}"
                    if retry_after is not None and retry_after > self.politeness.max_retry_after:
                        raise UpstreamError(
                            f"{self.name}: {method} {url}: HTTP {response.status_code} with Retry-After "
                            f"{retry_after:.0f}s, beyond the {self.politeness.max_retry_after:.0f}s cap; "
                            "trying again at the next poll",
                            status=response.status_code,
                            url=url,
                        )
                if attempt == self.politeness.max_retries:
                    break
                delay = self._backoff(attempt, retry_after)
                if delay >= self._check_time(url):
                    raise DeadlineExceeded(
                        f"{self.name}: poll cut off by its deadline at {method} {url} ({last_error})", url=url
                    )
                log.warning(
                    "%s %s %s failed (%s); retry %d/%d in %.1fs",
                    self.name, method, url, last_error, attempt + 1, self.politeness.max_retries, delay,
                )
                self.clock.sleep(delay)
        raise UpstreamError(
            f"{self.name}: {method} {url} failed after {self.politeness.max_retries + 1} attempts: "
            f"{last_error}",
            url=url,
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


class BudgetSpent(Exception):
    """The poll's request budget is spent: the request was not sent (not an upstream fault)."""


class ApiError(Exception):
    """A JSON API answer that breaks the contract: not JSON, truncated, wrong shape, HTTP 4xx."""


class NotFound(ApiError):
    """HTTP 404: the upstream does not know this object."""


class JsonApi:
    """A polite client for a JSON API: 404 -> NotFound, other 4xx or bad JSON -> ApiError.

    Retries, pacing and the body cap come from PoliteClient; a contact address, when given,
    goes into the User-Agent so the upstream can reach the operator.
    """

    def __init__(
        self,
        base_url: str,
        *,
        politeness: Politeness,
        contact: str = "",
        headers: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        name: str,
    ) -> None:
        self.http = PoliteClient(
            base_url,
            politeness=politeness,
            user_agent=user_agent(contact),
            headers={"Accept": "application/json", **(headers or {})},
            clock=clock,
            transport=transport,
            name=name,
        )

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()

    def get_response(self, url: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        response = self.http.get(url, params=params)
        if response.status_code == 404:
            raise NotFound(f"{url}: not found upstream")
        if response.status_code >= 400:
            raise ApiError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        return response

    @staticmethod
    def decode(url: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(f"{url}: response is not valid JSON ({exc.__class__.__name__}: {exc})") from None

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.decode(url, self.get_response(url, params))
