"""A source read by Ray Data as a stream, through one datasource whose read tasks give numbered blocks
of many batches: a `duckdb` source's local Parquet files in ranges of whole batches (cut where the
local stream cuts them, `read`), and any source that says its parts (a `duckdb` source's other files:
hive folders, S3, CSV, JSON; a third party's partitions) a task per part, each building the source
over its one part (`read_parts`). Reading overlaps the steps after it, and the input never sits in
the object store whole: a read task that asks for a row-wise pool's resources runs inside its actors
(Ray Data fuses the two).

`ray.data.read_parquet` is not used: it splits a large file into blocks out of order, and a
decoder's output depends on which prompts share its batch.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

READ_BATCH = 65_536
"""Rows decoded at a time when a task reads part of a row group."""

Group = tuple[str, int, int]
"""A row group: the file's path, the group's number in it, its rows."""

Piece = tuple[str, int, int, int]
"""Rows lo:hi of row group `group` of the file at `path`."""


def read(groups: Sequence[Group], columns: list[str], where: Any, block_rows: int, batch: int,
         reading: Any) -> tuple[Any, int]:
    """The row groups as a Ray dataset of numbered blocks of at most `block_rows` rows (whole batches of
    `batch` rows), read as `reading` (a `ray_io.Reading`) says, in tasks of whole batches. With a filter
    (`where`, an Arrow expression) each task filters its rows, so the batches cannot end where the
    local stream's do. Also the number of read tasks."""
    import ray.data

    tasks = _tasks(groups, block_rows, batch, reading.splits)
    reads = [functools.partial(_read, task, columns, where, block_rows, n) for n, task in enumerate(tasks)]
    rows = [None if where is not None else sum(hi - lo for _, _, lo, hi in task) for task in tasks]
    return ray.data.read_datasource(NumberedRead(reads, rows), override_num_blocks=len(reads),
                                    num_cpus=reading.cpus), len(reads)


def _tasks(groups: Sequence[Group], block_rows: int, batch: int, splits: int | None) -> list[list[Piece]]:
    """The row groups end to end as read tasks of whole batches, each holding at least half a block's
    rows (the last one excepted). A task starts at the first batch boundary at or after a row group's
    start (so it decodes less than a batch it does not keep), or inside a large group, cut in at most
    `splits` tasks (a task per block when None): a task that starts inside a group decodes the group's
    rows before its own."""
    cuts, start = [0], 0
    for _, _, rows in groups:
        step = block_rows if splits is None else max(block_rows, -(-rows // (splits * batch)) * batch)
        cut = -(-start // batch) * batch
        while cut < start + rows:
            if 2 * (cut - cuts[-1]) >= block_rows:
                cuts.append(cut)
            cut += step
        start += rows
    starts = list(itertools.accumulate((rows for _, _, rows in groups), initial=0))
    return [[(path, group, max(lo - first, 0), min(hi - first, rows))
             for (path, group, rows), first in zip(groups, starts) if first < hi and first + rows > lo]
            for lo, hi in zip(cuts, [*cuts[1:], start])]


def _read(pieces: list[Piece], columns: list[str], where: Any, block_rows: int, task: int) -> Iterator[Any]:
    """One read task: its pieces' rows, projected and filtered, as blocks of `block_rows` rows numbered
    (task, block)."""
    tables = (_rows(path, group, lo, hi, columns) for path, group, lo, hi in pieces)
    return _numbered_blocks(tables if where is None else (t.filter(where) for t in tables), block_rows, task)


def _numbered_blocks(tables: Iterable[Any], block_rows: int, task: int, empty: Any = None) -> Iterator[Any]:
    """`tables` end to end, cut into blocks of `block_rows` rows (the last one shorter) numbered (task,
    block); one block at least, `empty` when no table comes."""
    import pyarrow as pa

    from plugins.executors.ray_steps import numbered

    held: list[Any] = []
    count = made = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        while count >= block_rows:
            joined = pa.concat_tables(held)
            yield numbered(joined.slice(0, block_rows), task, made)
            held, count, made = [joined.slice(block_rows)], count - block_rows, made + 1
    if count or not made:
        yield numbered(pa.concat_tables(held) if held else empty, task, made)


def _rows(path: str, group: int, lo: int, hi: int, columns: list[str]) -> Any:
    """Rows lo:hi of a row group, decoded no further than `hi`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    if lo == 0 and hi == file.metadata.row_group(group).num_rows:
        return file.read_row_group(group, columns=columns)
    parts, read = [], 0
    for part in file.iter_batches(batch_size=min(hi, READ_BATCH), row_groups=[group], columns=columns):
        parts.append(part)
        read += part.num_rows
        if read >= hi:
            break
    return pa.Table.from_batches(parts).slice(lo, hi - lo)


def read_parts(name: str, options: dict[str, Any], parts: Sequence[dict[str, Any]], block_rows: int, batch: int,
               reading: Any) -> Any:
    """A source split into `parts` (`parts()`: option sets laid over its own) as a Ray dataset: a read task
    per part, in the source's order, each building the source (its registered `name`, `options` and
    the part's) and giving its rows, projected and filtered as the source does, in numbered blocks of
    at most `block_rows` rows. The batches start at each part's start, so they cannot end where the
    local stream's do."""
    import ray.data

    reads = [functools.partial(_read_part, name, {**options, **part}, block_rows, batch, n)
             for n, part in enumerate(parts)]
    return ray.data.read_datasource(NumberedRead(reads, [None] * len(reads)), override_num_blocks=len(reads),
                                    num_cpus=reading.cpus)


def _read_part(name: str, options: dict[str, Any], block_rows: int, batch: int, task: int) -> Iterator[Any]:
    """One part's read task: the source built over it, its batches gathered in numbered blocks."""
    import pyarrow as pa

    from engine.registry import default_registry

    reader = default_registry().build("source", name, **options).scan(batch)
    return _numbered_blocks((pa.Table.from_batches([part]) for part in reader), block_rows, task,
                            reader.schema.empty_table())


class NumberedRead(Datasource):
    """The read tasks as a Ray Data datasource (`rows`: each task's rows, None where a filter leaves them
    unknown)."""

    def __init__(self, reads: Sequence[Callable[[], Iterator[Any]]], rows: Sequence[int | None]) -> None:
        super().__init__()
        self.reads = list(reads)
        self.rows = list(rows)

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, **_: Any) -> list[ReadTask]:
        """One task per range, whatever `parallelism` Ray Data asks for: the ranges are the stream's."""
        return [ReadTask(read, _metadata(rows)) for read, rows in zip(self.reads, self.rows)]


def _metadata(rows: int | None) -> BlockMetadata:
    """A read task's metadata, as this version of Ray Data spells it (older ones also want a schema)."""
    fields = {f.name for f in dataclasses.fields(BlockMetadata)}
    extra = {"schema": None} if "schema" in fields else {}
    return BlockMetadata(num_rows=rows, size_bytes=None, input_files=None, exec_stats=None, **extra)
