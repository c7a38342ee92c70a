"""A tiny local JSON webhook receiver: what the demo (and tests) point a json:// channel at."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


class WebhookReceiver:
    """Records every POSTed JSON body (in memory, and as JSON lines in `path` when given).

    Serve with `start()` (a background thread) or `serve_forever()`; `stop()` shuts it down.
    Port 0 picks a free port (see `.port`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: Path | None = None,
                 on_receive: Callable[[Any], None] | None = None) -> None:
        self.bodies: list[Any] = []
        self.path = path
        self._on_receive = on_receive
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "alerts") -> str:
        """The Apprise URL of this receiver."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def _record(self, raw: bytes) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.bodies.append(body)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(body, ensure_ascii=False) + "\n")
        log.info("webhook received: %s", body.get("title") if isinstance(body, dict) else body)
        if self._on_receive is not None:
            self._on_receive(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                receiver._record(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("receiver: " + format, *args)

        return Handler

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
