"""Outbox event handlers the catalog registers (outbox.services.register_handler)."""
