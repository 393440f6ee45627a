"""Where a Ray run's rows come from and go: a `duckdb` source over local Parquet becomes a Ray dataset
streamed by read tasks over its row groups, and a source that says its parts (the "parts" capability:
a `duckdb` source's other files, a third party's partitions) one read task per part (`ray_read`: the
same rows, projection and filter, in the source's order); a table in memory is split into blocks;
any other source is read here, on the driver, batch by batch into the object store. Every block is
numbered in the stream's order and holds whole batches. The rows come back to the driver, in order
and batch by batch, through a `DatasetStage` (which joins a solver's plan onto them when the solver
was the last step on the cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from engine.kinds.source import parts_of
from engine.stages import SourceStage, Stage, TableStage


READ_CPUS = 0.5
"""The CPU a read (or join) task asks for when no row-wise pool follows it."""

GROUP_SPLITS = 8
"""The read tasks one row group is cut in at most, so that a few large groups still feed every actor
(a task that starts inside a group decodes the group's rows before its own)."""

DEFAULT_BATCH = 65_536
"""Rows per batch read from Parquet when the run sets no batch size."""

ACTOR_SHARE = 0.5
"""The share of the cluster's CPUs a row-wise actor pool asks for in all (at most one per actor): Ray
Data starves the tasks around a pool that holds every CPU (reads that do not run inside it, joins)."""


def row_groups(plugin: Any, names: list[str], parts: list[dict[str, Any]] | None
               ) -> list[tuple[str, int, int]] | None:
    """The row groups (path, number, rows) of the local Parquet files a `duckdb` source reads, in the order
    it reads them (its `parts`, one file each, as DuckDB's own glob lists them), when Ray can read them
    as the source does: every file holds every column the source gives (`names`: no hive columns from
    the folders' names), no S3, no SQL or table; else None."""
    import pyarrow.parquet as pq

    from plugins.sources.duckdb_source import DuckDBSource

    if not isinstance(plugin, DuckDBSource) or plugin.hive_partitioning or not parts:
        return None
    files = [part["path"] for part in parts]
    if any("://" in f or not (plugin.format == "parquet" or f.endswith(".parquet")) for f in files):
        return None
    groups = []
    for path in files:
        metadata = pq.ParquetFile(path).metadata
        if not set(names) <= set(metadata.schema.to_arrow_schema().names):
            return None
        groups.extend((path, g, metadata.row_group(g).num_rows) for g in range(metadata.num_row_groups))
    return groups or None


@attrs.frozen
class Reading:
    """How a run's rows are read onto the cluster: for `actors` actors; each read task asking for
    `cpus` (a row-wise pool's own share, so that Ray Data runs the read inside its actors and the rows
    never cross the object store in between); a large row group cut in at most `splits` tasks, or in
    one task per block when None (for a decoder, whose rows cost far more to map than to decode)."""

    actors: int
    cpus: float
    splits: int | None


def dataset(stage: Stage, batch_size: int | None, reading: Reading, source: tuple[str, dict[str, Any]] | None,
            facts: dict[str, Any]) -> tuple[Any, Any]:
    """The first stage's rows as a Ray dataset of numbered blocks, and the Arrow schema the local run
    would give them; `source`, the source step's registered name and options, lets read tasks build
    the source over each of its parts (`parts()`) where they are not local Parquet. The fact
    `ray_read` says how the rows were read (`by` "row groups", "parts", "driver" or "table") and in
    how many tasks or blocks."""
    import ray
    import ray.data

    from plugins.executors import ray_read
    from plugins.executors.ray_steps import numbered

    if isinstance(stage, TableStage):
        table = stage.table
        size = (batch_size or max(table.num_rows, 1)) * block_batches(table.num_rows, batch_size, reading.actors)
        starts = range(0, max(table.num_rows, 1), size)
        facts["ray_read"] = {"by": "table", "tasks": len(starts)}
        return ray.data.from_arrow([numbered(table.slice(start, size), n) for n, start in enumerate(starts)]), \
            table.schema
    assert isinstance(stage, SourceStage)
    schema = stage.timed(stage.plugin.schema)
    batch = batch_size or DEFAULT_BATCH
    parts = parts_of(stage.plugin)
    groups = row_groups(stage.plugin, schema.names, parts)
    if groups:
        from engine import filters

        expr = filters.parse(stage.plugin.filters)
        block_rows = batch * block_batches(sum(rows for _, _, rows in groups), batch, reading.actors)
        read, tasks = ray_read.read(groups, schema.names, None if expr is None else filters.to_arrow(expr),
                                    block_rows, batch, reading)
        facts["ray_read"] = {"by": "row groups", "tasks": tasks}
        return read, schema
    if parts and source is not None:
        facts["ray_read"] = {"by": "parts", "tasks": len(parts)}
        return ray_read.read_parts(*source, parts, batch * max(1, BLOCK_ROWS // batch), batch, reading), schema
    refs = [ray.put(numbered(table, n)) for n, table in enumerate(stage.stream())]
    facts["ray_read"] = {"by": "driver", "tasks": len(refs)}
    return ray.data.from_arrow_refs(refs or [ray.put(schema.empty_table())]), schema


BLOCK_ROWS = 1 << 20
"""The rows a block holds at most, in whole batches (one batch when a batch is larger): Ray Data spends
tens of milliseconds on each block, so a block carries many batches and an actor runs its steps on
them one batch at a time, as the local stream does."""

BLOCKS_PER_ACTOR = 8
"""Blocks per actor at least, where the rows allow, so that a pool's actors share the work evenly."""


def block_batches(rows: int, batch_size: int | None, actors: int) -> int:
    """How many batches of `batch_size` rows a block holds when `rows` rows go to `actors` actors."""
    if not batch_size:
        return 1
    batches = max(1, -(-rows // batch_size))
    return max(1, min(BLOCK_ROWS // batch_size, -(-batches // (BLOCKS_PER_ACTOR * actors))))


@attrs.define(eq=False)
class DatasetStage(Stage):
    """The rows of a Ray dataset back on the driver, block by block in order, for the stages that run
    here (a sink, the rows a run keeps)."""

    dataset: Any = None
    schema: Any = None
    solved: Any = None
    """A solver's `ray_assign.Solved` whose plan is joined onto the rows here, in order (else None)."""

    def _batches(self) -> Iterator[Any]:
        from plugins.executors.ray_steps import batches, conform

        empty, offset = True, 0
        for block in self.dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=2):
            for table in batches(block, self.context.batch_size):
                empty = False
                if self.solved is not None:
                    table, offset = self.solved.join(table, offset), offset + table.num_rows
                yield conform(table, self.schema)
        if empty:
            yield self.schema.empty_table()

    @property
    def replayable(self) -> bool:
        return False
