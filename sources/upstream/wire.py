"""An httpx transport whose every socket wait ends at the request's wall-clock deadline.

httpx's timeouts bound each single read, so a server that drips its status line and headers
a byte at a time, each within the read timeout, holds `client.send` for as long as it likes:
the body loop in PoliteClient checks the deadline between chunks, but headers come before
it. Here the socket itself knows the deadline (`until`, set around a request in this thread):
every connect and read waits at most until then, in slices short enough that `stop` (the
process is stopping) ends the wait within half a second.
"""

from __future__ import annotations

import contextvars
import ssl
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

SLICE_SECONDS = 0.5  # how soon a blocked read notices STOP

_UNTIL: contextvars.ContextVar[float | None] = contextvars.ContextVar("wire_until", default=None)


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Socket waits in this thread end at `deadline` (time.monotonic)."""
    token = _UNTIL.set(deadline)
    try:
        yield
    finally:
        _UNTIL.reset(token)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, stop: threading.Event) -> None:
        self._inner = inner
        self._stop = stop

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        started = time.monotonic()
        while True:
            wait = _bounded(timeout if timeout is None else timeout - (time.monotonic() - started), self._stop)
            try:
                return self._inner.read(max_bytes, wait if wait is None else min(wait, SLICE_SECONDS))
            except httpcore.ReadTimeout:
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise  # the read timeout itself, not just a slice of it

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, self._stop))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, self._stop)), self._stop)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


def _bounded(timeout: float | None, stop: threading.Event) -> float | None:
    """`timeout` cut to what is left before this thread's deadline; none left raises a timeout."""
    deadline = _UNTIL.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0 or stop.is_set():
        raise httpcore.ReadTimeout("request deadline reached")
    return left if timeout is None else min(timeout, left)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, stop: threading.Event) -> None:
        self._inner = httpcore.SyncBackend()
        self._stop = stop

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _bounded(timeout, self._stop), local_address, socket_options)
        return _Stream(stream, self._stop)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _bounded(timeout, self._stop), socket_options), self._stop)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport over a connection pool whose sockets honour `until` and `stop`."""

    def __init__(self, limits: httpx.Limits, stop: threading.Event) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(stop),
        )
