"""2-D numpy arrays and lists of rows read as scikit-learn reads them: columns x0, x1, ...; an object
column holds strings or numbers (None and NaN are missing), never both."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from engine.errors import DataError
from plugins.encoders.levels import is_missing


def is_array_like(data: Any) -> bool:
    """A list of rows, a numpy array, a scipy matrix, or anything else with `__array__` but a table."""
    if isinstance(data, (list, tuple, np.ndarray)):
        return True
    module = type(data).__module__.split(".")[0]
    return module == "scipy" or (hasattr(data, "__array__") and module not in ("pandas", "polars", "pyarrow"))


def array_table(data: Any) -> tuple[Any, dict[str, np.dtype]]:
    """The array as a table of columns x0, x1, ... with each column's numpy dtype."""
    if hasattr(data, "toarray"):
        raise DataError("a sparse matrix cannot be one-hot encoded: pass a dense array or a table")
    array = np.asarray(data)
    if not hasattr(data, "dtype") and array.dtype.kind == "U":
        array = np.asarray(data, dtype=object)  # keeps the numbers of a list of rows numbers
    if array.ndim != 2:
        raise DataError(
            f"Expected 2D array, got {array.ndim}D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if it has a single feature or array.reshape(1, -1) if it holds a single sample"
        )
    if array.dtype.kind == "c":
        raise DataError("Complex data not supported: one-hot encoding needs strings, whole numbers or booleans")
    if array.shape[1] == 0:
        raise DataError(f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required.")
    names = [f"x{i}" for i in range(array.shape[1])]
    columns = {name: _column(name, array[:, i]) for i, name in enumerate(names)}
    return pa.table(columns), {name: array.dtype for name in names}


def _column(name: str, values: np.ndarray) -> Any:
    kind = values.dtype.kind
    if kind == "S":
        return pa.array(np.char.decode(values, "utf-8").astype(object))
    if kind == "U":
        return pa.array(values.astype(object), pa.string())
    if kind != "O":
        return pa.array(values)
    missing = np.fromiter((is_missing(v) for v in values), bool, len(values))
    present = values[~missing]
    kinds = {_kind(v) for v in present}
    if len(kinds) > 1:
        raise DataError(
            f"column {name!r} mixes {' and '.join(sorted(kinds))} values: encoders require their values to be "
            "uniformly strings or numbers; cast the column to str first"
        )
    if not kinds:
        return pa.nulls(len(values))
    cleaned = np.where(missing, None, values)
    if kinds == {"bytes"}:
        cleaned = np.array([None if m else v.decode("utf-8") for v, m in zip(values, missing)], dtype=object)
    try:
        return pa.array(cleaned.tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"column {name!r} could not be read ({exc}); give it one type") from None


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    raise DataError(f"a value {value!r:.40} of type {type(value).__name__} is not categorical: use strings or numbers")
