"""A tiny real forward proxy on 127.0.0.1 for http:// targets, to test the fetcher's proxy use.

    with ForwardProxy(hosts={"news.test": "127.0.0.1"}) as proxy:
        proxy.url                    # "http://127.0.0.1:PORT"
        proxy.requests               # absolute URLs asked for, in order

It answers `GET http://host:port/path` by making the same request itself (resolving names from
`hosts`, as a proxy's own DNS would) and relaying the answer. No CONNECT: https through a proxy
is not tested here.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "upgrade"}
)


class ForwardProxy:
    def __init__(self, hosts: Mapping[str, str] | None = None) -> None:
        self.hosts = dict(hosts or {})
        self._requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> ForwardProxy:
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("ForwardProxy is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def requests(self) -> list[str]:
        with self._lock:
            return list(self._requests)

    def _log(self, target: str) -> None:
        with self._lock:
            self._requests.append(target)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: ForwardProxy

    def do_GET(self) -> None:
        self.proxy._log(self.path)
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self.send_error(400, "this proxy forwards absolute http:// URLs only")
            return
        address = self.proxy.hosts.get(target.hostname, target.hostname)
        upstream = http.client.HTTPConnection(address, target.port or 80, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            path = target.path or "/"
            upstream.request(
                "GET", f"{path}?{target.query}" if target.query else path, None, headers
            )
            answer = upstream.getresponse()
            body = answer.read()
        except OSError as exc:
            self.send_error(502, f"upstream: {exc}")
            return
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"transfer-encoding", "content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: `requests` is the record."""
