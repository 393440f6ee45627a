"""Temporary storage a streamed run needs: a global step's columns in partitions, and a stream that
cannot be read twice. Everything lives in one folder the run creates and removes itself."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PARTITION_ROWS = 2_000_000
"""Rows per spooled partition: large enough that per-partition work is vectorised, small enough
that a partition's arrays stay a few hundred MB."""

MARKER = ".hookyard-spool"
"""The file that marks a folder as the engine's own spool (the only kind of folder it removes)."""


class SpoolFolder:
    """A fresh folder under `parent` (the system's temporary folder when None), removed by `close()`."""

    def __init__(self, parent: str | None = None) -> None:
        self._parent = parent
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="hookyard-spool-", dir=self._parent))
            (self._path / MARKER).touch()
        return self._path

    def close(self) -> None:
        """Remove the folder, if one was made (and it still carries the marker)."""
        if self._path is not None and (self._path / MARKER).is_file():
            shutil.rmtree(self._path, ignore_errors=True)
        self._path = None


class ArraySpool:
    """Rows of `width` arrays (each may be None throughout) gathered batch by batch into partitions of
    at most `partition_rows`; full partitions are written as .npy files (never pickled) and loaded on
    demand, the last one stays in memory."""

    def __init__(self, folder: SpoolFolder, name: str, width: int, partition_rows: int = PARTITION_ROWS) -> None:
        self._folder = folder
        self._name = name
        self._width = width
        self._limit = partition_rows
        self._pending: list[tuple[Any, ...]] = []
        self._pending_rows = 0
        self._parts: list[Callable[[], tuple[Any, ...]]] = []
        self.sizes: list[int] = []

    def add(self, *arrays: Any) -> None:
        """Append one batch's rows (every array has the same number of rows; None stays None)."""
        rows = len(arrays[0])
        start = 0
        while start < rows:
            take = min(rows - start, self._limit - self._pending_rows)
            self._pending.append(tuple(None if a is None else a[start:start + take] for a in arrays))
            self._pending_rows += take
            start += take
            if self._pending_rows == self._limit:
                self._flush(to_disk=True)

    def parts(self) -> tuple[list[Callable[[], tuple[Any, ...]]], list[int]]:
        """A loader per partition (it returns the partition's arrays) and the partitions' sizes."""
        if self._pending_rows or not self._parts:
            self._flush(to_disk=False)
        return list(self._parts), list(self.sizes)

    def _flush(self, *, to_disk: bool) -> None:
        import numpy as np

        arrays = tuple(
            None if self._pending and self._pending[0][j] is None
            else np.concatenate([block[j] for block in self._pending]) if self._pending else np.empty((0, 0))
            for j in range(self._width)
        )
        self.sizes.append(self._pending_rows)
        self._pending, self._pending_rows = [], 0
        if not to_disk:
            self._parts.append(lambda: arrays)
            return
        paths = []
        for j, array in enumerate(arrays):
            path = None
            if array is not None:
                path = self._folder.path / f"{self._name}-{len(self._parts)}-{j}.npy"
                np.save(path, array, allow_pickle=False)
            paths.append(path)
        self._parts.append(_loader(tuple(paths)))


def _loader(paths: tuple[Path | None, ...]) -> Callable[[], tuple[Any, ...]]:
    def load() -> tuple[Any, ...]:
        import numpy as np

        return tuple(None if p is None else np.load(p, allow_pickle=False) for p in paths)

    return load


class TableSpool:
    """A stream written to a temporary Parquet file and read back in batches; neither compressed nor
    dictionary-encoded, which would cost more time than the disk it saves."""

    def __init__(self, folder: SpoolFolder, name: str) -> None:
        self._folder = folder
        self._name = name
        self._writer: Any = None
        self._path: Path | None = None
        self._schema: Any = None

    def add(self, table: Any) -> None:
        """Append one batch."""
        import pyarrow.parquet as pq

        if self._writer is None:
            self._path = self._folder.path / f"{self._name}.parquet"
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self._path, table.schema, compression="none", use_dictionary=False)
        self._writer.write_table(table)

    def replay(self) -> Iterator[Any]:
        """The batches written, in order, as tables."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._path is None:
            return
        handle = pq.ParquetFile(self._path)
        for batch in handle.iter_batches():
            yield pa.Table.from_batches([batch]).replace_schema_metadata(self._schema.metadata)
