"""A TCP server on 127.0.0.1 that answers every connection with fixed raw bytes, then closes.

For answers no well-behaved HTTP server can produce: broken chunked encoding, a status line that
lies, headers without an end. `RawServer(b"HTTP/1.1 200 OK\\r\\n...")`, `.url(path)`, `.stop()`.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

HOST = "127.0.0.1"
# Enough for any request line and headers the fetcher sends.
REQUEST_BYTES = 65536
ACCEPT_POLL_S = 0.2


class RawServer:
    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.connections = 0
        self._sock = socket.create_server((HOST, 0))
        self._sock.settimeout(ACCEPT_POLL_S)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(REQUEST_BYTES)
                    conn.sendall(self.answer)
                except OSError:
                    continue

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
