from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog registers its event handlers and task types with the infrastructure
        # apps (outbox, workers), which never import the catalog.
        from catalog import events, tasks  # noqa: F401
        from catalog.metrics import SNAPSHOT_STALENESS
        from config.metrics import register_collector

        register_collector(SNAPSHOT_STALENESS)
