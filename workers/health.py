"""A worker process's own /healthz, /readyz and /metrics (`--health-port`)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection

from config.metrics import render

logger = logging.getLogger(__name__)


def start_health_server(runtime, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/healthz":
                stalled = time.monotonic() - runtime.last_pass > max(60.0, runtime.options.poll_interval * 10)
                status = 503 if stalled or runtime.stopping.is_set() else 200
                body = {
                    "status": "ok" if status == 200 else "unavailable",
                    "worker_id": runtime.options.worker_id,
                    "processed": runtime.processed,
                    "in_flight": runtime.in_flight(),
                }
                self._send(status, json.dumps(body).encode())
            elif self.path == "/readyz":
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT 1")
                    failing = [name for name, check in runtime.ready_checks.items() if not check()]
                    if failing:
                        self._send(503, json.dumps({"status": "unavailable", "failing": failing[0]}).encode())
                    else:
                        self._send(200, b'{"status": "ok"}')
                except Exception as exc:
                    self._send(
                        503, json.dumps({"status": "unavailable", "failing": "database", "error": str(exc)}).encode()
                    )
                finally:
                    connection.close()
            elif self.path == "/metrics":
                try:
                    self._send(200, *render())
                finally:
                    connection.close()
            else:
                self._send(404, b'{"error": "not found", "code": "NOT_FOUND"}')

        def log_message(self, format, *args):
            logger.debug("health: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
