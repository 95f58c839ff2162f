"""Task types and pruners: apps register them at start-up (AppConfig.ready).

Workers never import the apps that register here; they only run what is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskType:
    name: str
    func: Callable[[dict], object]
    # Setting holding the cadence in seconds of a periodic cycle (None: not periodic).
    cadence_setting: str | None = None
    # The `run_worker --task-type` value whose dedicated workers may take this type.
    group: str = ""
    # A periodic cycle's cadence given in seconds instead of a setting's name.
    cadence_seconds: float | None = None
    # Runs a claimed item given (claimed, worker_id) instead of func(payload): for task types
    # that need the attempt, the lease holder or a return value (workers.backends).
    run_claimed: Callable[[Any, str], object] | None = None
    # Enqueues one periodic run under the given idempotency key (default: an empty payload).
    enqueue_periodic: Callable[[str], tuple[Any, bool]] | None = None
    # May run in dedicated worker processes (`run_worker --task-type <group>`), routed there by
    # the dedicated-processes rollout; otherwise the combined worker (`all`) always takes it.
    dedicated: bool = False

    @property
    def cadence(self) -> float:
        """Seconds between periodic runs (0: not periodic)."""
        from django.conf import settings

        if self.cadence_seconds is not None:
            return max(0.0, float(self.cadence_seconds))
        if not self.cadence_setting:
            return 0.0
        return max(0.0, float(getattr(settings, self.cadence_setting)))

    @property
    def worker_group(self) -> str:
        return self.group or self.name


_registry: dict[str, TaskType] = {}
_pruners: dict[str, Callable[[datetime], int]] = {}


def register_task_type(
    name: str,
    func: Callable[[dict], object],
    *,
    cadence_setting: str | None = None,
    group: str = "",
    cadence_seconds: float | None = None,
    run_claimed: Callable[[Any, str], object] | None = None,
    enqueue_periodic: Callable[[str], tuple[Any, bool]] | None = None,
    dedicated: bool = False,
) -> None:
    name, group = str(name), str(group)  # plain strings, whatever str subclass names them
    _registry[name] = TaskType(
        name=name,
        func=func,
        cadence_setting=cadence_setting,
        group=group,
        cadence_seconds=cadence_seconds,
        run_claimed=run_claimed,
        enqueue_periodic=enqueue_periodic,
        dedicated=dedicated,
    )


def get_task_type(name: str) -> TaskType | None:
    return _registry.get(name)


def registered_task_types() -> dict[str, TaskType]:
    return dict(_registry)


def dedicated_groups() -> set[str]:
    """The worker groups dedicated workers may serve: those of task types registered `dedicated`."""
    return {t.worker_group for t in _registry.values() if t.dedicated}


def unregister_task_type(name: str) -> None:
    _registry.pop(name, None)


def register_pruner(name: str, func: Callable[..., int], *, own_retention: bool = False) -> None:
    """Register `func(cutoff) -> rows deleted` for `manage.py prune_history`, the cutoff being the
    history retention (TASK_RUN_RETENTION_DAYS or `--days`). A pruner with `own_retention` reads
    its own setting and is called `func()`."""
    _pruners[name] = (lambda cutoff: func()) if own_retention else func


def registered_pruners() -> dict[str, Callable[[datetime], int]]:
    return dict(_pruners)
