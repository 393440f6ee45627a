"""The `ray` executor's task map (`engine.tasks`): the shared function, with the data it holds, put
in the object store once, and one Ray task per item (econml's `use_ray` cross-fitting does the same)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

TASK_CPUS = 1
"""The CPUs one task asks for (a first-stage fit is single-threaded work)."""


def on_ray(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """`[fn(item) for item in items]`, each a Ray task (retried if its worker dies), answers in order."""
    import ray

    if not items:
        return []
    shared = ray.put(fn)
    task = ray.remote(num_cpus=TASK_CPUS, max_retries=2)(_call)
    return ray.get([task.remote(shared, item) for item in items])


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)
