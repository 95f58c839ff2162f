"""Task types and pruners: apps register them at start-up (AppConfig.ready).

Workers never import the apps that register here; they only run what is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TaskType:
    name: str
    func: Callable[[dict], object]
    # Setting holding the cadence in seconds of a periodic cycle (None: not periodic).
    cadence_setting: str | None = None
    # The `run_worker --task-type` value whose dedicated workers may take this type.
    group: str = ""

    @property
    def worker_group(self) -> str:
        return self.group or self.name


_registry: dict[str, TaskType] = {}
_pruners: dict[str, Callable[[datetime], int]] = {}


def register_task_type(
    name: str, func: Callable[[dict], object], *, cadence_setting: str | None = None, group: str = ""
) -> None:
    _registry[name] = TaskType(name=name, func=func, cadence_setting=cadence_setting, group=group)


def get_task_type(name: str) -> TaskType | None:
    return _registry.get(name)


def registered_task_types() -> dict[str, TaskType]:
    return dict(_registry)


def unregister_task_type(name: str) -> None:
    _registry.pop(name, None)


def register_pruner(name: str, func: Callable[[datetime], int]) -> None:
    """Register `func(cutoff) -> rows deleted` for `manage.py prune_history`."""
    _pruners[name] = func


def registered_pruners() -> dict[str, Callable[[datetime], int]]:
    return dict(_pruners)
