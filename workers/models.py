"""The task queue tables, and the abstract queue row the outbox shares (SPEC §5)."""

from django.db import models
from django.utils import timezone


class QueueStatus(models.TextChoices):
    PENDING = "pending", "pending"
    PROCESSING = "processing", "processing"
    COMPLETED = "completed", "completed"
    FAILED = "failed", "failed"


class QueueItem(models.Model):
    """Fields every queue row has: the one queue mechanism (workers.queue) works on these."""

    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=QueueStatus.choices, default=QueueStatus.PENDING)
    priority = models.SmallIntegerField(default=0)
    idempotency_key = models.CharField(max_length=191, unique=True)
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    worker_token = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class DeadLetter(models.Model):
    """What is kept of a queue row that exhausted its attempts."""

    original_id = models.BigIntegerField(db_index=True)
    idempotency_key = models.CharField(max_length=191)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True, default="")
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class WorkerTask(QueueItem):
    task_type = models.CharField(max_length=64)
    cohort_bucket = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # What a Django Tasks task returned (JSON), kept once it completed (workers.backends).
    result = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        indexes = [
            # The claim reads pending rows in its ORDER BY (priority desc, available_at, id) order.
            models.Index(fields=["status", "-priority", "available_at", "id"], name="wtask_claim_order_idx"),
            models.Index(fields=["status", "task_type", "available_at"], name="wtask_claim_idx"),
            models.Index(fields=["status", "cohort_bucket", "available_at"], name="wtask_cohort_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="wtask_lease_idx"),
            models.Index(fields=["status", "processed_at"], name="wtask_prune_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(cohort_bucket__lt=100), name="wtask_cohort_bucket_lt_100"),
        ]

    def __str__(self) -> str:
        return f"{self.task_type}#{self.pk} ({self.status})"


class WorkerTaskDeadLetter(DeadLetter):
    task_type = models.CharField(max_length=64, db_index=True)
    cohort_bucket = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"dead {self.task_type}#{self.original_id}"


class TaskRun(models.Model):
    """One attempt at one queue item (tasks and outbox events alike)."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        RELEASED = "released", "released"
        LOST_LEASE = "lost_lease", "lost lease"
        DEAD = "dead", "dead-lettered"

    queue = models.CharField(max_length=32, default="tasks")
    item_id = models.BigIntegerField()
    task_type = models.CharField(max_length=64)
    attempt = models.PositiveIntegerField(default=1)
    worker_id = models.CharField(max_length=128)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["queue", "item_id"], name="taskrun_item_idx"),
            models.Index(fields=["started_at"], name="taskrun_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue}:{self.task_type}#{self.item_id} try {self.attempt} {self.outcome}"


class Lease(models.Model):
    """A named, database-backed lease: one holder at a time across every host (see workers.locks)."""

    name = models.CharField(max_length=128, unique=True)
    holder = models.CharField(max_length=128, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"lease {self.name} held by {self.holder or '-'}"
