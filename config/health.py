"""Liveness and readiness probes (SPEC §3 Operations)."""

import uuid

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


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


def readyz(request):
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
    return JsonResponse(
        {"status": "ok" if not failing else "unavailable", "failing": failing, "checks": results}, status=status
    )
