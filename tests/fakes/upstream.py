"""A local HTTP server that replays recorded upstream responses and injects faults.

Routes map (method, path) to a canned reply or a callable; faults are queued per path
prefix (status with Retry-After, timeout, truncated body, oversized body) and consumed in
order, and every request is logged with the fake clock's time so politeness can be
asserted from the server's side.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def xml(cls, body: bytes | str, status: int = 200) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        return cls(status, data, {"Content-Type": "application/atom+xml; charset=utf-8"})


@dataclass
class Fault:
    """One injected failure: kind is status | timeout | truncate | oversize | reset | drip | drip-headers.

    drip: a 200 whose body comes one byte every `seconds` (default 1) for up to 10 minutes,
    so every read succeeds and only a wall-clock deadline ends the request. drip-headers: the
    same with the status line and headers, which never end (the response never starts).
    """

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # the fake clock's time if one is attached, else time.monotonic()


Handler = Callable[[LoggedRequest], Reply]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-reply (the body-cap tests do) is expected, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeUpstream:
    """Start with `with FakeUpstream() as srv:`; `srv.url` is the base URL."""

    def __init__(self, clock: Any | None = None) -> None:
        self.routes: dict[tuple[str, str], Reply | Handler] = {}
        self.faults: list[tuple[str, Fault]] = []
        self.log: list[LoggedRequest] = []
        self.dripping: list[str] = []  # paths of the requests whose drip is in progress right now
        self.clock = clock
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, path: str, reply: Reply | Handler, method: str = "GET") -> None:
        self.routes[(method, path)] = reply

    def fail(self, path_prefix: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([(path_prefix, fault)] * times)

    def requests_to(self, path_prefix: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.path.startswith(path_prefix)]

    def dripping_now(self) -> list[str]:
        """The paths being dripped to a client that is still reading (a request in flight)."""
        with self._lock:
            return list(self.dripping)

    @contextmanager
    def _drip(self, path: str) -> Iterator[None]:
        with self._lock:
            self.dripping.append(path)
        try:
            yield
        finally:
            with self._lock:
                self.dripping.remove(path)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, (prefix, fault) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[i]
                    return fault
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms to every request

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                now = upstream.clock.monotonic() if upstream.clock else time.monotonic()
                req = LoggedRequest(
                    method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, body, now,
                )
                with upstream._lock:
                    upstream.log.append(req)
                fault = upstream._take_fault(parts.path)
                if fault is not None and self._apply_fault(fault, parts.path):
                    return
                target = upstream.routes.get((method, parts.path))
                if target is None:
                    reply = Reply.json({"message": "Not Found"}, status=404)
                else:
                    reply = target(req) if callable(target) else target
                self._write(reply)

            def _apply_fault(self, fault: Fault, path: str) -> bool:
                if fault.kind == "status":
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._write(Reply.json({"error": "injected"}, status=fault.status, headers=headers))
                    return True
                if fault.kind == "timeout":
                    time.sleep(fault.seconds or 2.0)
                    self.close_connection = True
                    return True
                if fault.kind == "reset":
                    self.close_connection = True
                    return True
                if fault.kind == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"truncated": [1, 2, ')
                    self.close_connection = True
                    return True
                if fault.kind == "drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "600")
                    self.end_headers()
                    with upstream._drip(path):
                        for _ in range(600):
                            try:
                                self.wfile.write(b" ")
                                self.wfile.flush()
                            except OSError:  # the client gave up: that is the point
                                break
                            time.sleep(fault.seconds or 1.0)
                    self.close_connection = True
                    return True
                if fault.kind == "drip-headers":
                    with upstream._drip(path):
                        try:
                            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                            for _ in range(600):
                                self.wfile.write(b"a")
                                self.wfile.flush()
                                time.sleep(fault.seconds or 1.0)
                        except OSError:  # the client gave up: that is the point
                            pass
                    self.close_connection = True
                    return True
                if fault.kind == "oversize":
                    payload = b"[" + b"0," * (fault.status * 1024) + b"0]"
                    self._write(Reply(200, payload, {"Content-Type": "application/json"}))
                    return True
                return False

            def _write(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_HEAD(self) -> None:
                self._serve("HEAD")

        return _Handler
