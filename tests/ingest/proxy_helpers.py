"""A real forward proxy on 127.0.0.1 for the fetch tests: plain GETs are forwarded, https is
tunnelled with CONNECT, and every request is recorded with its headers.

Like a corporate proxy, it resolves nothing the client asked for: every request goes to the
upstream it was given, whatever host the URL names (so tests can use names that do not
resolve on this machine and see that the client left resolving to the proxy).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "proxy-connection", "proxy-authorization", "keep-alive",
               "transfer-encoding", "te", "trailer", "upgrade"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-tunnel (failed TLS checks) are what some tests provoke


class ForwardProxy:
    """http_upstream / tls_upstream: (host, port) that GETs / CONNECT tunnels go to.
    auth: the Proxy-Authorization value required, or None for an open proxy."""

    def __init__(self, http_upstream: tuple[str, int] | None = None,
                 tls_upstream: tuple[str, int] | None = None, auth: str | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.http_upstream, self.tls_upstream, self.auth = http_upstream, tls_upstream, auth
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.httpd = _Server(("127.0.0.1", 0), _handler(self))
        self.port = self.httpd.server_address[1]
        self.scheme = "http" if tls is None else "https"  # tls: the proxy itself speaks TLS
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(proxy: ForwardProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _admitted(self) -> bool:
            headers = {k.lower(): v for k, v in self.headers.items()}
            proxy.requests.append((self.command, self.path, headers))
            if proxy.auth is None or headers.get("proxy-authorization") == proxy.auth:
                return True
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if not self._admitted():
                return
            assert proxy.http_upstream is not None, "no http upstream configured"
            parts = urlsplit(self.path)  # a proxy gets the absolute URL
            upstream = http.client.HTTPConnection(*proxy.http_upstream, timeout=5)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request("GET", parts.path or "/", headers=headers)
            reply = upstream.getresponse()
            body = reply.read()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            upstream.close()

        def do_CONNECT(self) -> None:  # noqa: N802
            if not self._admitted():
                return
            assert proxy.tls_upstream is not None, "no tls upstream configured"
            with socket.create_connection(proxy.tls_upstream, timeout=5) as upstream:
                self.send_response(200, "Connection established")
                self.end_headers()
                _pipe(self.connection, upstream)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes (the CONNECT tunnel)."""
    while True:
        ready, _, _ = select.select([a, b], [], [], 5)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)
