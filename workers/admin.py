"""Queue admin (SPEC §6): dashboard, item lists, read-only dead letters with requeue/discard."""

import json

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from config.admin_base import ReadOnlyModelAdmin
from workers import services
from workers.models import Lease, TaskRun, WorkerTask, WorkerTaskDeadLetter
from workers.queue import all_queues


def pretty_json(value) -> str:
    return format_html(
        "<pre style='white-space: pre-wrap; margin: 0'>{}</pre>",
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


def pretty_text(value: str) -> str:
    return format_html("<pre style='white-space: pre-wrap; margin: 0'>{}</pre>", value or "-")


class QueueItemAdminMixin(admin.ModelAdmin):
    list_filter = ["status"]
    search_fields = ["idempotency_key", "worker_token", "request_id"]
    readonly_fields = ["payload_formatted", "last_error_formatted", "created_at", "updated_at", "processed_at"]
    date_hierarchy = "created_at"
    list_per_page = 100

    @admin.display(description="payload")
    def payload_formatted(self, obj):
        return pretty_json(obj.payload)

    @admin.display(description="last error")
    def last_error_formatted(self, obj):
        return pretty_text(obj.last_error)

    def has_add_permission(self, request):
        return False  # work is enqueued by the application or `manage.py enqueue_task`


class DeadLetterAdminMixin(admin.ModelAdmin):
    """Read-only: inspect, then requeue (back on the queue with fresh attempts) or discard."""

    queue_name = ""
    readonly_fields = ["payload_formatted", "errors_formatted", "last_error_formatted"]
    actions = ["requeue", "discard"]
    date_hierarchy = "failed_at"

    @admin.display(description="payload")
    def payload_formatted(self, obj):
        return pretty_json(obj.payload)

    @admin.display(description="errors (latest first)")
    def errors_formatted(self, obj):
        return pretty_json(obj.errors)

    @admin.display(description="last error")
    def last_error_formatted(self, obj):
        return pretty_text(obj.last_error)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Requeue selected (fresh attempts)", permissions=["delete"])
    def requeue(self, request, queryset):
        count = services.dead_letters_requeue(queue=self.queue_name, ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Requeued {count} item(s).", messages.SUCCESS)

    @admin.action(description="Discard selected", permissions=["delete"])
    def discard(self, request, queryset):
        count = services.dead_letters_discard(queue=self.queue_name, ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Discarded {count} item(s).", messages.SUCCESS)


@admin.register(WorkerTask)
class WorkerTaskAdmin(QueueItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "task_type",
        "status",
        "priority",
        "cohort_bucket",
        "attempts",
        "max_attempts",
        "available_at",
        "lease_expires_at",
    ]
    list_filter = ["status", "task_type"]
    change_list_template = "admin/workers/workertask_change_list.html"
    fields = [
        "task_type",
        "status",
        "idempotency_key",
        "priority",
        "cohort_bucket",
        "attempts",
        "max_attempts",
        "available_at",
        "worker_token",
        "lease_expires_at",
        "payload_formatted",
        "result_formatted",
        "last_error_formatted",
        "created_at",
        "updated_at",
        "processed_at",
    ]

    @admin.display(description="result")
    def result_formatted(self, obj):
        return pretty_json(obj.result)

    def get_readonly_fields(self, request, obj=None):
        return [f for f in self.fields if f not in ("priority", "available_at")]

    def get_urls(self):
        dashboard = path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="workers_queue_dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "title": "Queue dashboard",
            "queues": [queue.stats() for queue in all_queues()],
            "recent_runs": TaskRun.objects.order_by("-started_at")[:20],
        }
        return TemplateResponse(request, "admin/workers/dashboard.html", context)


@admin.register(WorkerTaskDeadLetter)
class WorkerTaskDeadLetterAdmin(DeadLetterAdminMixin, admin.ModelAdmin):
    queue_name = "tasks"
    list_display = ["id", "original_id", "task_type", "attempts", "short_error", "failed_at"]
    list_filter = ["task_type"]
    search_fields = ["idempotency_key", "last_error"]
    fields = [
        "original_id",
        "task_type",
        "idempotency_key",
        "cohort_bucket",
        "attempts",
        "failed_at",
        "payload_formatted",
        "errors_formatted",
        "last_error_formatted",
    ]

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]


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
    search_fields = ["worker_id", "item_id", "error"]
    date_hierarchy = "started_at"
    readonly_fields = ["error_formatted"]

    @admin.display(description="error")
    def error_formatted(self, obj):
        return pretty_text(obj.error)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lease)
class LeaseAdmin(ReadOnlyModelAdmin):
    """Named database leases (e.g. `auto-packs`, held by curation or rebuild): read-only."""

    list_display = readonly_fields = ("name", "holder", "acquired_at", "expires_at", "updated_at")
    search_fields = ["name", "holder"]
