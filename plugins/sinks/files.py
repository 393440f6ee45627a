"""The `parquet` and `csv` sinks: stream record batches into a temporary file beside the target,
then rename it into place, so a failure midway leaves no partial file; the target is checked when
the sink is built."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from engine.atomic import atomic_path
from engine.errors import DataError
from engine.kinds.sink import RowCounter, Written, record_batches, select_columns
from engine.kinds.source import with_progress
from plugins.sinks.targets import check_file_target


class FileSink:
    """Shared by the file sinks: the target check, the atomic write, the row count."""

    format: ClassVar[str]

    def __init__(self, path: str, if_exists: Literal["replace", "error"] = "replace",
                 columns: Sequence[str] | None = None) -> None:
        check_file_target(path, where=f"{self.format} sink")
        self.path = path
        self.if_exists = if_exists
        self.columns = columns

    def _writer(self, tmp: Path, schema: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _writer(tmp, schema)")

    def _write_batch(self, writer: Any, batch: Any) -> None:
        writer.write_batch(batch)

    def write(self, data: Any) -> Written:
        """Write `data` (a table, a RecordBatchReader or a source) to `path`, whole or not at all."""
        target = Path(os.path.expanduser(self.path))
        if self.if_exists == "error" and target.exists():
            raise DataError(f"{self.format} sink: {str(target)!r} exists; remove it or pass if_exists='replace'")
        chosen = select_columns(record_batches(data), self.columns, where=f"{self.format} sink")
        counter = RowCounter(with_progress(chosen, desc=f"writing {target.name}"))
        reader = counter.reader()
        with atomic_path(target) as tmp:
            with self._writer(tmp, reader.schema) as writer:
                for batch in reader:
                    self._write_batch(writer, batch)
        return Written(location=str(target), format=self.format, rows=counter.rows)


class ParquetSink(FileSink):
    """A Parquet file, written row group by row group with `compression` (strings and categoricals
    dictionary-encoded, numbers plainly); only `columns` when given."""

    format = "parquet"

    def __init__(
        self,
        path: str,
        if_exists: Literal["replace", "error"] = "replace",
        compression: Literal["zstd", "snappy", "gzip", "lz4", "none"] = "zstd",
        row_group_size: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(path, if_exists, columns)
        self.compression = compression
        self.row_group_size = row_group_size

    def _writer(self, tmp: Path, schema: Any) -> Any:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(tmp, schema, compression=self.compression, use_dictionary=_dictionary_columns(schema))

    def _write_batch(self, writer: Any, batch: Any) -> None:
        writer.write_batch(batch, row_group_size=self.row_group_size)


def _dictionary_columns(schema: Any) -> list[str]:
    """The columns worth dictionary-encoding: strings, binaries and categoricals. Numbers are written
    plainly; trying a dictionary on them first costs several times the write."""
    import pyarrow as pa

    kinds = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary,
             pa.types.is_dictionary)
    return [field.name for field in schema if any(kind(field.type) for kind in kinds)]


class CSVSink(FileSink):
    """A CSV file with a header row (unless `header=False`), separated by `delimiter`; only `columns` when given."""

    format = "csv"

    def __init__(
        self,
        path: str,
        if_exists: Literal["replace", "error"] = "replace",
        delimiter: str = ",",
        header: bool = True,
        columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(path, if_exists, columns)
        self.delimiter = delimiter
        self.header = header

    def _writer(self, tmp: Path, schema: Any) -> Any:
        import pyarrow.csv as csv

        options = csv.WriteOptions(include_header=self.header, delimiter=self.delimiter)
        return csv.CSVWriter(tmp, schema, write_options=options)
