"""Option parsing shared by the worker commands (run_worker, run_outbox_consumer)."""

import argparse
import importlib
import logging
import os
import socket

from django.conf import settings

from workers.runtime import WorkerOptions

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {number}")
    return number


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}") from exc
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {number}")
    return number


def port(value: str) -> int:
    number = positive_int(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {number}")
    return number


def add_worker_arguments(parser) -> None:
    parser.add_argument("--once", action="store_true", help="run until nothing is claimable, then exit")
    parser.add_argument("--max-tasks", type=positive_int, help="exit after this many items")
    parser.add_argument("--poll-interval", type=positive_float, default=1.0, help="idle poll interval (s)")
    parser.add_argument("--worker-id", help="identity in leases and history (default host:pid)")
    parser.add_argument("--concurrency", type=positive_int, default=1, help="executor threads")
    parser.add_argument("--batch-size", type=positive_int, default=10, help="items claimed per claim")
    parser.add_argument("--health-port", type=port, help="serve /healthz, /readyz, /metrics on this port")
    parser.add_argument("--health-host", default="127.0.0.1")


def import_extra_modules() -> None:
    """Modules named in WORKER_EXTRA_TASK_MODULES register more task types and handlers."""
    for module in settings.WORKER_EXTRA_TASK_MODULES:
        importlib.import_module(module)


def worker_options(options: dict, *, prefix: str) -> WorkerOptions:
    import_extra_modules()
    level = VERBOSITY_LEVELS.get(options.get("verbosity", 1), logging.INFO)
    logging.getLogger().setLevel(level)
    return WorkerOptions(
        worker_id=options.get("worker_id") or f"{prefix}@{socket.gethostname()}:{os.getpid()}",
        concurrency=options["concurrency"],
        batch_size=options["batch_size"],
        poll_interval=options["poll_interval"],
        max_tasks=options.get("max_tasks"),
        once=options["once"],
        health_port=options.get("health_port"),
        health_host=options["health_host"],
    )
