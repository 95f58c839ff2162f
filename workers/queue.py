"""The one queue mechanism (SPEC §5): enqueue, claim, lease, complete, retry, dead-letter.

Both the task queue (WorkerTask) and the outbox (DomainEvent) are `Queue` instances over their
own tables. Claims run in a short transaction that commits before any work starts:
`SELECT ... FOR UPDATE SKIP LOCKED` where the database has it (MariaDB/MySQL/PostgreSQL); on
SQLite the claim transaction is IMMEDIATE, so claims are serialised by the database lock.
Every later write is fenced by the claim's worker token: a worker whose lease was taken over
cannot complete, fail or release the new owner's work.
"""

from __future__ import annotations

import logging
import random
import traceback
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.logs import current_request_id
from workers import conf
from workers.models import QueueStatus, TaskRun

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 4000
DEAD_LETTER_ERRORS_KEPT = 5
BULK_BATCH_SIZE = 1000


class LeaseExpired(Exception):
    """Recorded as the error of an attempt whose worker died (its lease ran out)."""


class TimeLimitExceeded(Exception):
    """Recorded as the error of an attempt that ran over its time limit."""


def exception_path(exc_type: type[BaseException]) -> str:
    """`module.QualName`, or just `QualName` for builtins (as Python prints it)."""
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def error_text(exc: BaseException, *, with_traceback: bool = True) -> str:
    """How an attempt's error is recorded: `<exception path>: <message>` on the first line, then
    the traceback. Over ERROR_MAX_CHARS the middle of the traceback goes (its end names the
    failing line)."""
    head = f"{exception_path(type(exc))}: {exc}"
    if not with_traceback or exc.__traceback__ is None:
        return head[:ERROR_MAX_CHARS]
    tb = "".join(traceback.format_exception(exc))
    room = ERROR_MAX_CHARS - len(head) - 2
    if room < 200:
        return head[:ERROR_MAX_CHARS]
    if len(tb) > room:
        tb = "...\n" + tb[-(room - 4) :]
    return f"{head}\n\n{tb}"


def split_error_text(text: str) -> tuple[str, str]:
    """(exception class path, traceback or message) of a recorded error (see error_text)."""
    head, _, rest = text.partition("\n\n")
    name = head.split(": ", 1)[0].strip() if ": " in head else ""
    if not name or " " in name:
        name = f"{Exception.__module__}.{Exception.__qualname__}"
    elif "." not in name:
        name = f"builtins.{name}"
    return name, rest or text


def backoff_seconds(attempt: int, *, base: float | None = None, cap: float | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    base = conf.retry_base_seconds() if base is None else base
    cap = conf.retry_cap_seconds() if cap is None else cap
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(0, ceiling)


@dataclass
class Claimed:
    """A claimed item, as the worker sees it."""

    id: int
    type: str
    payload: dict
    attempts: int
    max_attempts: int
    token: str
    request_id: str = ""
    started_at: datetime = field(default_factory=timezone.now)
    row: Any = None  # the claimed row (a QueueItem subclass) as read at claim time
    # Per-item policy a runner may set before it runs the item (None: the queue's defaults).
    retry_base_seconds: float | None = None
    retry_cap_seconds: float | None = None
    time_limit: float | None = None
    # What the run returned, stored on completion where the queue keeps results (JSON).
    result: object = None


@dataclass(frozen=True)
class Queue:
    name: str
    # Concrete subclasses of the abstract QueueItem and DeadLetter (typed Any: the type checker
    # sees no manager or primary key on an abstract model).
    model: type[Any]
    dead_letter_model: type[Any]
    type_field: str
    # Fields copied from an item to its dead letter (and back on requeue).
    carried_fields: tuple[str, ...] = ()
    # The JSON field where complete_many() stores Claimed.result (None: results are not kept).
    result_field: str | None = None
    # What an item is called in log lines: "<label>_id" and "<label>_type" (e.g. task_id).
    item_label: str = "item"

    # --- enqueue ---------------------------------------------------------------------------

    def enqueue(self, *, idempotency_key: str, payload: dict | None = None, **fields) -> tuple[Any, bool]:
        """Create an item, or return the existing one holding this key (created=False).

        Keys must name one change or one time bucket: a second enqueue of a live key creates
        no work. Pruning completed rows frees their keys. Without a request id of its own the item
        takes the one bound to this context (the web request, or the event or task being worked
        on), so what a request caused can be traced through every queue it passes.
        """
        fields["request_id"] = (fields.get("request_id") or current_request_id())[:64]
        # Insert first (the common case is a new key); the unique key settles races. Inside the
        # caller's transaction a savepoint keeps a duplicate key from spoiling it; in autocommit
        # the INSERT is its own transaction, and wrapping it in atomic() would cost three more
        # round trips (autocommit off, COMMIT, autocommit on): most of an enqueue's time.
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    item = self.model.objects.create(idempotency_key=idempotency_key, payload=payload or {}, **fields)
            else:
                item = self.model.objects.create(idempotency_key=idempotency_key, payload=payload or {}, **fields)
        except IntegrityError:
            existing = self.model.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise  # the conflict was another constraint, not the key
            return existing, False
        return item, True

    def enqueue_many(self, items: Iterable[dict], **common) -> list[tuple[int, bool]]:
        """Create many items in one transaction: (id, created) per item, in order.

        Each item is a dict of its own fields (the same names in every item, `idempotency_key`
        among them); `common` holds the fields all items share. A key that is live already (or
        repeated in `items`) creates nothing and yields the existing id with created=False.
        Concurrent producers of one key cannot make a duplicate (conflicting keys are skipped);
        under that race both report the item as created. Like enqueue(), items without a request
        id take the one bound to this context.
        """
        items = list(items)
        if items and "request_id" not in items[0]:
            common = {**common, "request_id": (common.get("request_id") or current_request_id())[:64]}
        keys = [item["idempotency_key"] for item in items]
        with transaction.atomic():
            ids = self._ids_by_key(keys)
            fresh: dict[str, dict] = {}
            for item in items:
                key = item["idempotency_key"]
                if key not in ids and key not in fresh:
                    fresh[key] = item
            if fresh:
                self._insert_ignoring_conflicts(list(fresh.values()), common)
                ids.update(self._ids_by_key(list(fresh)))
        seen: set[str] = set()
        out = []
        for key in keys:
            out.append((ids[key], key in fresh and key not in seen))
            seen.add(key)
        return out

    def _insert_ignoring_conflicts(self, items: list[dict], common: dict) -> None:
        """Multi-row INSERTs that skip rows whose unique key exists.

        bulk_create() prepares every field of every row (most of the time of a bulk enqueue);
        the fields all rows share are prepared once here and only the per-item ones per row.
        """
        from django.db.models.constants import OnConflict

        now = timezone.now()
        meta = self.model._meta
        own = list(items[0])
        shared = {"created_at": now, "updated_at": now, **common}
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        per_item = [f for f in fields if f.name in own]
        constant = []
        for f in fields:
            if f.name not in own:
                value = shared[f.name] if f.name in shared else f.get_default()
                constant.append(f.get_db_prep_save(value, connection))
        ops, qn = connection.ops, connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in [*per_item, *(f for f in fields if f.name not in own)])
        placeholders = ", ".join(["%s"] * len(fields))
        sql = (
            f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {qn(meta.db_table)} ({columns}) "
            f"VALUES ({placeholders}){ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)}"
        )
        with connection.cursor() as cursor:
            for start in range(0, len(items), BULK_BATCH_SIZE):
                cursor.executemany(
                    sql,
                    [
                        [*(f.get_db_prep_save(item[f.name], connection) for f in per_item), *constant]
                        for item in items[start : start + BULK_BATCH_SIZE]
                    ],
                )

    def _ids_by_key(self, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), BULK_BATCH_SIZE):
            chunk = keys[start : start + BULK_BATCH_SIZE]
            found.update(self.model.objects.filter(idempotency_key__in=chunk).values_list("idempotency_key", "id"))
        return found

    # --- claim -----------------------------------------------------------------------------

    def claim(
        self,
        *,
        worker_id: str,
        limit: int = 1,
        types: Collection[str] | None = None,
        extra: Q | None = None,
        lease_seconds: float | None = None,
    ) -> list[Claimed]:
        now = timezone.now()
        lease = timedelta(seconds=lease_seconds or conf.lease_seconds())
        token = f"{worker_id[:40]}:{uuid.uuid4().hex}"
        filters = Q(status=QueueStatus.PENDING, available_at__lte=now)
        if types is not None:
            if not types:
                return []
            filters &= Q(**{f"{self.type_field}__in": list(types)})
        if extra is not None:
            filters &= extra
        with transaction.atomic():
            candidates = self.model.objects.filter(filters).order_by("-priority", "available_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            ids = list(candidates.values_list("id", flat=True)[:limit])
            if not ids:
                return []
            ids = self.claim_more(ids, limit=limit, now=now)
            self.model.objects.filter(id__in=ids, status=QueueStatus.PENDING).update(
                status=QueueStatus.PROCESSING,
                worker_token=token,
                attempts=F("attempts") + 1,
                lease_expires_at=now + lease,
                updated_at=now,
            )
            rows = {row.id: row for row in self.model.objects.filter(id__in=ids, worker_token=token)}
        return [
            Claimed(
                id=row.id,
                type=getattr(row, self.type_field),
                payload=row.payload or {},
                attempts=row.attempts,
                max_attempts=row.max_attempts,
                token=token,
                request_id=row.request_id,
                started_at=now,
                row=row,
            )
            for row in (rows[i] for i in ids if i in rows)
        ]

    def claim_more(self, ids: list[int], *, limit: int, now: datetime) -> list[int]:
        """Hook: ids to claim in the same transaction besides `ids` (already row-locked here), at most
        `limit` in all. A queue with its own claim rules locks what it adds; by default nothing."""
        return ids

    def _fenced(self, item: Claimed):
        return self.model.objects.filter(id=item.id, worker_token=item.token, status=QueueStatus.PROCESSING)

    def renew(self, items: Collection[Claimed], *, lease_seconds: float | None = None) -> int:
        """Extend the leases of items still held; returns how many were still ours."""
        if not items:
            return 0
        expires = timezone.now() + timedelta(seconds=lease_seconds or conf.lease_seconds())
        renewed = 0
        for token in {item.token for item in items}:
            ids = [item.id for item in items if item.token == token]
            renewed += self.model.objects.filter(id__in=ids, worker_token=token, status=QueueStatus.PROCESSING).update(
                lease_expires_at=expires
            )
        return renewed

    # --- outcomes --------------------------------------------------------------------------

    def _run_row(self, item: Claimed, *, worker_id: str, outcome: str, error: str = "", finished=None) -> TaskRun:
        finished = finished or timezone.now()
        return TaskRun(
            queue=self.name,
            item_id=item.id,
            task_type=item.type,
            attempt=item.attempts,
            worker_id=worker_id[:128],
            started_at=item.started_at,
            finished_at=finished,
            duration_ms=max(0, int((finished - item.started_at).total_seconds() * 1000)),
            outcome=outcome,
            error=error[:ERROR_MAX_CHARS],
        )

    def _record_run(self, item: Claimed, *, worker_id: str, outcome: str, error: str = "") -> None:
        self._run_row(item, worker_id=worker_id, outcome=outcome, error=error).save()

    def complete(self, item: Claimed, *, worker_id: str) -> bool:
        """Mark done; False when the lease was lost (someone else owns the item now)."""
        return item.id in self.complete_many([item], worker_id=worker_id)

    def complete_many(self, items: list[Claimed], *, worker_id: str) -> set[int]:
        """Mark items done in one transaction (one UPDATE, one bulk history insert).

        Returns the ids that were still ours; the others had lost their lease and are left to
        their new owner (their runs are recorded as lost_lease).
        """
        if not items:
            return set()
        now = timezone.now()
        with transaction.atomic():
            held = set()
            for token in {item.token for item in items}:
                ids = [item.id for item in items if item.token == token]
                fenced = self.model.objects.filter(id__in=ids, worker_token=token, status=QueueStatus.PROCESSING)
                mine = list(fenced.select_for_update().values_list("id", flat=True))
                if mine:
                    self.model.objects.filter(id__in=mine).update(
                        status=QueueStatus.COMPLETED,
                        processed_at=now,
                        lease_expires_at=None,
                        last_error="",
                        updated_at=now,
                    )
                held.update(mine)
            if self.result_field:
                for item in items:
                    if item.id in held and item.result is not None:
                        self.model.objects.filter(id=item.id).update(**{self.result_field: item.result})
            TaskRun.objects.bulk_create(
                [
                    self._run_row(
                        item,
                        worker_id=worker_id,
                        finished=now,
                        outcome=TaskRun.Outcome.SUCCEEDED if item.id in held else TaskRun.Outcome.LOST_LEASE,
                    )
                    for item in items
                ]
            )
        return held

    def fail(self, item: Claimed, *, worker_id: str, error: str, record_lost: bool = True) -> str:
        """Record a failed attempt: schedule a retry, or dead-letter after max_attempts.

        Returns "retry", "dead" or "lost" (the lease had been taken over; nothing changed).
        """
        error = error[:ERROR_MAX_CHARS]
        now = timezone.now()
        with transaction.atomic():
            if item.attempts >= item.max_attempts:
                row = self._fenced(item).select_for_update().first()
                if row is None:
                    if record_lost:
                        self._record_run(item, worker_id=worker_id, outcome=TaskRun.Outcome.LOST_LEASE, error=error)
                    return "lost"
                row.status = QueueStatus.FAILED
                row.last_error = error
                row.lease_expires_at = None
                row.processed_at = now
                row.save(update_fields=["status", "last_error", "lease_expires_at", "processed_at", "updated_at"])
                self._record_run(item, worker_id=worker_id, outcome=TaskRun.Outcome.DEAD, error=error)
                self._dead_letter(row)
                return "dead"
            retried = self._fenced(item).update(
                status=QueueStatus.PENDING,
                worker_token="",
                lease_expires_at=None,
                last_error=error,
                available_at=now
                + timedelta(
                    seconds=backoff_seconds(item.attempts, base=item.retry_base_seconds, cap=item.retry_cap_seconds)
                ),
                updated_at=now,
            )
            self._record_run(
                item,
                worker_id=worker_id,
                outcome=TaskRun.Outcome.FAILED if retried else TaskRun.Outcome.LOST_LEASE,
                error=error,
            )
        return "retry" if retried else "lost"

    def release(self, item: Claimed, *, worker_id: str, reason: str = "released at shutdown") -> bool:
        """Give an unfinished item back to the queue at once; the attempt is not counted."""
        now = timezone.now()
        with transaction.atomic():
            released = self._fenced(item).update(
                status=QueueStatus.PENDING,
                worker_token="",
                lease_expires_at=None,
                attempts=F("attempts") - 1,
                available_at=now,
                updated_at=now,
            )
            if released:
                self._record_run(item, worker_id=worker_id, outcome=TaskRun.Outcome.RELEASED, error=reason)
        return bool(released)

    def _dead_letter(self, row: Any) -> Any:
        errors: list[dict[str, Any]] = [
            dict(entry)
            for entry in TaskRun.objects.filter(queue=self.name, item_id=row.id)
            .exclude(error="")
            .order_by("-started_at", "-id")
            .values("attempt", "worker_id", "finished_at", "outcome", "error")[:DEAD_LETTER_ERRORS_KEPT]
        ]
        for entry in errors:
            entry["finished_at"] = entry["finished_at"].isoformat() if entry["finished_at"] else None
        return self.dead_letter_model.objects.create(
            original_id=row.id,
            idempotency_key=row.idempotency_key,
            payload=row.payload,
            attempts=row.attempts,
            errors=errors,
            last_error=row.last_error,
            **{name: getattr(row, name) for name in (self.type_field, *self.carried_fields)},
        )

    # --- housekeeping ----------------------------------------------------------------------

    def reclaim_expired(self, *, worker_id: str = "reaper") -> int:
        """Items whose lease ran out (their worker died): back to pending, or dead-letter."""
        now = timezone.now()
        reclaimed = 0
        expired = list(
            self.model.objects.filter(status=QueueStatus.PROCESSING, lease_expires_at__lt=now)
            .order_by("lease_expires_at")
            .values("id", self.type_field, "attempts", "max_attempts", "worker_token", "payload", "lease_expires_at")[
                :500
            ]
        )
        for row in expired:
            item = Claimed(
                id=row["id"],
                type=row[self.type_field],
                payload=row["payload"],
                attempts=row["attempts"],
                max_attempts=row["max_attempts"],
                token=row["worker_token"],
                started_at=row["lease_expires_at"],
            )
            owner = item.token.split(":", 1)[0]
            error = error_text(LeaseExpired(f"lease expired (worker {owner} lost)"))
            outcome = self.fail(item, worker_id=owner or worker_id, error=error, record_lost=False)
            reclaimed += outcome != "lost"
        if reclaimed:
            logger.warning("queue %s: reclaimed %d items with expired leases", self.name, reclaimed)
        return reclaimed

    def requeue_dead_letters(self, ids: Collection[int] | None = None) -> int:
        """Put dead-lettered items back on the queue with fresh attempts; drop their letters."""
        letters = self.dead_letter_model.objects.all()
        if ids is not None:
            letters = letters.filter(id__in=list(ids))
        count = 0
        for letter in letters.order_by("id"):
            with transaction.atomic():
                now = timezone.now()
                updated = self.model.objects.filter(id=letter.original_id).update(
                    status=QueueStatus.PENDING,
                    attempts=0,
                    available_at=now,
                    worker_token="",
                    lease_expires_at=None,
                    processed_at=None,
                    updated_at=now,
                )
                if not updated:  # the original row was pruned: recreate it under its key
                    self.model.objects.filter(idempotency_key=letter.idempotency_key).delete()
                    self.model.objects.create(
                        idempotency_key=letter.idempotency_key,
                        payload=letter.payload,
                        **{name: getattr(letter, name) for name in (self.type_field, *self.carried_fields)},
                    )
                letter.delete()
                count += 1
        return count

    def discard_dead_letters(self, ids: Collection[int] | None = None) -> int:
        letters = self.dead_letter_model.objects.all()
        if ids is not None:
            letters = letters.filter(id__in=list(ids))
        deleted, _ = letters.delete()
        return deleted

    def prune(self, *, before: datetime) -> int:
        deleted, _ = self.model.objects.filter(status=QueueStatus.COMPLETED, processed_at__lt=before).delete()
        return deleted

    def stats(self) -> dict:
        """Counts per status, retrying and dead-letter counts, oldest pending age (seconds)."""
        counts = dict(
            self.model.objects.values_list("status").annotate(n=models.Count("id")).values_list("status", "n")
        )
        oldest = (
            self.model.objects.filter(status=QueueStatus.PENDING)
            .order_by("available_at")
            .values_list("available_at", flat=True)
            .first()
        )
        return {
            "queue": self.name,
            **{status: counts.get(status, 0) for status in QueueStatus.values},
            "retrying": self.model.objects.filter(status=QueueStatus.PENDING, attempts__gt=0).count(),
            "dead": self.dead_letter_model.objects.count(),
            "oldest_pending_age_seconds": max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0,
        }

    def dead_letters_since(self, when: datetime) -> int:
        """Items dead-lettered at or after `when` (the rollout gate's dead-letter growth)."""
        return self.dead_letter_model.objects.filter(failed_at__gte=when).count()


_queues: dict[str, Queue] = {}


def register_queue(queue: Queue) -> Queue:
    _queues[queue.name] = queue
    return queue


def get_queue(name: str) -> Queue:
    return _queues[name]


def all_queues() -> list[Queue]:
    return list(_queues.values())
