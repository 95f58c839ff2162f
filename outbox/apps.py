from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.metrics import register_collector
        from outbox import services  # noqa: F401 - registers the outbox and relay queues
        from outbox.metrics import RELAY_LAG

        register_collector(RELAY_LAG)
