"""Turning the table-like objects users hold into pyarrow Tables, the interchange between steps."""

from __future__ import annotations

from typing import Any

from engine.errors import DataError


def to_arrow(data: Any, *, names: Any = None) -> Any:
    """A pyarrow Table from a pyarrow Table/RecordBatch/RecordBatchReader, pandas or polars
    DataFrame, a dict of columns, or a 2-D numpy array / scipy sparse matrix with `names`."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if isinstance(data, dict):
        return pa.table({str(k): _column(v) for k, v in data.items()})
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if module == "polars":
        return data.to_arrow()
    if module in ("numpy", "scipy"):
        return _from_matrix(data, names)
    raise DataError(
        f"cannot use a {type(data).__name__} as a table: pass a pyarrow Table, a pandas or polars "
        "DataFrame, a dict of columns, or a 2-D array with column names"
    )


def _column(values: Any) -> Any:
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values)


def _from_matrix(matrix: Any, names: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    dense = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    if dense.ndim != 2:
        raise DataError(f"expected a 2-D array, got {dense.ndim} dimension(s)")
    if names is None:
        names = [f"x{i}" for i in range(dense.shape[1])]
    names = [str(n) for n in names]
    if len(names) != dense.shape[1]:
        raise DataError(f"{len(names)} column names for {dense.shape[1]} columns")
    return pa.table({n: dense[:, i] for i, n in enumerate(names)})
