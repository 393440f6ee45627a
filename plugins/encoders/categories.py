"""User-given `categories=` (scikit-learn's option): per encoded column, its levels in output order.
They are checked against the column's fitted domain; levels that the data holds outside them are
unseen levels (an error in fit under handle_unknown='error'), and listed levels that the data
lacks are levels with a count of 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.errors import DataError
from plugins.encoders.levels import FittedColumn, is_missing

_PYTHON_TYPES = {"string": (str,), "integer": (int,), "float": (float, int), "boolean": (bool,)}


def per_column(categories: Any, columns: Sequence[str]) -> dict[str, list[Any] | None]:
    """The given categories of each encoded column (None: learned from the data)."""
    if isinstance(categories, str):
        return dict.fromkeys(columns)
    if isinstance(categories, Mapping):
        unknown = [c for c in categories if c not in columns]
        if unknown:
            raise DataError(f"categories names column(s) {unknown} that are not encoded; the encoded columns are {list(columns)}")
        return {c: list(categories[c]) if c in categories else None for c in columns}
    given = list(categories)
    if len(given) != len(columns):
        raise DataError(
            f"Shape mismatch: if categories is an array, it has to be of shape (n_features,): got {len(given)} "
            f"lists of categories for the {len(columns)} encoded columns {list(columns)}"
        )
    return {c: list(values) for c, values in zip(columns, given)}


def checked(given: list[Any], fitted: FittedColumn, position: int, dtype: np.dtype | None) -> list[Any]:
    """The given categories as Python values of the column's domain, the missing level (None) last."""
    values = [v.item() if isinstance(v, np.generic) else v for v in given]
    missing = [at for at, v in enumerate(values) if is_missing(v)]
    if missing and missing != [len(values) - 1]:
        raise DataError(
            f"Nan should be the last element in user provided categories, see categories {given} in column #{position}"
        )
    present = values[:-1] if missing else values
    if any(isinstance(v, bytes) for v in present):
        if dtype is None or dtype.kind != "S":
            seen = "str_" if dtype is None else dtype.type.__name__
            raise DataError(
                f"In column {position}, the predefined categories have type 'bytes' which is incompatible with "
                f"values of type '{seen}'. Give the categories as str"
            )
        present = [v.decode("utf-8") if isinstance(v, bytes) else v for v in present]
    domain = fitted.domain
    if domain == "integer" and all(isinstance(v, float) and v.is_integer() for v in present if not isinstance(v, int)):
        present = [int(v) for v in present]
    wrong = [v for v in present if not isinstance(v, _PYTHON_TYPES[domain]) or (domain != "boolean" and isinstance(v, bool))]
    if wrong:
        raise DataError(
            f"the categories given for column {fitted.column!r} (feature {position}) hold {wrong[:3]}, which are not "
            f"{domain} values like the column's: give categories of the column's type"
        )
    if len(set(present)) != len(present):
        raise DataError(f"the predefined categories contain duplicate elements (column {fitted.column!r}): list each level once")
    if domain in ("integer", "float") and present != sorted(present):
        raise DataError(
            f"Unsorted categories are not supported for numerical categories (column {fitted.column!r}): "
            "list them in increasing order"
        )
    return present + ([None] if missing else [])


def restricted(fitted: FittedColumn, allowed: list[Any], position: int, handle_unknown: str, handle_missing: str) -> FittedColumn:
    """The fitted column without the levels outside `allowed` (in fit under handle_unknown='error',
    such levels are an error, as in scikit-learn)."""
    known = set(allowed) - {None}
    outside = [level for level in fitted.levels if level not in known]
    if fitted.missing and None not in allowed and handle_missing == "level":
        outside.append(None)
    if outside and handle_unknown == "error":
        raise DataError(
            f"Found unknown categories {outside[:5]} in column {position} during fit: column {fitted.column!r} holds "
            "levels outside the categories given; add them, or set handle_unknown='ignore'"
        )
    keep = [(level, count) for level, count in zip(fitted.levels, fitted.counts) if level in known]
    return FittedColumn(fitted.column, fitted.domain, tuple(k for k, _ in keep), tuple(c for _, c in keep), fitted.missing)


def ordered(fitted: FittedColumn, allowed: list[Any]) -> FittedColumn:
    """The fitted column with its levels in the given order, a count of 0 for those the data lacked."""
    counts = dict(zip(fitted.levels, fitted.counts))
    levels = [v for v in allowed if v is not None]
    return FittedColumn(fitted.column, fitted.domain, tuple(levels), tuple(counts.get(v, 0) for v in levels), fitted.missing)
