"""The sink contract: write a table (or a stream of record batches) somewhere, whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from engine.errors import DataError
from engine.flow import Flow
from engine.kinds.source import DataSource


@attrs.frozen
class Written:
    """Where a sink put the rows: `location` (a file, or a database file with `table`), the
    `format` and how many `rows`."""

    location: str
    format: str
    rows: int
    table: str | None = None


@runtime_checkable
class Sink(Protocol):
    """`write(data)` stores a table, a RecordBatchReader or a source's scan atomically: a failure
    midway leaves the target as it was (no partial file)."""

    def write(self, data: Any) -> Written: ...


protocol = Sink


def run_step(plugin: Sink, flow: Flow) -> Flow:
    """Write the incoming table; the flow passes on unchanged, adding where it was written to the
    "written" fact (one `Written` per sink, in the pipeline's order)."""
    written = plugin.write(flow.table)
    return flow.evolve(written=(*flow.facts.get("written", ()), written))


def record_batches(data: Any) -> Any:
    """A RecordBatchReader over `data`: a reader as it is, a source's `scan()`, or any table-like
    object `engine.tables.to_arrow` accepts (pyarrow, pandas, polars, dict of columns)."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, DataSource):
        return data.scan()
    from engine.tables import to_arrow

    table = to_arrow(data)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def select_columns(reader: Any, columns: Sequence[str] | None, *, where: str) -> Any:
    """The reader with only `columns`, in that order (all of them when None); a missing one is a DataError."""
    if columns is None:
        return reader
    import pyarrow as pa

    if isinstance(columns, str):
        raise DataError(f"{where}: columns must be a list of column names, got the string {columns!r}; write [{columns!r}]")
    missing = [c for c in columns if c not in reader.schema.names]
    if missing:
        raise DataError(f"{where}: columns {missing} are not in the data; it has {reader.schema.names}")
    schema = pa.schema([reader.schema.field(c) for c in columns], metadata=reader.schema.metadata)

    def batches() -> Any:
        for batch in reader:
            yield pa.RecordBatch.from_arrays([batch.column(c) for c in columns], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


class RowCounter:
    """Pass a reader's batches through while counting their rows (for `Written.rows`)."""

    def __init__(self, reader: Any) -> None:
        self.rows = 0
        self._reader = reader

    def reader(self) -> Any:
        import pyarrow as pa

        def batches() -> Any:
            for batch in self._reader:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self._reader.schema, batches())
