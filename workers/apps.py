from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workers import services  # noqa: F401 - registers the task queue
        from workers.metrics import register_collectors

        register_collectors()
