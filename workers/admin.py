from django.contrib import admin

from workers.models import TaskRun, WorkerTask, WorkerTaskDeadLetter


@admin.register(WorkerTask)
class WorkerTaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task_type",
        "status",
        "priority",
        "cohort_bucket",
        "attempts",
        "available_at",
        "lease_expires_at",
    ]
    list_filter = ["status", "task_type"]
    search_fields = ["idempotency_key", "worker_token"]


@admin.register(WorkerTaskDeadLetter)
class WorkerTaskDeadLetterAdmin(admin.ModelAdmin):
    list_display = ["original_id", "task_type", "attempts", "failed_at"]
    list_filter = ["task_type"]
    search_fields = ["idempotency_key"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "queue",
        "task_type",
        "item_id",
        "attempt",
        "worker_id",
        "outcome",
        "duration_ms",
        "started_at",
    ]
    list_filter = ["queue", "outcome", "task_type"]
    search_fields = ["worker_id", "item_id"]

    def has_change_permission(self, request, obj=None):
        return False
