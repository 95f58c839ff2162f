"""Task types: a registry from type name to the callable that runs it.

Apps register their task types at start-up (AppConfig.ready); workers never import them.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskType:
    name: str
    func: Callable[[dict], object]
    # Name of the setting holding the cadence in seconds for periodic cycles, if any.
    cadence_setting: str | None = None


_registry: dict[str, TaskType] = {}


def register_task_type(name: str, func: Callable[[dict], object], *, cadence_setting: str | None = None) -> None:
    _registry[name] = TaskType(name=name, func=func, cadence_setting=cadence_setting)


def get_task_type(name: str) -> TaskType | None:
    return _registry.get(name)


def registered_task_types() -> dict[str, TaskType]:
    return dict(_registry)


def unregister_task_type(name: str) -> None:
    _registry.pop(name, None)
