"""Where a Ray run's rows come from and go: a `duckdb` source over local Parquet files becomes a Ray
dataset read in parallel, one task per row group (the same files, projection and filter, in the
files' order: `ray.data.read_parquet` splits a large file into blocks out of order); a table in memory
is split into blocks; any other source is read here, on the driver, batch by batch into the object
store. The rows come back to the driver, in order, through a `DatasetStage`."""

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
        found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not found or not all(os.path.isfile(f) for f in found):
            return None
        files.extend(found)
    return files


def dataset(stage: Stage, batch_size: int | None) -> tuple[Any, Any]:
    """The first stage's rows as a Ray dataset, and the Arrow schema the local run would give them."""
    import ray
    import ray.data

    if isinstance(stage, TableStage):
        table = stage.table
        size = batch_size or max(table.num_rows, 1)
        parts = [table.slice(start, size) for start in range(0, max(table.num_rows, 1), size)]
        return ray.data.from_arrow(parts), table.schema
    assert isinstance(stage, SourceStage)
    schema = stage.timed(stage.plugin.schema)
    files = parquet_files(stage.plugin)
    if files is not None:
        from engine import filters

        import pyarrow.parquet as pq

        expr = filters.parse(stage.plugin.filters)
        where = None if expr is None else filters.to_arrow(expr)
        read = ray.remote(num_cpus=READ_CPUS)(_read_row_group)
        refs = []
        for path in files:
            metadata = pq.ParquetFile(path).metadata
            for group in range(metadata.num_row_groups):
                pieces = max(1, -(-metadata.row_group(group).num_rows // (batch_size or DEFAULT_BLOCK)))
                got = read.options(num_returns=pieces).remote(path, group, schema.names, where, pieces)
                refs.extend(got if pieces > 1 else [got])
        if refs:
            return ray.data.from_arrow_refs(refs), schema
    refs = [ray.put(table) for table in stage.stream()]
    return ray.data.from_arrow_refs(refs or [ray.put(schema.empty_table())]), schema


def _read_row_group(path: str, group: int, columns: list[str], where: Any, pieces: int) -> Any:
    """One row group of a Parquet file, projected and filtered, in `pieces` blocks of about a batch each
    (a read task: every actor downstream gets blocks even from a file of one row group)."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read_row_group(group, columns=columns)
    table = table if where is None else table.filter(where)
    if pieces == 1:
        return table
    size = -(-table.num_rows // pieces)
    return tuple(table.slice(j * size, size) for j in range(pieces))


@attrs.define(eq=False)
class DatasetStage(Stage):
    """The rows of a Ray dataset back on the driver, block by block in order, for the stages that run
    here (a sink, the rows a run keeps)."""

    dataset: Any = None
    schema: Any = None

    def _batches(self) -> Iterator[Any]:
        from plugins.executors.ray_steps import conform

        empty = True
        for table in self.dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=2):
            empty = False
            yield conform(table, self.schema)
        if empty:
            yield self.schema.empty_table()

    @property
    def replayable(self) -> bool:
        return False
