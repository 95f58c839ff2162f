"""Real gunicorn (config/gunicorn.py, 2 workers) and a real Prometheus on loopback.

- N requests spread over both workers show as N in one scrape of either;
- the web's JSON log lines carry the request id and no personal data;
- Prometheus scrapes the web with the bearer token, evaluates the alert rules of
  deploy/prometheus/, and `rollout_gates --prometheus-url` reads the runbook's PromQL gates from
  it: all pass on a quiet system, and the dead-letter gate fails once a dead letter is added.
"""

import io
import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import call_command
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from outbox.models import DomainEventDeadLetter
from tests.workers import procs

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-metrics-token-0123456789abcdef"


class _Server:
    """A server subprocess that logs to `self.log`; started once `ready()` holds."""

    name = "server"
    log: Path
    proc: subprocess.Popen | None = None

    def ready(self) -> bool:
        raise NotImplementedError

    def spawn(self, command: list[str], **popen) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)

        def started():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                return self.ready()
            except OSError:
                return False

        procs.wait_for(started, timeout=90, interval=0.5, message=f"{self.name} to be ready")


class Gunicorn(_Server):
    name = "gunicorn"

    def __init__(self, tmp_path: Path, **env):
        self.port = procs.free_port()
        self.metrics_dir = tmp_path / "prometheus-multiproc"
        self.log = tmp_path / "gunicorn.log"
        self.env = procs.worker_env(
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            GUNICORN_WORKERS=2,
            GUNICORN_THREADS=1,  # sync workers: one request at a time each, so load spreads
            GUNICORN_GRACEFUL_TIMEOUT=5,
            PROMETHEUS_MULTIPROC_DIR=self.metrics_dir,
            SECURE_SSL_REDIRECT="false",
            ALLOWED_HOSTS="127.0.0.1",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            METRICS_DB_CACHE_SECONDS=0,
            **env,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, **headers) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def ready(self) -> bool:
        return self.get("/healthz")[0] == 200

    def __enter__(self):
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.spawn([gunicorn, "-c", "config/gunicorn.py", "config.wsgi"], cwd=ROOT, env=self.env)
        return self

    def __exit__(self, *exc):
        assert procs.stop([self.proc], sig=signal.SIGTERM, timeout=30) == [0], self.log.read_text()[-3000:]


def scrape_sum(server: Gunicorn, name: str, **labels) -> float:
    status, body = server.get("/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200, body
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def healthz_counts_by_pid(metrics_dir: Path) -> dict[int, float]:
    """Per gunicorn worker, the healthz count in its own metric file."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        counts[pid] = sum(
            value
            for key, value, _ in MmapedDict(str(path), read_mode=True).read_all_values()
            if '"packyard_http_requests_total"' in key and '"healthz"' in key
        )
    return counts


def test_n_requests_over_two_workers_show_as_n_in_one_scrape_and_logs_are_json(tmp_path):
    # Counts of a previous run are wiped when the server starts.
    (tmp_path / "prometheus-multiproc").mkdir()
    stale = tmp_path / "prometheus-multiproc" / "counter_4194304.db"
    shutil.copy(Path(__file__), stale)
    with Gunicorn(tmp_path, METRICS_BEARER_TOKEN=TOKEN, GUNICORN_ACCESS_LOG="-") as server:
        assert not stale.exists()
        sent = 0

        def hit(_):
            return server.get("/healthz")[0] == 200

        # Until both workers have served some (they share the listening socket), in batches of
        # concurrent requests; the readiness probe's own requests are counted as well.
        with ThreadPoolExecutor(max_workers=6) as pool:

            def spread():
                nonlocal sent
                sent += sum(pool.map(hit, range(30)))
                counts = healthz_counts_by_pid(server.metrics_dir)
                return len([pid for pid, count in counts.items() if count > 0]) >= 2

            procs.wait_for(spread, timeout=90, interval=0.1, message="requests on both gunicorn workers")
        served = sum(healthz_counts_by_pid(server.metrics_dir).values())
        assert served >= sent  # plus the readiness probes
        for _ in range(4):  # whichever worker answers the scrape reports the sum over both
            assert scrape_sum(server, "packyard_http_requests_total", route_group="healthz") == served

        # Log lines of requests carry the request id; nothing personal is logged.
        secret_key, password = "viewer-key-0123456789-secret", "not-the-password-987"
        assert (
            server.get("/api/no-such-thing", **{"X-Request-Id": "e2e-trace-404", "X-Viewer-Key": secret_key})[0] == 404
        )
        request = urllib.request.Request(
            server.url("/api/auth/token"),
            data=json.dumps({"username": "someone@example.com", "password": password}).encode(),
            headers={"Content-Type": "application/json", "X-Request-Id": "e2e-trace-login"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code in (400, 401)
    text = server.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all({"timestamp", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    by_id: dict[str, list[dict]] = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    loggers = {line["logger"]: line["message"] for line in by_id["e2e-trace-404"]}
    assert "/api/no-such-thing" in loggers["django.request"]  # logged after the middleware chain
    assert "/api/no-such-thing 404" in loggers["gunicorn.access"]
    assert {line["logger"] for line in by_id["e2e-trace-login"]} >= {"django.request", "gunicorn.access"}
    for needle in (secret_key, password, "someone@example.com", TOKEN):
        assert needle not in text
    assert not any("127.0.0.1" in json.dumps(line) for line in lines if line["request_id"])


class Prometheus(_Server):
    name = "prometheus"

    def __init__(self, tmp_path: Path, target_port: int):
        self.port = procs.free_port()
        self.dir = tmp_path / "prometheus"
        self.dir.mkdir()
        token = self.dir / "token"
        token.write_text(TOKEN)
        rules = self.dir / "packyard-rules.yml"
        shutil.copy(ROOT / "deploy" / "prometheus" / "packyard-rules.yml", rules)
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {rules}\n"
            "scrape_configs:\n  - job_name: packyard-web\n    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials_file: {token}\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        )
        self.log = self.dir / "prometheus.log"

    def query(self, promql: str) -> list:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)["data"]["result"]

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def __enter__(self):
        prometheus = shutil.which("prometheus")
        assert prometheus, "Debian's prometheus package is missing: bin/system-deps test installs it"
        self.spawn(
            [
                prometheus,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ]
        )
        return self

    def ready(self) -> bool:
        return self.value('up{job="packyard-web"}') == 1  # up and scraping gunicorn

    def __exit__(self, *exc):
        procs.stop([self.proc], sig=signal.SIGTERM, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def rollout_gates(prometheus: Prometheus) -> tuple[int, dict]:
    out = io.StringIO()
    code = 0
    try:
        call_command("rollout_gates", "--prometheus-url", prometheus.url, "--json", stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, {f"{row['gate']}:{row['source']}": row for row in json.loads(out.getvalue())["gates"]}


def test_prometheus_scrapes_gunicorn_and_the_runbook_gates_are_read_from_it(tmp_path, settings):
    settings.HTTP_SLO_TARGET_MS = 10_000  # this is about the wiring, not about speed on a loaded machine
    # The address list admits nobody: Prometheus gets in with the bearer token only.
    with Gunicorn(tmp_path, METRICS_BEARER_TOKEN=TOKEN, METRICS_ALLOWED_IPS="192.0.2.1") as server:
        assert server.get("/metrics")[0] == 403
        with Prometheus(tmp_path, server.port) as prometheus:
            with pytest.raises(SystemExit) as loadtest:
                call_command(
                    "loadtest",
                    "--base-url",
                    server.url(""),
                    "--duration-seconds",
                    "2",
                    "--concurrency",
                    "4",
                    "--paths",
                    "/healthz,/api/sticker-packs",
                    "--slo-ms",
                    "10000",
                    "--out",
                    str(tmp_path / "loadtest.json"),
                    verbosity=0,
                )
            assert loadtest.value.code == 0, (tmp_path / "loadtest.json").read_text()[:2000]
            sent = json.loads((tmp_path / "loadtest.json").read_text())["requests_total"]

            # Prometheus has the traffic (its count includes the readiness probes).
            procs.wait_for(
                lambda: (
                    (prometheus.value('sum(packyard_http_requests_total{route_group="healthz"})') or 0)
                    + (prometheus.value('sum(packyard_http_requests_total{route_group="api-packs"})') or 0)
                    >= sent
                ),
                timeout=60,
                interval=0.5,
                message="the load test's requests in Prometheus",
            )

            def gates_have_values():
                code, rows = rollout_gates(prometheus)
                return all(row["value"] is not None for key, row in rows.items() if key.endswith(":prometheus"))

            procs.wait_for(gates_have_values, timeout=60, interval=1, message="every PromQL gate to have a value")
            code, rows = rollout_gates(prometheus)
            assert code == 0, rows
            assert {key.split(":")[0] for key in rows if key.endswith(":prometheus")} == {
                "http_p95_ms",
                "http_error_rate",
                "queue_pending",
                "queue_oldest_pending_seconds",
                "dead_letter_growth",
                "snapshot_stalest_seconds",
            }
            assert 0 < rows["http_p95_ms:prometheus"]["value"] <= 10_000
            assert rows["http_error_rate:prometheus"]["value"] == 0
            assert rows["dead_letter_growth:prometheus"]["value"] == 0

            # A permanent failure: the gates fail (database and Prometheus) and the alert fires.
            DomainEventDeadLetter.objects.create(original_id=1, idempotency_key="e2e-dead", event_type="PACK_UPDATED")
            procs.wait_for(
                lambda: prometheus.value('max(packyard_queue_dead_letters{queue="outbox"})') == 1,
                timeout=60,
                interval=0.5,
                message="the dead letter in Prometheus",
            )
            code, rows = rollout_gates(prometheus)
            assert code == 1
            assert rows["dead_letter_growth:prometheus"]["status"] == "FAIL"
            assert rows["dead_letter_growth:prometheus"]["value"] == 1
            assert rows["dead_letter_growth:database"]["status"] == "FAIL"

            def alert_firing():
                result = prometheus.query('ALERTS{alertname="PackyardDeadLettersGrowing",alertstate="firing"}')
                return any(entry["metric"].get("queue") == "outbox" for entry in result)

            procs.wait_for(alert_firing, timeout=60, interval=0.5, message="PackyardDeadLettersGrowing firing")
