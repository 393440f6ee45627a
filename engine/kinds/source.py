"""The data source contract: a table as streamed Arrow record batches, with projection and filters pushed down.

Besides the Protocol this module offers two bases for implementations: `ArrowConversions`
(pandas, polars and numpy views derived from `to_arrow`) and `TableSource` (a source whose whole
table is at hand, with projection and filters applied by pyarrow.compute), plus
`with_progress`, which shows a long scan's rows on a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from engine import filters as filtering
from engine import progress
from engine.errors import DataError, PluginError
from engine.flow import Flow


@runtime_checkable
class DataSource(Protocol):
    """Knows its schema and row count; streams record batches on a cursor of its own; materialises
    to Arrow, pandas, polars or numpy; says in `explain()` what it pushes down to the storage.

    With the "parts" capability it also has `parts()`: a list of option dicts, one per part in its
    stream's order, each of which laid over its own options builds it over that part alone (None
    when it cannot split as set up), so that an executor can read the parts apart."""

    def schema(self) -> Any: ...

    def count(self) -> int: ...

    def scan(self, batch_size: int | None = None) -> Any: ...

    def to_arrow(self) -> Any: ...

    def to_pandas(self) -> Any: ...

    def to_polars(self) -> Any: ...

    def to_numpy(self) -> Any: ...

    def explain(self) -> str: ...


protocol = DataSource


def run_step(plugin: DataSource, flow: Flow) -> Flow:
    """Start the flow with the source's whole table."""
    return flow.evolve(table=plugin.to_arrow())


def parts_of(plugin: Any) -> list[dict[str, Any]] | None:
    """The option sets of a source's parts (`parts()`, the "parts" capability), None when it has none or
    cannot split as it is set up; a source that answers something else is a clear error."""
    parts = getattr(plugin, "parts", None)
    if not callable(parts):
        return None
    found = parts()
    if found is not None and not (isinstance(found, list) and all(isinstance(p, dict) for p in found)):
        raise PluginError(f"{type(plugin).__name__}.parts() must return a list of option dicts (one per part) or "
                          f"None, got {found!r:.80}")
    return found


def with_progress(reader: Any, *, desc: str) -> Any:
    """The reader itself off a terminal; on one, a reader that counts the rows it hands out."""
    if not progress.enabled():
        return reader
    import pyarrow as pa

    def batches() -> Any:
        with progress.bar(None, desc=desc, unit="rows") as bar:
            for batch in reader:
                bar.update(batch.num_rows)
                yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


class ArrowConversions:
    """`to_pandas`, `to_polars` and `to_numpy` derived from the source's `to_arrow`."""

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the (projected, filtered) rows."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A polars DataFrame of the (projected, filtered) rows."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def to_numpy(self) -> Any:
        """A 2-D numpy array, one column per source column (the common numeric dtype, else object)."""
        import numpy as np

        table = self.to_arrow()
        arrays = [column.to_numpy(zero_copy_only=False) for column in table.columns]
        if not arrays:
            return np.empty((table.num_rows, 0))
        numeric = all(a.dtype.kind in "biuf" for a in arrays)
        dtype = np.result_type(*arrays) if numeric else object
        out = np.empty((table.num_rows, len(arrays)), dtype=dtype)
        for j, values in enumerate(arrays):
            out[:, j] = values
        return out


class TableSource(ArrowConversions):
    """Base for sources whose whole table is at hand (in memory, generated): subclasses implement
    `_load()` returning a pyarrow Table and pass `columns` and `filters` to `__init__`."""

    label = "table"

    def __init__(self, columns: Sequence[str] | None = None, filters: Any = None) -> None:
        self.columns = columns
        self.filters = filters
        self._expr = filtering.parse(filters)
        self._loaded: Any = None

    def _load(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _load() returning a pyarrow Table")

    def _full(self) -> Any:
        if self._loaded is None:
            self._loaded = self._load()
            names = self._loaded.column_names
            where = f"{self.label} source"
            filtering.check_columns(self.columns or (), names, what="the projection", where=where)
            filtering.check_columns(filtering.columns(self._expr), names, what="the filter", where=where)
        return self._loaded

    def _projection(self) -> list[str]:
        return list(self.columns) if self.columns is not None else self._full().column_names

    def _rows(self) -> Any:
        table = self._full()
        if self._expr is not None:
            needed = list(dict.fromkeys([*self._projection(), *filtering.columns(self._expr)]))
            try:
                table = table.select(needed).filter(filtering.to_arrow(self._expr))
            except Exception as exc:
                if type(exc).__module__.startswith("pyarrow"):
                    raise DataError(
                        f"{self.label} source: cannot apply the filter {filtering.describe(self._expr)}: {exc}"
                    ) from exc
                raise
        return table.select(self._projection())

    def schema(self) -> Any:
        """The Arrow schema of the projected columns."""
        return self._full().select(self._projection()).schema

    def count(self) -> int:
        """Rows that pass the filter."""
        return self._rows().num_rows

    def scan(self, batch_size: int | None = None) -> Any:
        """A RecordBatchReader over the rows, at most `batch_size` rows per batch."""
        import pyarrow as pa

        table = self._rows()
        batches = table.to_batches(max_chunksize=batch_size) if batch_size else table.to_batches()
        return with_progress(pa.RecordBatchReader.from_batches(table.schema, batches), desc=self.label)

    def to_arrow(self) -> Any:
        """The projected, filtered rows as one pyarrow Table."""
        return self._rows()

    def explain(self) -> str:
        """What is read and how: the table, the projection and the filter (evaluated by pyarrow.compute)."""
        full = self._full()
        projection = ", ".join(self._projection())
        return (
            f"{self.label} source: in-memory Arrow table, {full.num_rows} rows x {full.num_columns} columns\n"
            f"Projection: {projection}\n"
            f"Filters: {filtering.describe(self._expr)} (pyarrow.compute, before projection)"
        )
