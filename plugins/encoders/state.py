"""The `onehot` encoder's fitted state as versioned plain JSON: settings, input columns, and the
levels with their counts per encoded column (everything else is derived again on load)."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import state_checks as checks
from engine.errors import HookyardError, StateError
from plugins.encoders.levels import FittedColumn, is_missing

SCHEMA = 1
_LEVEL_TYPES = {"string": (str,), "integer": (int,), "float": (float,), "boolean": (bool,)}
_MAX_COUNT = 2**63 - 1


def dump(encoder: Any) -> dict[str, Any]:
    settings = encoder.get_params()
    if settings["columns"] is not None:
        settings["columns"] = list(settings["columns"])
    settings["dtype"] = np.dtype(settings["dtype"]).name
    if isinstance(settings["drop"], (list, tuple)):
        settings["drop"] = [_plain(v) for v in settings["drop"]]
    if not isinstance(settings["categories"], str):
        given = settings["categories"]
        settings["categories"] = (
            {name: [_plain(v) for v in values] for name, values in given.items()}
            if isinstance(given, dict) else [[_plain(v) for v in values] for values in given]
        )
    return {
        "schema": SCHEMA,
        "settings": settings,
        "columns": list(encoder._columns_in),
        "levels": [
            {
                "column": c.column,
                "domain": c.domain,
                "levels": list(c.levels),
                "counts": list(c.counts),
                "missing": c.missing,
            }
            for c in encoder._fitted
        ],
    }


def _plain(value: Any) -> Any:
    """A level as JSON holds it: numpy scalars as Python ones, every missing value as None."""
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def load(cls: type, saved: Any) -> Any:
    saved = checks.require_object(saved, "state")
    schema = saved.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise checks.corrupt("state", "has no schema version")
    if schema > SCHEMA:
        raise StateError(
            f"the onehot state has schema version {schema}, newer than this hookyard reads ({SCHEMA}); "
            "upgrade hookyard to load it"
        )
    checks.require_object(saved, "state", keys=("settings", "columns", "levels"))
    settings = checks.require_object(saved["settings"], "state.settings")
    unknown = [name for name in settings if name not in cls._param_names()]
    if unknown:
        raise checks.corrupt("state.settings", f"name options the onehot encoder does not have: {unknown[:10]}")
    columns = checks.require_each(saved["columns"], "state.columns", checks.require_str)
    fitted = checks.require_each(saved["levels"], "state.levels", _fitted)
    encoded = [f.column for f in fitted]
    if len(set(columns)) != len(columns) or len(set(encoded)) != len(encoded) or not set(encoded) <= set(columns):
        raise checks.corrupt("state.levels", "must name distinct encoded columns, each among distinct state.columns")
    try:
        encoder = cls(**settings)
        encoder._set_fitted(columns, fitted, encoder._settings())
    except HookyardError as exc:
        raise checks.corrupt("state", f"does not describe a fitted onehot encoder ({exc})") from None
    return encoder


def _fitted(entry: Any, where: str) -> FittedColumn:
    entry = checks.require_object(entry, where, keys=("column", "domain", "levels", "counts", "missing"))
    column = checks.require_str(entry["column"], where + ".column")
    domain = checks.require_str(entry["domain"], where + ".domain", choices=_LEVEL_TYPES)
    levels = checks.require_list(entry["levels"], where + ".levels")
    counts = checks.require_list(entry["counts"], where + ".counts")
    kinds = _LEVEL_TYPES[domain]
    if domain != "boolean" and any(isinstance(level, bool) for level in levels):
        raise checks.corrupt(where + ".levels", f"of column {column!r} mix booleans into {domain} levels")
    if not all(isinstance(level, kinds) for level in levels):
        raise checks.corrupt(where + ".levels", f"of column {column!r} are not all {domain}")
    if any(a >= b for a, b in zip(levels, levels[1:])):
        raise checks.corrupt(where + ".levels", f"of column {column!r} are not sorted and distinct")
    if len(counts) != len(levels) or not all(_count(c) for c in counts):
        raise checks.corrupt(where + ".counts", f"of column {column!r} do not match its levels (one count >= 1 each)")
    missing = checks.require_int(entry["missing"], where + ".missing", low=0, high=_MAX_COUNT)
    return FittedColumn(column, domain, tuple(levels), tuple(counts), missing)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_COUNT
