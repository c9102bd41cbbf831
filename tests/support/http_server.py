"""A real, programmable HTTP/1.1 server on 127.0.0.1, for every test that needs the network.

Tests never mock HTTP: they point the real client at this server and read its request log.

    server = HttpTestServer().start()          # or `with HttpTestServer() as server:`
    server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"},
                 etag='"v1"')                  # answers 304 to a matching If-None-Match
    server.route("/flaky", responses=[Response(status=503), Response(body=b"ok")])
    server.route("/old", status=301, redirect_to="/new")
    server.route("/slow", delay=0.5)           # waits before sending headers
    server.route("/drip", body=b"x" * 1000, trickle=(100, 0.05))  # 100 bytes every 50 ms
    server.route("/bomb", body=b"\\0" * 10**8, gzip=True)  # sent gzip-compressed
    server.route("/endless", body=b"x" * 10**6, content_length=False)  # ends when closed
    server.route("/reset", drop=True)          # closes the connection without answering
    server.mount_dir("/site", Path("tests/fixtures/pages"),
                     headers={"/site/x.html": {"Content-Type": "text/html; charset=iso-8859-1"}})
    server.url("/feed.xml")                    # "http://127.0.0.1:PORT/feed.xml"
    server.requests                            # [LoggedRequest(method, path, headers, ...)]
    server.wait_idle()                         # before asserting on requests the client gave up
    server.stop()

A route given `responses` answers them in turn, then repeats the last one. Unknown paths get a
404. Each server listens on its own free port, so several servers are several "hosts" for the
fetcher's per-host politeness rules.
"""

from __future__ import annotations

import gzip as gzip_module
import mimetypes
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Response:
    """One programmed answer. `drop=True` closes the connection without answering at all."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    trickle: tuple[int, float] | None = None  # (bytes per chunk, seconds between chunks)
    gzip: bool = False  # compress the body and send Content-Encoding: gzip
    redirect_to: str | None = None  # sets Location (relative paths resolve against this server)
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets a 304
    last_modified: str | None = None  # sent; an If-Modified-Since not older gets a 304
    drop: bool = False
    content_length: bool = (
        True  # False: no Content-Length, the body ends when the connection closes
    )


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # path and query, as sent
    headers: Mapping[str, str]  # lower-case names
    started: float  # time.monotonic() when the request line arrived
    # When the answer was complete or abandoned; None while in progress. Taken just before the
    # last bytes are written, so a client cannot have seen the whole answer before `finished`:
    # two requests that overlap in this log really were in progress at the same time.
    finished: float | None
    status: int | None  # what was answered; None while in progress, when dropped, or when the
    # client hung up before the whole answer was written
    client_port: int = 0  # the client's end of the connection: one port, one connection


class _Route:
    def __init__(self, responses: Sequence[Response]) -> None:
        self._responses = list(responses)
        self._served = 0
        self._lock = threading.Lock()

    def next_response(self) -> Response:
        with self._lock:
            response = self._responses[min(self._served, len(self._responses) - 1)]
            self._served += 1
            return response


class HttpTestServer:
    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._mounts: list[tuple[str, Path, dict[str, dict[str, str]]]] = []
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> HttpTestServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        httpd = ThreadingHTTPServer((HOST, 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False  # a handler sleeping in a slow route must not delay stop()
        self._httpd = httpd
        # A short poll interval makes stop() quick (the default 0.5 s adds up over a test suite).
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HttpTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- programming -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("HttpTestServer is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(
        self, path: str, *, responses: Sequence[Response] | None = None, **response: object
    ) -> None:
        """Program `path` (optionally with ?query, matched first) with one or several answers."""
        if responses is not None and response:
            raise TypeError("give either responses=[...] or the fields of one Response")
        answers = list(responses) if responses is not None else [Response(**response)]  # type: ignore[arg-type]
        if not answers:
            raise ValueError("responses must not be empty")
        with self._lock:
            self._routes[path] = _Route(answers)

    def mount_dir(
        self, prefix: str, directory: Path, headers: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        """Serve the files under `directory` at `prefix/...`; `headers` adds or overrides headers
        per URL path (e.g. a lying Content-Type charset)."""
        extra = {path: dict(h) for path, h in (headers or {}).items()}
        with self._lock:
            self._mounts.append((prefix.rstrip("/"), Path(directory), extra))

    # -- inspection --------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every request received so far has been answered or abandoned.

        A client may give up (timeout, size cap) while the server is still sleeping or writing;
        call this before asserting on how those requests ended.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: all(r.finished for r in self._log), timeout):
                raise TimeoutError(f"requests still in progress after {timeout} s")

    # -- used by the handler -----------------------------------------------------------------

    def _answer_for(self, target: str) -> Response:
        path = urlsplit(target).path
        with self._lock:
            route = self._routes.get(target) or self._routes.get(path)
            mounts = list(self._mounts)
        if route is not None:
            return route.next_response()
        for prefix, directory, extra in mounts:
            if path.startswith(prefix + "/"):
                return _file_response(directory, path[len(prefix) + 1 :], extra.get(path, {}))
        return Response(status=404, body=b"not found", headers={"Content-Type": "text/plain"})

    def _arrived(self, request: LoggedRequest) -> int:
        with self._lock:
            self._log.append(request)
            return len(self._log) - 1

    def _finished(self, index: int, request: LoggedRequest) -> None:
        with self._idle:
            if index < len(self._log) and self._log[index].started == request.started:
                self._log[index] = request  # unless clear_log() ran meanwhile
            self._idle.notify_all()


def _file_response(directory: Path, relative: str, extra: Mapping[str, str]) -> Response:
    root = directory.resolve()
    target = (root / relative).resolve()
    if not target.is_file() or not target.is_relative_to(root):
        return Response(status=404, body=b"not found")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return Response(body=target.read_bytes(), headers={"Content-Type": content_type, **extra})


def _is_not_modified(answer: Response, request_headers: Mapping[str, str]) -> bool:
    if answer.status != 200:
        return False
    if_none_match = request_headers.get("if-none-match")
    if answer.etag is not None and if_none_match is not None:
        return answer.etag in {tag.strip() for tag in if_none_match.split(",")} or (
            if_none_match.strip() == "*"
        )
    since = request_headers.get("if-modified-since")
    if answer.last_modified is not None and since is not None:
        try:
            return parsedate_to_datetime(answer.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers
    # Headers and body are separate writes; with Nagle's algorithm on, each response would wait
    # ~40 ms for a delayed ACK, which slows every test and distorts the benchmark.
    disable_nagle_algorithm = True
    server_state: HttpTestServer

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        state = self.server_state
        arrival = LoggedRequest(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            time.monotonic(),
            None,
            None,
            self.client_address[1],
        )
        index = state._arrived(arrival)
        headers = arrival.headers
        answer = state._answer_for(self.path)
        status: int | None = None
        self._completing: float | None = None
        try:
            if answer.delay:
                time.sleep(answer.delay)
            if answer.drop:
                self.close_connection = True
                return
            status = self._write(answer, headers, send_body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up: that is what some tests check
        finally:
            finished = self._completing if status is not None else None
            done = replace(arrival, finished=finished or time.monotonic(), status=status)
            state._finished(index, done)

    def _write(self, answer: Response, request_headers: Mapping[str, str], send_body: bool) -> int:
        not_modified = _is_not_modified(answer, request_headers)
        status = 304 if not_modified else answer.status
        body = b"" if not_modified else answer.body
        out: dict[str, str] = {}
        if answer.gzip and body:
            body = gzip_module.compress(body, compresslevel=9)
            out["Content-Encoding"] = "gzip"
        if answer.etag is not None:
            out["ETag"] = answer.etag
        if answer.last_modified is not None:
            out["Last-Modified"] = answer.last_modified
        if answer.redirect_to is not None:
            out["Location"] = answer.redirect_to
        out.update(answer.headers)
        if not answer.content_length:
            out["Connection"] = "close"
            self.close_connection = True
        elif not any(k.lower() == "content-length" for k in out):
            out["Content-Length"] = str(len(body))
        self.send_response(status)
        for name, value in out.items():
            self.send_header(name, value)
        with_body = send_body and status != 304 and bool(body)
        if not with_body or answer.trickle is None:
            self._completing = time.monotonic()
        self.end_headers()
        if with_body:
            self._write_body(body, answer.trickle)
        return status

    def _write_body(self, body: bytes, trickle: tuple[int, float] | None) -> None:
        if trickle is None:
            self.wfile.write(body)
            return
        size, pause = trickle
        for start in range(0, len(body), size):
            if start + size >= len(body):
                self._completing = time.monotonic()
            self.wfile.write(body[start : start + size])
            self.wfile.flush()
            time.sleep(pause)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request log is the record, stderr noise would hide test output."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
