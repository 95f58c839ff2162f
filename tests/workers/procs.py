"""Helpers to run real worker processes against the test database."""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, password = db.get("USER") or "root", db.get("PASSWORD") or ""
    return f"mysql://{user}:{password}@{host or db.get('HOST') or '127.0.0.1'}:{port or db.get('PORT') or 3306}/{db['NAME']}"


CATALOG_CADENCES = (
    "SNAPSHOT_SWEEP_CADENCE_SECONDS",
    "WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS",
    "WORKER_CURATION_CYCLE_CADENCE_SECONDS",
    "WORKER_REBUILD_CYCLE_CADENCE_SECONDS",
    "OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS",
)


def worker_env(**overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PACKYARD_ENV_FILE": "",
        "SECRET_KEY": "worker-subprocess-test-secret-key-0123456789-abcdefghijkl",
        "DATABASE_URL": database_url(),
        "WORKER_EXTRA_TASK_MODULES": "tests.workers.tasks_for_tests,tests.workers.tasks_api_for_tests",
        "WORKER_LEASE_SECONDS": "2",
        "WORKER_RETRY_BASE_SECONDS": "0.05",
        "WORKER_RETRY_CAP_SECONDS": "0.2",
        "WORKER_SHUTDOWN_GRACE_SECONDS": "5",
        "FEATURE_FLAG_CACHE_TTL_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        # These tests count their own tasks: the catalog's periodic cycles stay off.
        **{name: "0" for name in CATALOG_CADENCES},
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def start(command: str, *args: str, log_dir: Path, name: str, env: dict | None = None) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "manage.py", command, *args, "--worker-id", name],
        cwd=ROOT,
        env=env or worker_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def free_port() -> int:
    """A loopback port the OS just handed out (for servers that cannot report the one they bound)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float, interval: float = 0.2, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def stop(procs, sig=signal.SIGTERM, timeout: float = 30) -> list[int]:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    return codes


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(log_dir.glob("*.log")))


class TcpProxy:
    """A loopback TCP proxy that can be cut (connections dropped, new ones refused) and restored:
    a database outage as the workers see it, without stopping the shared server."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.port = self._listen(0)

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener.getsockname()[1]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave the port
            # listening (and accepting) until that accept returned.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def restore(self) -> None:
        self._listen(self.port)

    def close(self) -> None:
        self.cut()
