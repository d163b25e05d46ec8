"""The base of every API sandbox: a local HTTP server with scriptable faults.

A sandbox is a stateful emulator of part of an accounting API, run on localhost (by the tests,
and by ``migrationkit sandbox NAME`` for people). A connector's sandbox implements
:meth:`SandboxApp.handle`; this module serves it and injects the faults real APIs have: bursts
of 429 and 5xx, expired access tokens, and a connection dropped *after* the server committed
the request.
"""

from __future__ import annotations

import abc
import collections
import http.server
import json
import socketserver
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Fault", "Faults", "Request", "Response", "SandboxApp", "SandboxServer"]


@attrs.frozen
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@attrs.frozen
class Response:
    status: int
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, default=str).encode("utf-8")


@attrs.frozen
class Fault:
    """One scripted misbehaviour: answer ``status`` instead, or drop the connection."""

    status: int | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    drop_after_commit: bool = False
    expire_token: bool = False
    methods: tuple[str, ...] = ()


class Faults:
    """A queue of faults applied to the next matching requests, in order."""

    def __init__(self) -> None:
        self._queue: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self.injected = 0

    def add(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._queue.extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        with self._lock:
            for n, fault in enumerate(self._queue):
                if not fault.methods or method in fault.methods:
                    del self._queue[n]
                    self.injected += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


class SandboxApp(abc.ABC):
    """A sandbox's behaviour; subclasses implement :meth:`handle`."""

    name = "sandbox"

    def __init__(self) -> None:
        self.faults = Faults()
        self.lock = threading.RLock()
        self.log: list[tuple[str, str, int]] = []

    @abc.abstractmethod
    def handle(self, request: Request) -> Response:
        """Answer one authorised request (faults and auth are handled before this)."""

    def authorised(self, request: Request) -> bool:
        """Any bearer token is accepted, unless a fault expired it."""
        header = request.header("Authorization") or ""
        return header.startswith("Bearer ") and len(header) > len("Bearer ")

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        """The answer to send, and whether to drop the connection instead of sending it."""
        fault = self.faults.take(request.method)
        if fault is not None and fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return Response(fault.status, {"error": "injected fault"}, headers), False
        if fault is not None and fault.expire_token:
            return self.unauthorised(), False
        if not self.authorised(request):
            return self.unauthorised(), False
        with self.lock:
            response = self.handle(request)
        self.log.append((request.method, request.path, response.status))
        return response, bool(fault and fault.drop_after_commit)

    def unauthorised(self) -> Response:
        return Response(401, {"error": "unauthorized", "detail": "TokenExpired"})


class _Handler(http.server.BaseHTTPRequestHandler):
    app: SandboxApp
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm each answer waits ~40 ms.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urllib.parse.urlsplit(self.path)
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(parts.path),
            query=urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=body,
        )
        try:
            response, drop = self.app.dispatch(request)
        except Exception as exc:  # a bug in the sandbox must look like a server error
            response, drop = Response(500, {"error": f"sandbox error: {exc}"}), False
        if drop:
            # The work is done and committed; the client never hears about it.
            self.close_connection = True
            self.connection.shutdown(2)
            return
        assert response is not None
        payload = response.encode()
        self.send_response(response.status)
        has_type = any(k.lower() == "content-type" for k in response.headers)
        if payload and not has_type:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class SandboxServer:
    """Serves a :class:`SandboxApp` on ``127.0.0.1`` in a background thread."""

    def __init__(self, app: SandboxApp, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"app": app})
        self.app = app
        self._server = _Server(("127.0.0.1", port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
