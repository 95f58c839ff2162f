"""The worker loop shared by `run_worker` and `run_outbox_consumer`.

Executor threads (each with its own database connection) claim batches in short transactions
and run items outside them. The main thread handles signals, renews leases, enforces the
per-item time limit, reclaims expired leases and runs the per-pass hook (cycle scheduling).
First SIGTERM/SIGINT: stop claiming, finish in-flight work within the grace period, release
anything unfinished, exit 0. Second signal: release and exit at once.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, close_old_connections, connection, connections
from django.db.models import Q
from django.utils import timezone

from config import logs
from workers import conf
from workers.metrics import QUEUE_ITEM_DURATION, QUEUE_ITEMS
from workers.queue import Claimed, Queue, TimeLimitExceeded, error_text

logger = logging.getLogger(__name__)

Runner = Callable[[Claimed], object]


class ReleaseItem(Exception):  # noqa: N818 - an instruction to the loop, not an error
    """Raised by a runner whose item was not tried after all: it goes back to the queue at once and
    the attempt is not counted (e.g. the relay did not send an event because an earlier one failed)."""


@dataclass
class WorkerOptions:
    worker_id: str
    concurrency: int = 1
    batch_size: int = 10
    poll_interval: float = 1.0
    max_tasks: int | None = None
    once: bool = False
    lease_seconds: float = field(default_factory=conf.lease_seconds)
    time_limit: float = field(default_factory=conf.task_time_limit_seconds)
    shutdown_grace: float = field(default_factory=conf.shutdown_grace_seconds)
    health_port: int | None = None
    health_host: str = "127.0.0.1"


@dataclass
class _Held:
    item: Claimed
    thread: threading.Thread | None = None
    started: float | None = None  # monotonic start of execution; None while waiting in a batch


class WorkerRuntime:
    def __init__(
        self,
        *,
        queue: Queue,
        options: WorkerOptions,
        resolve: Callable[[Claimed], Runner | None],
        scope: Callable[[], tuple[list[str] | None, Q | None]] = lambda: (None, None),
        gate: Callable[[], bool] = lambda: True,
        on_pass: Callable[[], object] | None = None,
        before_batch: Callable[[list[Claimed]], object] | None = None,
        ready_checks: dict[str, Callable[[], bool]] | None = None,
    ):
        self.queue = queue
        self.options = options
        self.resolve = resolve
        self.scope = scope
        self.gate = gate
        self.on_pass = on_pass
        # Starts every item of a claimed batch at once (the outbox relay publishes them together, then
        # each item's runner awaits its own outcome). Once it has run, the batch's items are finished,
        # never released unstarted at shutdown: they may already be out of this process.
        self.before_batch = before_batch
        # Extra /readyz checks of this process (name -> ok?), besides the database.
        self.ready_checks = dict(ready_checks or {})
        self.stopping = threading.Event()
        self._held: dict[int, _Held] = {}
        self._lock = threading.Lock()
        self._processed = 0
        self._signals = 0
        self._threads: list[threading.Thread] = []
        self._idle_threads = 0
        self.last_pass = time.monotonic()

    # --- public ----------------------------------------------------------------------------

    def run(self) -> int:
        self._install_signal_handlers()
        if self.options.health_port:
            from workers.health import start_health_server

            start_health_server(self, self.options.health_host, self.options.health_port)
        logger.info("worker %s starting on queue %s", self.options.worker_id, self.queue.name)
        for _ in range(max(1, self.options.concurrency)):
            self._start_executor()
        lease = self.options.lease_seconds
        next_renew = next_reap = time.monotonic()
        while True:
            alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                break
            now = time.monotonic()
            if self.stopping.is_set():
                self._drain(alive)
                break
            if now >= next_renew:
                self._renew()
                self._enforce_time_limit()
                next_renew = now + max(0.5, lease / 3)
            if now >= next_reap:
                self._db_call(lambda: self.queue.reclaim_expired(worker_id=self.options.worker_id), "reclaim")
                if self.on_pass is not None:
                    self._db_call(self.on_pass, "schedule")
                next_reap = now + max(1.0, lease / 2) * random.uniform(0.8, 1.2)
            self.stopping.wait(0.2)
        logger.info("worker %s stopped after %d items", self.options.worker_id, self._processed)
        return 0

    @property
    def processed(self) -> int:
        return self._processed

    def in_flight(self) -> int:
        with self._lock:
            return len(self._held)

    # --- executors -------------------------------------------------------------------------

    def _start_executor(self) -> None:
        thread = threading.Thread(target=self._executor_loop, name=f"executor-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _budget_left(self) -> int | None:
        if self.options.max_tasks is None:
            return None
        with self._lock:
            return self.options.max_tasks - self._processed - len(self._held)

    def _executor_loop(self) -> None:
        idle_sleep = self.options.poll_interval
        db_failures = 0
        try:
            while not self.stopping.is_set():
                self.last_pass = time.monotonic()
                close_old_connections()
                budget = self._budget_left()
                if budget is not None and budget <= 0:
                    if self.in_flight() == 0:
                        return
                    time.sleep(0.05)
                    continue
                try:
                    batch = self._claim(budget)
                    db_failures = 0
                except DatabaseError as exc:
                    db_failures += 1
                    delay = min(30.0, 0.5 * 2 ** min(db_failures, 6)) * random.uniform(0.5, 1.0)
                    logger.warning(
                        "worker %s: database error while claiming (%s); retry in %.1fs",
                        self.options.worker_id,
                        exc,
                        delay,
                    )
                    self._reset_connection()
                    self.stopping.wait(delay)
                    continue
                if not batch:
                    if self.options.once:
                        return
                    # Idle: back off (with jitter) up to 4x the poll interval.
                    self.stopping.wait(idle_sleep * random.uniform(0.5, 1.0))
                    idle_sleep = min(self.options.poll_interval * 4, idle_sleep * 1.5)
                    continue
                idle_sleep = self.options.poll_interval
                self._run_batch(batch)
        finally:
            connection.close()

    def _claim(self, budget: int | None) -> list[Claimed]:
        if not self.gate():
            return []
        types, extra = self.scope()
        limit = self.options.batch_size if budget is None else max(0, min(self.options.batch_size, budget))
        if limit <= 0:
            return []
        batch = self.queue.claim(
            worker_id=self.options.worker_id,
            limit=limit,
            types=types,
            extra=extra,
            lease_seconds=self.options.lease_seconds,
        )
        with self._lock:
            for item in batch:
                self._held[item.id] = _Held(item=item)
        return batch

    def _run_batch(self, batch: list[Claimed]) -> None:
        succeeded: list[Claimed] = []
        started_together = False
        if self.before_batch is not None:
            try:
                self.before_batch(batch)
                started_together = True
            except Exception:  # each item's runner then fails on its own (retried with backoff)
                logger.exception("worker %s: starting a batch of %d failed", self.options.worker_id, len(batch))
        try:
            for index, item in enumerate(batch):
                if self.stopping.is_set() and not started_together:
                    for waiting in batch[index:]:  # never started: back to the queue now
                        self._finish([waiting], partial(self.queue.release, waiting, worker_id=self.options.worker_id))
                    return
                if self._execute(item):
                    succeeded.append(item)
        finally:
            # Successes of a batch are recorded together: one transaction instead of one per item.
            if succeeded:
                done = self._finish(
                    succeeded, lambda: self.queue.complete_many(succeeded, worker_id=self.options.worker_id)
                )
                for item in succeeded:
                    outcome = "succeeded" if done is not None and item.id in done else "lost"
                    QUEUE_ITEMS.labels(self.queue.name, item.type, outcome).inc()

    def _execute(self, item: Claimed) -> bool:
        """Run one item; True when it succeeded (recorded later with its batch)."""
        with self._lock:
            held = self._held.get(item.id)
            if held is None:
                return False
            held.thread = threading.current_thread()
            held.started = time.monotonic()
        item.started_at = timezone.now()
        with self._log_context(item):
            return self._run_item(item)

    def _log_context(self, item: Claimed):
        """Log lines about the item (and items it enqueues) carry its ids and its request id."""
        label = self.queue.item_label
        ids: dict[str, str | int | None] = {f"{label}_id": item.id, f"{label}_type": item.type}
        return logs.bound(request_id=item.request_id, **ids)

    def _run_item(self, item: Claimed) -> bool:
        runner = self.resolve(item)
        started = time.monotonic()
        try:
            if runner is None:
                raise LookupError(f"no handler registered for {item.type!r}")
            runner(item)
        except ReleaseItem as exc:
            reason = str(exc)
            self._finish([item], lambda: self.queue.release(item, worker_id=self.options.worker_id, reason=reason))
            QUEUE_ITEMS.labels(self.queue.name, item.type, "released").inc()
            return False
        except Exception as exc:
            logger.exception(
                "worker %s: %s #%s failed (attempt %s/%s)",
                self.options.worker_id,
                item.type,
                item.id,
                item.attempts,
                item.max_attempts,
            )
            error = error_text(exc)
            outcome = self._finish([item], lambda: self.queue.fail(item, worker_id=self.options.worker_id, error=error))
            QUEUE_ITEMS.labels(self.queue.name, item.type, outcome or "unknown").inc()
            return False
        else:
            with self._lock:
                if item.id in self._held:
                    self._held[item.id].started = None  # finished: out of the time-limit watch
            logger.debug(
                "worker %s: %s #%s ran in %.1f ms",
                self.options.worker_id,
                item.type,
                item.id,
                (time.monotonic() - started) * 1000,
            )
            return True
        finally:
            QUEUE_ITEM_DURATION.labels(self.queue.name, item.type).observe(time.monotonic() - started)

    def _finish(self, items: list[Claimed], write: Callable[[], Any]) -> Any:
        """Write an outcome, retrying through database outages while the lease can still hold."""
        deadline = time.monotonic() + self.options.lease_seconds * 2
        failures = 0
        try:
            while True:
                try:
                    return write()
                except DatabaseError as exc:
                    failures += 1
                    if time.monotonic() > deadline:
                        logger.error(
                            "worker %s: gave up recording %d item(s) (%s); their leases will expire",
                            self.options.worker_id,
                            len(items),
                            exc,
                        )
                        return None
                    self._reset_connection()
                    time.sleep(min(10.0, 0.25 * 2 ** min(failures, 6)) * random.uniform(0.5, 1.0))
        finally:
            with self._lock:
                for item in items:
                    if self._held.pop(item.id, None) is not None:
                        self._processed += 1

    @staticmethod
    def _reset_connection() -> None:
        try:
            connection.close()
        except Exception:
            logger.debug("closing a broken connection failed", exc_info=True)

    # --- main-thread duties ----------------------------------------------------------------

    def _db_call(self, func: Callable[[], object], what: str) -> None:
        try:
            close_old_connections()
            func()
        except DatabaseError as exc:
            logger.warning("worker %s: database error during %s (%s)", self.options.worker_id, what, exc)
            self._reset_connection()

    def _renew(self) -> None:
        with self._lock:
            items = [held.item for held in self._held.values()]
        if items:
            self._db_call(lambda: self.queue.renew(items, lease_seconds=self.options.lease_seconds), "lease renewal")

    def _enforce_time_limit(self) -> None:
        now = time.monotonic()
        with self._lock:
            overdue = [
                h
                for h in self._held.values()
                if h.started is not None and now - h.started > (h.item.time_limit or self.options.time_limit)
            ]
        for held in overdue:
            item = held.item
            limit = item.time_limit or self.options.time_limit
            with self._log_context(item):
                logger.error(
                    "worker %s: %s #%s exceeded the %ss time limit", self.options.worker_id, item.type, item.id, limit
                )
            # The stuck thread is abandoned (Python cannot kill it); its late result is fenced off.
            error = error_text(TimeLimitExceeded(f"ran over {limit}s"))
            self._finish([item], partial(self.queue.fail, item, worker_id=self.options.worker_id, error=error))
            if held.thread is not None and held.thread in self._threads:
                self._threads.remove(held.thread)
                if not self.stopping.is_set():
                    self._start_executor()

    def _release_all(self) -> None:
        with self._lock:
            items = [held.item for held in self._held.values()]
        for item in items:
            self._finish([item], partial(self.queue.release, item, worker_id=self.options.worker_id))
        if items:
            logger.warning("worker %s: released %d unfinished items", self.options.worker_id, len(items))

    def _drain(self, threads: list[threading.Thread]) -> None:
        deadline = time.monotonic() + self.options.shutdown_grace
        logger.info("worker %s draining (grace %ss)", self.options.worker_id, self.options.shutdown_grace)
        next_renew = time.monotonic()
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline and self._signals < 2:
            if time.monotonic() >= next_renew:
                self._renew()
                next_renew = time.monotonic() + max(0.5, self.options.lease_seconds / 3)
            time.sleep(0.1)
        self._release_all()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handle(signum, frame):
            self._signals += 1
            if self._signals == 1:
                logger.info("worker %s: signal %s, finishing in-flight work", self.options.worker_id, signum)
                self.stopping.set()
                return
            logger.warning("worker %s: second signal, releasing and exiting now", self.options.worker_id)
            self._release_all()
            connections.close_all()
            os._exit(0)

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
