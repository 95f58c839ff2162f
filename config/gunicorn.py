"""gunicorn settings of the web processes: `gunicorn -c config/gunicorn.py config.wsgi`.

Every value is an environment variable (GUNICORN_*, listed in .env.example). Workers x threads
were chosen by measurement (bench/ceiling.py at c=200 on 2 shared cores, wrk, Redis cache,
one pass per setting, the machine loaded by other jobs): one gthread worker per core with 4
threads served the most cached details (1,132 rps at 2 x 4, 731 at 2 x 8, 464 at 4 x 4, 95 at
6 x 2) and uncached details (114 / 71 / 65 / 13 rps); the asyncio client preferred 4 x 4 for
uncached details (127 against 69 rps), so the margin there is within the noise. More processes
than cores add context switches; more threads queue on the GIL. docs/benchmarks.md has the runs.

Metrics: prometheus_client's multiprocess mode. PROMETHEUS_MULTIPROC_DIR (default: a directory
of its own per bind address under the temp dir) is wiped when the server starts, every worker
writes its counters and histograms there, a scrape of any worker returns the sum over all of
them, and a worker that exits is marked dead (its live gauges dropped; its counters kept, so
sums never go backwards). Set it only for the web processes: worker processes (run_worker,
run_outbox_consumer) serve their own /metrics on --health-port.

Logs: the same LOGGING as Django (config/settings.py; JSON unless LOG_FORMAT=console), so
gunicorn's own lines and the optional access log are JSON too. The access log format has no
client address.
"""

import os
import re
import tempfile
from pathlib import Path

from config.settings import LOGGING


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"
# One worker per core (at least 2, so a worker restart never leaves the port unserved), 4 threads.
workers = _int("GUNICORN_WORKERS", max(2, os.cpu_count() or 1))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
# A worker silent for this long is killed and replaced; requests longer than this are cut.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM/SIGHUP workers finish their in-flight requests for up to this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # heartbeat files off the disk

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = "%(m)s %(U)s %(s)s %(B)sB %(M)sms request_id=%({x-request-id}o)s"
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
logconfig_dict = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        # With a logging config gunicorn always logs access: GUNICORN_ACCESS_LOG unset keeps it quiet.
        "gunicorn.access": {
            "handlers": ["stderr"] if accesslog else [],
            "level": "INFO" if accesslog else "CRITICAL",
            "propagate": False,
        },
    },
}

_default_dir = Path(tempfile.gettempdir()) / f"packyard-prometheus-{re.sub(r'[^A-Za-z0-9]+', '-', bind)}"
# Set before any worker imports prometheus_client, which reads it at import.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(_default_dir)


def on_starting(server):
    """Wipe the metric files of a previous run: counters restart from zero with the server."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    server.log.info("prometheus multiprocess directory %s ready", directory)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
