"""Send catalog reads to the read replica when one is configured (DATABASE_REPLICA_URL)."""

from django.conf import settings


class ReplicaRouter:
    read_apps = {"catalog"}

    def db_for_read(self, model, **hints):
        if model._meta.app_label in self.read_apps and "replica" in settings.DATABASES:
            return "replica"
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
