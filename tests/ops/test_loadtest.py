"""`manage.py loadtest` against real servers on loopback: report keys and exit codes 0/1/2."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from ops.loadtest import split_paths

REPORT_KEYS = {
    "requests_total",
    "requests_success",
    "requests_error",
    "error_rate",
    "throughput_rps",
    "latency_ms",
    "by_status",
    "slo",
    "sample_errors",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's naming
        time.sleep(self.delay)
        body = b'{"ok": true}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def stub_server():
    """A loopback HTTP server whose latency and status the test sets."""
    servers = []

    def start(*, delay: float = 0.0, status: int = 200) -> str:
        handler = type("Handler", (_Handler,), {"delay": delay, "status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def loadtest(tmp_path, base_url: str, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as exited:
        call_command(
            "loadtest",
            "--base-url",
            base_url,
            "--duration-seconds",
            "1.5",
            "--concurrency",
            "4",
            "--timeout-ms",
            "10000",
            "--out",
            str(out),
            *extra,
            verbosity=0,
        )
    return exited.value.code, json.loads(out.read_text())


def test_a_passing_run_against_the_real_app_exits_0_with_the_spec_report(live_server, tmp_path):
    html = tmp_path / "report.html"
    code, report = loadtest(tmp_path, live_server.url, "--slo-ms", "60000", "--paths", "/healthz", "--html", str(html))
    assert code == 0, report
    assert REPORT_KEYS <= set(report)
    assert report["requests_total"] > 0 and report["requests_error"] == 0 and report["error_rate"] == 0
    assert report["requests_success"] == report["requests_total"] == report["by_status"]["200"]
    assert set(report["latency_ms"]) == {"p50", "p90", "p95", "p99", "max"}
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["max"]
    assert report["slo"] == {"target_ms": 60000, "p95_within_target": True}
    assert report["throughput_rps"] > 0 and report["sample_errors"] == []
    page = html.read_text()
    # Self-contained: charts are inline SVG, nothing is fetched from anywhere.
    assert page.count("<svg") == 3 and "PASSED" in page
    assert "<script" not in page and "<link" not in page and "src=" not in page


def test_a_slow_server_fails_the_slo_and_exits_1(stub_server, tmp_path):
    code, report = loadtest(tmp_path, stub_server(delay=0.05), "--slo-ms", "10", "--paths", "/slow")
    assert code == 1
    assert report["latency_ms"]["p95"] >= 50 and report["slo"]["p95_within_target"] is False
    assert report["error_rate"] == 0


def test_errors_over_2_percent_exit_1_and_are_sampled(stub_server, tmp_path):
    code, report = loadtest(tmp_path, stub_server(status=503), "--slo-ms", "60000", "--paths", "/a,/b?x=1,2")
    assert code == 1
    assert report["by_status"] == {"503": report["requests_total"]} and report["error_rate"] == 1.0
    assert report["sample_errors"] and {e["path"] for e in report["sample_errors"]} <= {"/a", "/b?x=1,2"}
    assert all(e["status"] == 503 for e in report["sample_errors"])


def test_an_unreachable_url_exits_2(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, report = loadtest(tmp_path, f"http://127.0.0.1:{port}", "--paths", "/healthz")
    assert code == 2
    assert report["connections_opened"] == 0 and report["requests_success"] == 0
    assert report["sample_errors"] and "Connect" in json.dumps(report["sample_errors"])


def test_paths_split_on_commas_before_a_slash_only():
    assert split_paths("/a, /b?categories=x,y,/c") == ["/a", "/b?categories=x,y", "/c"]
