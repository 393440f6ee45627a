"""The `onehot` encoder's fitted state as versioned plain JSON: settings, input columns, and the
levels with their counts per encoded column (everything else is derived again on load)."""

from __future__ import annotations

from typing import Any

from engine.errors import HookyardError, StateError
from plugins.encoders.levels import FittedColumn

SCHEMA = 1
_LEVEL_TYPES = {"string": (str,), "integer": (int,), "boolean": (bool,)}


def dump(encoder: Any) -> dict[str, Any]:
    settings = encoder.get_params()
    if settings["columns"] is not None:
        settings["columns"] = list(settings["columns"])
    return {
        "schema": SCHEMA,
        "settings": settings,
        "columns": list(encoder.feature_names_in_),
        "levels": [
            {
                "column": c.fitted.column,
                "domain": c.fitted.domain,
                "levels": list(c.fitted.levels),
                "counts": list(c.fitted.counts),
                "missing": c.fitted.missing,
            }
            for c in encoder.layouts_.values()
        ],
    }


def load(cls: type, saved: Any) -> Any:
    if not isinstance(saved, dict):
        raise StateError(f"the onehot state must be a JSON object, got {type(saved).__name__}; the file is corrupt")
    schema = saved.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise StateError("the onehot state has no schema version; the file is corrupt")
    if schema > SCHEMA:
        raise StateError(
            f"the onehot state has schema version {schema}, newer than this hookyard reads ({SCHEMA}); "
            "upgrade hookyard to load it"
        )
    try:
        encoder = cls(**saved["settings"])
        settings = encoder._settings()
        columns = saved["columns"]
        fitted = [_fitted(entry) for entry in saved["levels"]]
        if not all(isinstance(c, str) for c in columns) or any(f.column not in columns for f in fitted):
            raise ValueError("the encoded columns are not among the input columns")
        encoder._set_fitted(list(columns), fitted, settings)
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, HookyardError) as exc:
        raise StateError(f"the onehot state is corrupt ({type(exc).__name__}: {exc}); fit the encoder again") from None
    return encoder


def _fitted(entry: dict[str, Any]) -> FittedColumn:
    domain = entry["domain"]
    levels, counts, missing = entry["levels"], entry["counts"], entry["missing"]
    kinds = _LEVEL_TYPES[domain]
    if domain != "boolean" and any(isinstance(level, bool) for level in levels):
        raise ValueError(f"column {entry['column']!r} mixes booleans into {domain} levels")
    if not all(isinstance(level, kinds) for level in levels):
        raise ValueError(f"column {entry['column']!r} has levels that are not {domain}")
    if any(a >= b for a, b in zip(levels, levels[1:])):
        raise ValueError(f"the levels of column {entry['column']!r} are not sorted and distinct")
    if len(counts) != len(levels) or not all(_count(c) and c > 0 for c in counts) or not _count(missing):
        raise ValueError(f"the counts of column {entry['column']!r} do not match its levels")
    return FittedColumn(entry["column"], domain, tuple(levels), tuple(counts), missing)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
