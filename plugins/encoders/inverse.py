"""Encoded rows back to the levels they stand for (scikit-learn's `inverse_transform`).

A row's output column gives its level; the infrequent column gives `infrequent_name`; a row of
all zeros gives the dropped level where the column has one, else None (an unseen level, or a
missing value under handle_missing='zeros'), and is an error under handle_unknown='error', where it
cannot come from transform. The missing level comes back as NaN. Passed-through columns come back
as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import DataError
from plugins.encoders.levels import ColumnLayout


def inverse(encoder: Any, X: Any) -> np.ndarray:
    """An object array with one column per input column of the encoder's output blocks."""
    matrix = _matrix(X)
    blocks = encoder._blocks
    width = sum(b.width for b in blocks)
    if matrix.ndim != 2 or matrix.shape[1] != width:
        raise DataError(
            f"Shape of the passed X data is not correct. Expected {width} columns, got "
            f"{matrix.shape[1] if matrix.ndim == 2 else matrix.ndim}: pass what transform returned"
        )
    out = np.empty((matrix.shape[0], len(blocks)), dtype=object)
    for j, block in enumerate(blocks):
        part = matrix[:, block.offset : block.offset + block.width]
        part = np.asarray(part.todense()) if hasattr(part, "todense") else np.asarray(part)
        if not block.encoded:
            out[:, j] = part[:, 0]
            continue
        out[:, j] = _levels(encoder, encoder.layouts_[block.name], part)
    return out


def _levels(encoder: Any, column: ColumnLayout, part: np.ndarray) -> np.ndarray:
    values = np.empty(column.width + 1, dtype=object)
    values[:] = _fill(encoder, column, part)
    categories = column.categories
    for at, slot in enumerate(column.level_slots[: len(categories)]):
        if slot >= 0:
            values[slot] = encoder.infrequent_name if categories[at] in column.infrequent else _shown(categories[at])
    set_ = part != 0
    chosen = np.where(set_.any(axis=1), set_.argmax(axis=1) if column.width else 0, column.width)
    return values[chosen]


def _fill(encoder: Any, column: ColumnLayout, part: np.ndarray) -> Any:
    """What an all-zero row of the column stands for."""
    if column.dropped is not None:
        category = column.categories[column.dropped]
        return encoder.infrequent_name if category in column.infrequent else _shown(category)
    zeros = np.flatnonzero(~(part != 0).any(axis=1))
    if len(zeros) and encoder._unknown_mode == "error" and encoder.handle_missing != "zeros":
        raise DataError(
            f"Samples {zeros} can not be inverted when drop=None and handle_unknown='error' because they "
            f"contain all zeros (column {column.fitted.column!r}): transform never gives such rows"
        )
    return None


def _shown(category: Any) -> Any:
    return np.nan if category is None else category


def _matrix(X: Any) -> Any:
    if hasattr(X, "tocsr"):
        return X.tocsr()
    if hasattr(X, "column_names") or type(X).__module__.split(".")[0] in ("pandas", "polars"):
        from engine.tables import to_arrow

        table = to_arrow(X)
        return np.column_stack([table[name].to_numpy(zero_copy_only=False) for name in table.column_names])
    return np.asarray(X)
