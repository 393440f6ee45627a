"""What an encoder accepts as data: tables of any kind, or record batches streamed from a source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from engine.errors import DataError
from engine.tables import to_arrow


def as_table(data: Any) -> Any:
    """One pyarrow Table from a table of any kind, a source, a record batch reader or an iterator of batches."""
    if _is_source(data):
        return data.to_arrow()
    if isinstance(data, Iterator):
        tables = list(data)
        if not tables:
            raise DataError("the stream of record batches is empty: it has no schema to encode")
        return pa.concat_tables([_table(t) for t in tables])
    return _table(data)


def stream(data: Any) -> Iterator[Any]:
    """The data as pyarrow Tables one batch at a time (a single table for in-memory data)."""
    if _is_source(data):
        data = data.scan()
    if isinstance(data, pa.RecordBatchReader):
        for batch in data:
            yield pa.Table.from_batches([batch])
    elif isinstance(data, Iterator):
        for part in data:
            yield _table(part)
    else:
        yield _table(data)


def _is_source(data: Any) -> bool:
    return callable(getattr(data, "scan", None)) and callable(getattr(data, "to_arrow", None))


def _table(data: Any) -> Any:
    if isinstance(data, list):
        raise DataError("a list is not a table: pass a DataFrame, a pyarrow Table or a dict of columns")
    try:
        return to_arrow(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"the data could not be read as a table ({exc}); give each column one type, "
            "for example by casting mixed columns to string"
        ) from None
