"""Liveness and readiness probes (SPEC §3 Operations), answered at the front of the stack
(config.front).

/healthz says the process answers, nothing more. /readyz runs its checks (migrations applied,
cache, storage, object storage when configured) at most once per PROBE_CACHE_SECONDS per process:
one request runs them while the others answer the last result, so a probe storm costs one check
per period and never waits on it (only the very first requests of a process wait for a result).
"""

import json
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse


def liveness() -> tuple[dict, int]:
    """The process answers: nothing else is checked."""
    return {"status": "ok"}, 200


def probe_content(state) -> tuple[bytes, int]:
    """A probe's JSON body and status from its state function (liveness, readiness)."""
    body, status = state()
    return json.dumps(body, cls=DjangoJSONEncoder).encode(), status


def probe_response(state) -> HttpResponse:
    content, status = probe_content(state)
    return HttpResponse(content, status=status, content_type="application/json")


def healthz(request):
    return probe_response(liveness)


def _check_database() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migrations not applied")


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_storage() -> None:
    storage = storages["default"]
    name = storage.save(f"readyz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    storage.delete(name)


def _check_object_storage() -> None:
    """HEAD the bucket (short timeouts); the result also refreshes the store's health state."""
    from catalog.services import objectstore

    state = objectstore.probe()
    if not state["up"]:
        raise RuntimeError(state["error"])


CHECKS = {"database": _check_database, "cache": _check_cache, "storage": _check_storage}


def checks() -> dict:
    """The readiness checks that apply: object storage only when STORAGES["objects"] is set."""
    from catalog.services import objectstore

    if objectstore.configured():
        return {**CHECKS, "object_storage": _check_object_storage}
    return CHECKS


_ready_lock = threading.Lock()
_last_ready: tuple[float, dict, int] | None = None  # (monotonic time of the check, body, status)


def readiness() -> tuple[dict, int]:
    """The body and status of the last check when younger than PROBE_CACHE_SECONDS, else a new one."""
    global _last_ready
    seconds = settings.PROBE_CACHE_SECONDS
    last = _last_ready
    if last is not None and time.monotonic() - last[0] < seconds:
        return last[1], last[2]
    # One check at a time; the others answer the last result, or wait for one when there is none.
    if last is None:
        _ready_lock.acquire()
    elif not _ready_lock.acquire(blocking=False):
        return last[1], last[2]
    try:
        last = _last_ready
        if last is None or time.monotonic() - last[0] >= seconds:
            last = _last_ready = (time.monotonic(), *run_checks())
    finally:
        _ready_lock.release()
    return last[1], last[2]


def forget_readiness() -> None:
    """Drop the last result (tests; the next probe checks again)."""
    global _last_ready
    _last_ready = None


def readyz(request):
    return probe_response(readiness)


def run_checks() -> tuple[dict, int]:
    results = {}
    failing = None
    for name, check in checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure makes the process not ready
            results[name] = f"error: {exc.__class__.__name__}: {exc}"
            failing = failing or name
    status = 503 if failing else 200
    return {"status": "ok" if not failing else "unavailable", "failing": failing, "checks": results}, status
