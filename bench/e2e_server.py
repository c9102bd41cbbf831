"""The corpus's outlets as real HTTP servers, one per loopback address, in a process of their own.

Every response waits `latency` seconds before its status line, as a remote server would. Feeds
carry an ETag and answer 304 to a matching If-None-Match; robots.txt allows everything. Served
from another process, so that the benchmark's process holds neither the page bytes nor the
serving work (tests/support/http_server.py binds 127.0.0.1 only, in the test's own process).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import signal
import socket
from pathlib import Path

from bench.e2e_corpus import Corpus, load

ROBOTS = b"User-agent: *\nAllow: /\n"
START_TIMEOUT_S = 60.0


class CorpusServer:
    """`with CorpusServer(corpus, latency) as server:` serves every host until the block ends."""

    def __init__(self, corpus: Corpus, latency: float) -> None:
        self.corpus, self.latency = corpus, latency
        self.process: multiprocessing.Process | None = None

    def __enter__(self) -> CorpusServer:
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        self.process = ctx.Process(
            target=_serve, args=(str(self.corpus.directory), self.latency, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(START_TIMEOUT_S):
            self.__exit__()
            raise RuntimeError("the corpus server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.is_alive():
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()


def free_port(hosts: list[str]) -> int:
    """A port free on every one of `hosts` (the first host's free port, checked on the others)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        try:
            for host in hosts[1:]:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every benchmark host")


def _serve(directory: str, latency: float, ready) -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    corpus = load(Path(directory))
    routes: dict[tuple[str, str], tuple[bytes, str, str | None]] = {}
    for page in corpus.pages:
        host, path = _split(page.url)
        body = (corpus.directory / page.file).read_bytes()
        routes[host, path] = (body, "text/html; charset=utf-8", None)
    for feed in corpus.feeds:
        host, path = _split(feed.url)
        body = (corpus.directory / feed.file).read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        routes[host, path] = (body, "application/rss+xml; charset=utf-8", etag)
    asyncio.run(_main(corpus, routes, latency, ready))


def _split(url: str) -> tuple[str, str]:
    rest = url.split("://", 1)[1]
    netloc, _, path = rest.partition("/")
    return netloc.rsplit(":", 1)[0], "/" + path


async def _main(corpus: Corpus, routes: dict, latency: float, ready) -> None:
    servers = []
    for host in corpus.hosts:

        async def handle(reader, writer, host=host):
            await _connection(reader, writer, host, routes, latency)

        servers.append(await asyncio.start_server(handle, host, corpus.port, backlog=512))
    ready.set()
    await asyncio.Event().wait()


async def _connection(reader, writer, host: str, routes: dict, latency: float) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if latency:
                await asyncio.sleep(latency)
            status, body, extra = _answer(host, target.split("?", 1)[0], headers, routes)
            reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
            lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *extra]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    writer.close()


def _answer(host: str, path: str, headers: dict, routes: dict) -> tuple[int, bytes, list[str]]:
    if path == "/robots.txt":
        return 200, ROBOTS, ["Content-Type: text/plain"]
    route = routes.get((host, path))
    if route is None:
        return 404, b"not found", ["Content-Type: text/plain"]
    body, content_type, etag = route
    extra = [f"Content-Type: {content_type}"]
    if etag:
        extra.append(f"ETag: {etag}")
        if headers.get("if-none-match") == etag:
            return 304, b"", [f"ETag: {etag}"]
    return 200, body, extra
