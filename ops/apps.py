from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations tools: the load test and the rollout gates (SPEC §8). Like the other
    infrastructure apps it never imports the catalog: it reads what apps register with the
    metrics core (config.metrics) and the queues (workers.queue)."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
