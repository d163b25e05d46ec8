"""The base of every API sandbox: a local HTTP server, declared routes and scriptable faults.

A sandbox is a stateful emulator of part of an accounting API, run on localhost (by the tests,
and by ``migrationkit sandbox NAME`` for people). A new sandbox subclasses :class:`SandboxApp`,
declares its endpoints in a :class:`Routes` table (werkzeug's rule syntax:
``/Accounts/<id>``) and answers them in :meth:`SandboxApp.handle`; this module serves it and
injects the faults real APIs have: bursts of 429 (with a ``Retry-After`` in whole seconds) and
5xx, expired access tokens, and a connection dropped *after* the server committed the request.
The hooks :meth:`~SandboxApp.unauthenticated`, :meth:`~SandboxApp.fault_response`,
:meth:`~SandboxApp.throttle` and :meth:`~SandboxApp.token_valid` put an API's own shapes on
that shared behaviour.

The server is the standard library's, kept on purpose: it keeps connections alive between
requests, which werkzeug's development server does not (it closes every connection and lingers
on it), and the tests send thousands of requests.
"""

from __future__ import annotations

import abc
import collections
import http.server
import json
import math
import re
import socketserver
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

__all__ = [
    "Fault",
    "Faults",
    "NoRoute",
    "Request",
    "Response",
    "Route",
    "Routes",
    "SandboxApp",
    "SandboxServer",
    "retry_after_header",
]


@attrs.frozen
class Request:
    """One request as a sandbox sees it: the path unquoted, the query parsed, the raw body."""

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

    def bearer(self) -> str | None:
        """The bearer token of the ``Authorization`` header, if there is one."""
        header = self.header("Authorization") or ""
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        return token or None


@attrs.frozen
class Response:
    """A sandbox's answer; a body that is not bytes is sent as JSON."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, default=str).encode("utf-8")


def retry_after_header(seconds: float, *, scale: float = 1.0) -> str:
    """A ``Retry-After`` value in whole seconds, as HTTP and the real APIs send it.

    Rounded up and at least 1. ``scale`` is a sandbox's ``rate_scale``: its windows pass
    ``scale`` times faster, so the wait is told in the API's own (unscaled) seconds, and a client
    that knows the scale divides it again (:class:`migrationkit.http.ApiClient`'s
    ``time_scale``).
    """
    return str(max(1, math.ceil(seconds * scale)))


def _whole_seconds(value: float | None) -> int | None:
    return None if value is None else max(0, math.ceil(value))


@attrs.frozen
class Fault:
    """One scripted misbehaviour: answer ``status`` instead, or drop the connection.

    ``retry_after`` goes out as a ``Retry-After`` header in whole seconds (rounded up).
    """

    status: int | None = None
    retry_after: int | None = attrs.field(default=None, converter=_whole_seconds)
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


Handler = Callable[..., Response]
_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@attrs.frozen
class Route:
    """The handler a request matched and the values of the rule's ``<arguments>``, in order."""

    handler: Handler
    args: Mapping[str, Any]

    @property
    def values(self) -> tuple[Any, ...]:
        return tuple(self.args.values())


class NoRoute(Exception):
    """No rule matches: ``status`` 404, or 405 when the path exists for other ``allowed``."""

    def __init__(self, status: int, allowed: Iterable[str] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.allowed = tuple(sorted(allowed))


class Routes:
    """A sandbox's endpoints as werkzeug rules: ``routes.add("GET", "/Accounts/<id>", handler)``.

    Rules take werkzeug's converters (``<int:page>``, ``<uuid:id>``, text around an argument as
    in ``/SalesInvoices(guid'<id>')``) and are matched below ``prefix``. ``case_sensitive=False``
    matches whole static segments in any case, as Xero does (``/invoices`` is ``/Invoices``).
    """

    def __init__(self, prefix: str = "", *, case_sensitive: bool = True) -> None:
        self.prefix = prefix.rstrip("/")
        self.case_sensitive = case_sensitive
        self._map = Map(strict_slashes=False, merge_slashes=False)
        self._static: dict[str, str] = {}
        self._adapter: Any = None

    def add(self, methods: str | Iterable[str], rule: str, handler: Handler) -> None:
        """Answer ``methods`` (one or several) on ``rule`` with ``handler``."""
        chosen = [methods] if isinstance(methods, str) else list(methods)
        path = self.prefix + rule
        names = tuple(_ARGUMENT.findall(path))
        self._map.add(Rule(path, methods=chosen, endpoint=(handler, names)))
        for segment in path.split("/"):
            if "<" not in segment:
                self._static[segment.casefold()] = segment
        self._adapter = None

    def match(self, method: str, path: str) -> Route:
        """The route of a request; raises :class:`NoRoute` when there is none."""
        if not self.case_sensitive:
            path = "/".join(self._static.get(s.casefold(), s) for s in path.split("/"))
        if self._adapter is None:
            self._adapter = self._map.bind("sandbox")
        try:
            (handler, names), args = self._adapter.match(path, method)
        except MethodNotAllowed as exc:
            raise NoRoute(405, exc.valid_methods or ()) from None
        except NotFound:
            raise NoRoute(404) from None
        return Route(handler, {name: args[name] for name in names})


class SandboxApp(abc.ABC):
    """A sandbox's behaviour; subclasses implement :meth:`handle`.

    Bearer tokens: ``token`` (when set) is always accepted; otherwise any bearer token is
    accepted while ``accept_any_token`` holds, else only those :meth:`token_valid` knows (the
    ones the sandbox's own OAuth server issued).
    """

    name = "sandbox"

    def __init__(self, *, token: str | None = None, accept_any_token: bool = True) -> None:
        self.faults = Faults()
        self.lock = threading.RLock()
        self.log: list[tuple[str, str, int]] = []
        self.token = token
        self.accept_any_token = accept_any_token

    @abc.abstractmethod
    def handle(self, request: Request) -> Response:
        """Answer one authorised request (faults and auth are handled before this)."""

    def authorised(self, request: Request) -> bool:
        """Whether the request's bearer token is accepted (see the class docstring)."""
        token = request.bearer()
        if token is None:
            return False
        if self.token is not None and token == self.token:
            return True
        return self.accept_any_token or self.token_valid(token)

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was issued here and has not expired (no OAuth server: never)."""
        return False

    def unauthenticated(self, request: Request) -> Response | None:
        """The answer to a request served without token or faults (an OAuth endpoint), or None."""
        return None

    def throttle(self, request: Request) -> Response | None:
        """A rate limit's refusal (a 429) of an authorised request, or None to serve it."""
        return None

    def fault_response(self, fault: Fault) -> Response:
        """The answer an injected fault gives, in the API's error shape."""
        return Response(
            fault.status or 500, {"error": "injected fault"}, self._fault_headers(fault)
        )

    @staticmethod
    def _fault_headers(fault: Fault) -> dict[str, str]:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return headers

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        """The answer to send, and whether to drop the connection instead of sending it."""
        open_answer = self.unauthenticated(request)
        if open_answer is not None:
            return open_answer, False
        fault = self.faults.take(request.method)
        if fault is not None and fault.status is not None:
            return self.fault_response(fault), False
        if (fault is not None and fault.expire_token) or not self.authorised(request):
            return self.unauthorised(), False
        refused = self.throttle(request)
        if refused is not None:
            return refused, False
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
