"""Per-entity task types the catalog registers (workers.registry.register_task_type)."""
