"""A scripted HTTP feed server on 127.0.0.1 for the ingestion tests: routes, replies
(status, headers, body, delays, conditional requests) and what each request asked."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted HTTP reply. etag/last_modified turn on conditional GET (304)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (read-timeout tests)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = "application/rss+xml; charset=utf-8"
    send_length: bool = True  # False: no Content-Length, body ends when the connection closes


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up early (size cap, timeout) is what some tests provoke


class _QuietServer6(_QuietServer):
    address_family = socket.AF_INET6


class FeedServer:
    """Routes path -> Reply; counts hits and keeps request headers for assertions.
    host: the loopback address to listen on (127.0.0.1, or ::1 for IPv6)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Reply | Callable[[dict[str, str]], Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.bodies_sent: Counter[str] = Counter()  # full 200 bodies sent, per path
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = _QuietServer6 if ":" in host else _QuietServer
        self.httpd = server((host, 0), _make_handler(self))
        self.port = self.httpd.server_address[1]
        self.authority = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.authority}{path}"

    def set(self, path: str, reply: Reply | Callable[[dict[str, str]], Reply]) -> str:
        self.routes[path] = reply
        return self.url(path)

    def record(self, path: str, headers: dict[str, str]) -> Reply | None:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((path, headers))
        route = self.routes.get(path)
        return route(headers) if callable(route) else route

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Counts one request in flight (and the most at once) while it is answered."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def sent_body(self, path: str) -> None:
        with self._lock:
            self.bodies_sent[path] += 1


class _Handler(BaseHTTPRequestHandler):
    """Answers GETs from feed_server's routes; _make_handler binds it to one FeedServer."""

    protocol_version = "HTTP/1.1"
    feed_server: FeedServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.feed_server.record(path, headers)
        if reply is None:
            reply = Reply(status=404, body=b"not found", content_type="text/plain")
        with self.feed_server.answering():
            self._answer(reply, headers, path)

    def _answer(self, reply: Reply, headers: dict[str, str], path: str) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if _not_modified(reply, headers):
            self._send_not_modified(reply)
            return
        self._send_headers(reply)
        if reply.status == 200:
            self.feed_server.sent_body(path)
        try:
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (size cap): expected

    def _send_not_modified(self, reply: Reply) -> None:
        self.send_response(304)
        self.send_header("Content-Length", "0")
        self._validators(reply)
        self.end_headers()

    def _send_headers(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self._validators(reply)
        if reply.send_length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _validators(self, reply: Reply) -> None:
        if reply.etag:
            self.send_header("ETag", reply.etag)
        if reply.last_modified:
            self.send_header("Last-Modified", reply.last_modified)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output clean


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    """A handler class answering from this server's routes."""
    return type("Handler", (_Handler,), {"feed_server": server})


def _not_modified(reply: Reply, headers: dict[str, str]) -> bool:
    if reply.status != 200:
        return False
    if reply.etag and headers.get("if-none-match") == reply.etag:
        return True
    return bool(reply.last_modified and headers.get("if-modified-since") == reply.last_modified)


@contextmanager
def serving(server: FeedServer) -> Iterator[FeedServer]:
    """server answering on a background thread until the block ends."""
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
