"""Independent tasks of a step (a cross-fit's folds) mapped the way the running executor says: in turn,
here, by default; as Ray tasks while the `ray` executor runs. A step calls `map_tasks` and never imports
an executor; an executor wraps its run in `mapping(its map)`."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

R = TypeVar("R")

TaskMap = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
"""`how(fn, items)`: `[fn(item) for item in items]`, in order, wherever it runs them (`fn` is shared by
every item, so an executor ships it, and the data it holds, once)."""

_current: contextvars.ContextVar[TaskMap | None] = contextvars.ContextVar("hookyard_task_map", default=None)


def in_turn(fn: Callable[[Any], R], items: Sequence[Any]) -> list[R]:
    """Every task in this process, one after another."""
    return [fn(item) for item in items]


def map_tasks(fn: Callable[[Any], R], items: Sequence[Any]) -> list[R]:
    """`fn` over `items`, in order, with the task map of the executor running now (else `in_turn`)."""
    return (_current.get() or in_turn)(fn, items)


@contextlib.contextmanager
def mapping(how: TaskMap) -> Iterator[None]:
    """While the block runs (in this thread or task), `map_tasks` maps with `how`."""
    token = _current.set(how)
    try:
        yield
    finally:
        _current.reset(token)
