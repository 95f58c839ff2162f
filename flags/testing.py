"""Test helper: force a flag's result in this process.

with override_flag("enable_domain_event_outbox", False): ...

@override_flag("enable_object_storage_delivery", True)
def test_something(): ...
"""

from contextlib import ContextDecorator

from flags import services
from flags.models import normalize_flag_name


class override_flag(ContextDecorator):  # noqa: N801 - reads like Django's override_settings
    def __init__(self, name: str, active: bool):
        self.name = normalize_flag_name(name)
        self.active = bool(active)
        self._previous: list[tuple[bool, bool | None]] = []

    def __enter__(self):
        had = self.name in services._overrides
        self._previous.append((had, services._overrides.get(self.name)))
        services._overrides[self.name] = self.active
        return self

    def __exit__(self, *exc):
        had, value = self._previous.pop()
        if had:
            services._overrides[self.name] = value  # type: ignore[assignment]
        else:
            services._overrides.pop(self.name, None)
        return False
