"""The `parquet` and `csv` sinks: stream record batches into a temporary file beside the target,
then rename it into place, so a failure midway leaves no partial file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from engine.atomic import atomic_path
from engine.errors import DataError
from engine.kinds.sink import RowCounter, Written, record_batches
from engine.kinds.source import with_progress


class FileSink:
    """Shared by the file sinks: the target check, the atomic write, the row count."""

    format: ClassVar[str]

    def __init__(self, path: str, if_exists: Literal["replace", "error"] = "replace") -> None:
        self.path = path
        self.if_exists = if_exists

    def _writer(self, tmp: Path, schema: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _writer(tmp, schema)")

    def _write_batch(self, writer: Any, batch: Any) -> None:
        writer.write_batch(batch)

    def write(self, data: Any) -> Written:
        """Write `data` (a table, a RecordBatchReader or a source) to `path`, whole or not at all."""
        target = Path(os.path.expanduser(self.path))
        if self.if_exists == "error" and target.exists():
            raise DataError(f"{self.format} sink: {str(target)!r} exists; remove it or pass if_exists='replace'")
        counter = RowCounter(with_progress(record_batches(data), desc=f"writing {target.name}"))
        reader = counter.reader()
        with atomic_path(target) as tmp:
            with self._writer(tmp, reader.schema) as writer:
                for batch in reader:
                    self._write_batch(writer, batch)
        return Written(location=str(target), format=self.format, rows=counter.rows)


class ParquetSink(FileSink):
    """A Parquet file, written row group by row group with `compression`."""

    format = "parquet"

    def __init__(
        self,
        path: str,
        if_exists: Literal["replace", "error"] = "replace",
        compression: Literal["zstd", "snappy", "gzip", "lz4", "none"] = "zstd",
        row_group_size: int | None = None,
    ) -> None:
        super().__init__(path, if_exists)
        self.compression = compression
        self.row_group_size = row_group_size

    def _writer(self, tmp: Path, schema: Any) -> Any:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(tmp, schema, compression=self.compression)

    def _write_batch(self, writer: Any, batch: Any) -> None:
        writer.write_batch(batch, row_group_size=self.row_group_size)


class CSVSink(FileSink):
    """A CSV file with a header row (unless `header=False`), separated by `delimiter`."""

    format = "csv"

    def __init__(
        self,
        path: str,
        if_exists: Literal["replace", "error"] = "replace",
        delimiter: str = ",",
        header: bool = True,
    ) -> None:
        super().__init__(path, if_exists)
        self.delimiter = delimiter
        self.header = header

    def _writer(self, tmp: Path, schema: Any) -> Any:
        import pyarrow.csv as csv

        options = csv.WriteOptions(include_header=self.header, delimiter=self.delimiter)
        return csv.CSVWriter(tmp, schema, write_options=options)
