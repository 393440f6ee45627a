"""The `memory` source: a table already in memory, served through the source contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import DataError


class MemorySource:
    """A pandas/polars/pyarrow table or a dict of columns, with projection and batching."""

    def __init__(self, data: Any, columns: Sequence[str] | None = None) -> None:
        self.data = data
        self.columns = columns

    def _table(self) -> Any:
        from engine.tables import to_arrow

        table = to_arrow(self.data)
        if self.columns is None:
            return table
        unknown = [c for c in self.columns if c not in table.column_names]
        if unknown:
            raise DataError(f"memory source has no column(s) {unknown}; it has {table.column_names}")
        return table.select(list(self.columns))

    def schema(self) -> Any:
        return self._table().schema

    def count(self) -> int:
        return self._table().num_rows

    def scan(self, batch_size: int | None = None) -> Any:
        import pyarrow as pa

        table = self._table()
        batches = table.to_batches(max_chunksize=batch_size) if batch_size else table.to_batches()
        return pa.RecordBatchReader.from_batches(table.schema, batches)

    def to_arrow(self) -> Any:
        return self._table()
