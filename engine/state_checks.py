"""Checks for the fields of a loaded state document, so that a corrupt or hostile file is a
StateError naming the field and what it should hold, found before anything is allocated from it.

Every check takes `where`, the field's path in the document (for example
"state.fitted.final_stage.cov_std"), and returns the value it checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from engine.errors import StateError

RESAVE = "the file is corrupt or was edited: save the fitted plugin again with engine.save (refit it if need be)"
MAX_DEPTH = 64  # a state document nests a handful of levels; deeper is hostile
_SHOWN = 60
T = TypeVar("T")


def corrupt(where: str, problem: str) -> StateError:
    """The StateError for a field `where` that is wrong in the way `problem` says."""
    return StateError(f"{where} {problem}; {RESAVE}")


def shown(value: Any) -> str:
    """A short description of a value for an error message (a huge one is cut)."""
    text = repr(value)
    if len(text) > _SHOWN:
        text = text[:_SHOWN] + "..."
    return f"{type(value).__name__} {text}"


def require_object(value: Any, where: str, *, keys: Collection[str] = (), exact: bool = False) -> dict[str, Any]:
    """A JSON object holding at least `keys` (with `exact`, no others)."""
    if not isinstance(value, dict):
        raise corrupt(where, f"must be a JSON object, got {shown(value)}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise corrupt(where, f"lacks the field(s) {missing}")
    extra = [key for key in value if key not in keys] if exact else []
    if extra:
        raise corrupt(where, f"has unknown field(s) {extra[:10]}")
    return value


def require_str(value: Any, where: str, *, choices: Collection[str] | None = None) -> str:
    """A string, one of `choices` when given."""
    if not isinstance(value, str):
        raise corrupt(where, f"must be a string, got {shown(value)}")
    if choices is not None and value not in choices:
        raise corrupt(where, f"must be one of {sorted(choices)}, got {shown(value)}")
    return value


def require_int(value: Any, where: str, *, low: int, high: int) -> int:
    """An integer (a JSON true/false is not one) in [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise corrupt(where, f"must be an integer, got {shown(value)}")
    if not low <= value <= high:
        raise corrupt(where, f"must be between {low} and {high}, got {value}")
    return value


def require_number(value: Any, where: str, *, low: float = float("-inf"), high: float = float("inf")) -> float:
    """A finite number (integer or not, never a boolean) in [low, high]."""
    if not _finite(value) or not low <= value <= high:
        raise corrupt(where, f"must be a finite number between {low} and {high}, got {shown(value)}")
    return float(value)


def require_list(value: Any, where: str, *, length: int | None = None) -> list[Any]:
    """A JSON array, of `length` items when given."""
    if not isinstance(value, list):
        raise corrupt(where, f"must be a JSON array, got {shown(value)}")
    if length is not None and len(value) != length:
        raise corrupt(where, f"must have {length} item(s), got {len(value)}")
    return value


def require_each(value: Any, where: str, check: Callable[[Any, str], T], *, length: int | None = None) -> list[T]:
    """A JSON array (of `length` items when given) each of whose items passes `check(item, "where[k]")`."""
    return [check(item, f"{where}[{k}]") for k, item in enumerate(require_list(value, where, length=length))]


def require_scalar(value: Any, where: str) -> str | int | bool:
    """A string, integer or boolean: a label such as a treatment level."""
    if not isinstance(value, (str, int)):
        raise corrupt(where, f"must be a string or an integer, got {shown(value)}")
    return value


def require_shape(value: Any, where: str, shape: Sequence[int]) -> None:
    """Nested arrays of exactly `shape`, checked list by list before any array is built from them."""
    rows = [value]
    for depth, size in enumerate(shape):
        for row in rows:
            if not isinstance(row, list) or len(row) != size:
                got = f"{len(row)} item(s)" if isinstance(row, list) else shown(row)
                expected = f"at depth {depth} expected {size} item(s), got {got}"
                raise corrupt(where, f"must be an array of shape {tuple(shape)}: {expected}")
        rows = [item for row in rows for item in row]


def require_finite_array(value: Any, where: str, shape: Sequence[int]) -> Any:
    """A float numpy array of `shape` with every entry a finite number."""
    import numpy as np

    require_shape(value, where, shape)
    bad = sum(not _finite(v) for v in _leaves(value, len(shape)))
    if bad:
        raise corrupt(where, f"must hold only finite numbers; {bad} entr{'y is' if bad == 1 else 'ies are'} not "
                             "(text, null, true/false, NaN or infinite)")
    return np.asarray(value, dtype=float).reshape(tuple(shape))


def require_bool_array(value: Any, where: str, shape: Sequence[int]) -> Any:
    """A boolean numpy array of `shape` with every entry true or false."""
    import numpy as np

    require_shape(value, where, shape)
    if not all(isinstance(v, bool) for v in _leaves(value, len(shape))):
        raise corrupt(where, "must hold only true or false")
    return np.asarray(value, dtype=bool).reshape(tuple(shape))


def require_depth(value: Any, where: str, limit: int = MAX_DEPTH) -> Any:
    """Nested arrays and objects at most `limit` deep (walked without recursion)."""
    level = [value]
    for _ in range(limit + 1):
        level = [item for node in level if isinstance(node, (list, dict))
                 for item in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return value
    raise corrupt(where, f"nests arrays or objects more than {limit} deep")


def _finite(value: Any) -> bool:
    """A number (never a boolean) that is finite as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _leaves(value: Any, depth: int) -> list[Any]:
    items = [value]
    for _ in range(depth):
        items = [item for row in items for item in row]
    return items
