"""What an encoder accepts as data: tables of any kind, 2-D arrays and lists of rows as scikit-learn
takes them, or record batches streamed from a source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from engine.errors import DataError
from engine.tables import to_arrow
from plugins.encoders.arrays import array_table, is_array_like


@attrs.frozen
class Input:
    """Data read as one pyarrow Table. `named`: its columns had names (a 2-D array's are made up as
    x0, x1, ...); `dtypes`: each column's numpy dtype as scikit-learn would see it (for categories_)."""

    table: Any
    named: bool
    dtypes: dict[str, np.dtype]


def read(data: Any) -> Input:
    """One table from a table of any kind, a 2-D array or list of rows, a source, a record batch
    reader or an iterator of batches."""
    if _is_source(data):
        return _named(data.to_arrow())
    if isinstance(data, pa.RecordBatchReader):
        return _named(data.read_all())
    if isinstance(data, Iterator):
        parts = [read(part) for part in data]
        if not parts:
            raise DataError("the stream of record batches is empty: it has no schema to encode")
        return attrs.evolve(parts[0], table=pa.concat_tables([p.table for p in parts]))
    return _one(data)


def as_table(data: Any) -> Any:
    return read(data).table


def stream(data: Any) -> Iterator[Input]:
    """The data one batch at a time (a single table for in-memory data)."""
    if _is_source(data):
        data = data.scan()
    if isinstance(data, pa.RecordBatchReader):
        for batch in data:
            yield _named(pa.Table.from_batches([batch]))
    elif isinstance(data, Iterator):
        for part in data:
            yield _one(part)
    else:
        yield _one(data)


def _is_source(data: Any) -> bool:
    return callable(getattr(data, "scan", None)) and callable(getattr(data, "to_arrow", None))


def _one(data: Any) -> Input:
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and getattr(data, "ndim", 2) == 1:
        raise DataError(
            f"Expected a 2-dimensional container but got {type(data)} instead: pass a DataFrame "
            "(series.to_frame()) so that the column has a name"
        )
    if is_array_like(data):
        table, dtypes = array_table(data)
        return Input(table, False, dtypes)
    if module == "pandas":
        complex_ = [str(name) for name, dtype in data.dtypes.items() if getattr(dtype, "kind", "") == "c"]
        if complex_:
            raise DataError(
                f"Complex data not supported (column(s) {complex_}): one-hot encoding needs strings, whole numbers or booleans"
            )
    try:
        table = to_arrow(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"the data could not be read as a table ({exc}); give each column one type, "
            "for example by casting mixed columns to string"
        ) from None
    return _named(table, _pandas_dtypes(data) if module == "pandas" else None)


def _named(table: Any, dtypes: dict[str, np.dtype] | None = None) -> Input:
    names = table.column_names
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(
            f"the table has more than one column named {', '.join(map(repr, twice))}: rename them so each name is unique"
        )
    return Input(table, True, dtypes or {f.name: _numpy_dtype(f.type) for f in table.schema})


def _pandas_dtypes(frame: Any) -> dict[str, np.dtype]:
    out = {}
    for name, dtype in frame.dtypes.items():
        categories = getattr(dtype, "categories", None)
        dtype = categories.dtype if categories is not None else dtype
        out[str(name)] = dtype if isinstance(dtype, np.dtype) else np.dtype(object)
    return out


def _numpy_dtype(arrow_type: Any) -> np.dtype:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type):
        return np.dtype(arrow_type.to_pandas_dtype())
    return np.dtype(object)
