"""Where a Ray run's rows come from and go: a `duckdb` source over local Parquet files becomes a Ray
dataset read in parallel by tasks over row groups (the same files, projection and filter, in the
files' order, in blocks of one batch: `ray.data.read_parquet` splits a large file into blocks out of
order, and a decoder's output can depend on which prompts share its batch); a table in memory
is split into blocks; any other source is read here, on the driver, batch by batch into the object
store. The rows come back to the driver, in order, through a `DatasetStage` (which joins a solver's
plan onto them when the solver was the last step on the cluster)."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from typing import Any

import attrs

from engine.stages import SourceStage, Stage, TableStage


READ_CPUS = 0.5
"""The CPU a read (or join) task asks for."""

DEFAULT_BLOCK = 65_536
"""Rows per block read from Parquet when the run sets no batch size."""

ACTOR_SHARE = 0.5
"""The share of the cluster's CPUs a row-wise actor pool asks for in all (at most one per actor): Ray
Data starves the reads of a pool that holds every CPU, and the actors' work needs the rows they read."""


def parquet_files(plugin: Any) -> list[str] | None:
    """The local Parquet files a `duckdb` source reads, sorted as DuckDB expands a glob, when Ray can read
    them the same way (no S3, no hive columns, no SQL or table); else None."""
    from plugins.sources.duckdb_source import DuckDBSource

    if not isinstance(plugin, DuckDBSource) or plugin.path is None or plugin.hive_partitioning:
        return None
    patterns = [plugin.path] if isinstance(plugin.path, str) else list(plugin.path)
    files: list[str] = []
    for pattern in patterns:
        pattern = os.path.expanduser(pattern)
        if "://" in pattern or not (plugin.format == "parquet" or pattern.endswith(".parquet")):
            return None
        found = sorted(glob.glob(pattern, recursive=True)) if plugin.glob and glob.has_magic(pattern) else [pattern]
        if not found or not all(os.path.isfile(f) for f in found):
            return None
        files.extend(found)
    return files


def dataset(stage: Stage, batch_size: int | None) -> tuple[Any, Any]:
    """The first stage's rows as a Ray dataset, and the Arrow schema the local run would give them."""
    import ray
    import ray.data

    from plugins.executors.ray_steps import numbered

    if isinstance(stage, TableStage):
        table = stage.table
        size = batch_size or max(table.num_rows, 1)
        starts = range(0, max(table.num_rows, 1), size)
        parts = [numbered(table.slice(start, size), n) for n, start in enumerate(starts)]
        return ray.data.from_arrow(parts), table.schema
    assert isinstance(stage, SourceStage)
    schema = stage.timed(stage.plugin.schema)
    files = parquet_files(stage.plugin)
    if files is not None:
        from engine import filters

        import pyarrow.parquet as pq

        expr = filters.parse(stage.plugin.filters)
        where = None if expr is None else filters.to_arrow(expr)
        size = batch_size or DEFAULT_BLOCK
        groups = [(path, group, pq.ParquetFile(path).metadata.row_group(group).num_rows)
                  for path in files for group in range(pq.ParquetFile(path).metadata.num_row_groups)]
        refs = []
        if where is None:
            read = ray.remote(num_cpus=READ_CPUS)(_read_blocks)
            for task in _tasks(groups, size):
                got = read.options(num_returns=len(task)).remote(task, schema.names, len(refs))
                refs.extend(got if len(task) > 1 else [got])
        else:
            read = ray.remote(num_cpus=READ_CPUS)(_read_row_group)
            for path, group, rows in groups:
                pieces = max(1, -(-rows // size))
                got = read.options(num_returns=pieces).remote(path, group, schema.names, where, pieces, len(refs))
                refs.extend(got if pieces > 1 else [got])
        if refs:
            return ray.data.from_arrow_refs(refs), schema
    refs = [ray.put(numbered(table, n)) for n, table in enumerate(stage.stream())]
    return ray.data.from_arrow_refs(refs or [ray.put(schema.empty_table())]), schema


BLOCKS_PER_TASK = 16
"""Blocks one read task makes (each of one batch)."""

Span = tuple[str, int, int, int]
"""Rows lo:hi of row group `group` of the file at `path`."""


def _tasks(groups: list[tuple[str, int, int]], size: int) -> list[list[list[Span]]]:
    """The files' row groups end to end, cut into blocks of exactly `size` rows (the last one shorter),
    as the local stream batches them, and the blocks into read tasks of `BLOCKS_PER_TASK`."""
    tasks: list[list[list[Span]]] = [[]]
    block: list[Span] = []
    filled = 0
    for path, group, rows in groups:
        lo = 0
        while lo < rows:
            hi = min(rows, lo + size - filled)
            block.append((path, group, lo, hi))
            filled, lo = filled + hi - lo, hi
            if filled == size:
                if len(tasks[-1]) == BLOCKS_PER_TASK:
                    tasks.append([])
                tasks[-1].append(block)
                block, filled = [], 0
    if block:
        if len(tasks[-1]) == BLOCKS_PER_TASK:
            tasks.append([])
        tasks[-1].append(block)
    return [task for task in tasks if task]


def _read_blocks(blocks: list[list[Span]], columns: list[str], first: int) -> Any:
    """The blocks' rows, projected, each block one table numbered from `first` (a read task)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from plugins.executors.ray_steps import numbered

    held: tuple[tuple[str, int], Any] | None = None
    out = []
    for block in blocks:
        parts = []
        for path, group, lo, hi in block:
            if held is None or held[0] != (path, group):
                held = ((path, group), pq.ParquetFile(path).read_row_group(group, columns=columns))
            parts.append(held[1].slice(lo, hi - lo))
        out.append(numbered(pa.concat_tables(parts) if len(parts) > 1 else parts[0], first + len(out)))
    return out[0] if len(out) == 1 else tuple(out)


def _read_row_group(path: str, group: int, columns: list[str], where: Any, pieces: int, first: int) -> Any:
    """One row group of a Parquet file, projected and filtered, in `pieces` blocks of about a batch each,
    numbered from `first` (a read task; with a filter the blocks cannot be cut where the local stream's
    batches end)."""
    import pyarrow.parquet as pq

    from plugins.executors.ray_steps import numbered

    table = pq.ParquetFile(path).read_row_group(group, columns=columns)
    table = table if where is None else table.filter(where)
    if pieces == 1:
        return numbered(table, first)
    size = -(-table.num_rows // pieces)
    return tuple(numbered(table.slice(j * size, size), first + j) for j in range(pieces))


@attrs.define(eq=False)
class DatasetStage(Stage):
    """The rows of a Ray dataset back on the driver, block by block in order, for the stages that run
    here (a sink, the rows a run keeps)."""

    dataset: Any = None
    schema: Any = None
    solved: Any = None
    """A solver's `ray_assign.Solved` whose plan is joined onto the rows here, in order (else None)."""

    def _batches(self) -> Iterator[Any]:
        from plugins.executors.ray_steps import conform

        empty, offset = True, 0
        for table in self.dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=2):
            empty = False
            if self.solved is not None:
                table, offset = self.solved.join(table, offset), offset + table.num_rows
            yield conform(table, self.schema)
        if empty:
            yield self.schema.empty_table()

    @property
    def replayable(self) -> bool:
        return False
