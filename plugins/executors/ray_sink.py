"""A `parquet` sink written by the cluster: one file per block, `part-00000.parquet` on, in the stream's
order, into a folder staged beside the target that takes its place whole when the run commits
(`engine.atomic.atomic_folder`), or is removed on failure.

A target that exists is replaced only when it is such a folder (nothing in it but part files), or a
file, as the sink itself replaces one; any other folder is left alone and the run fails saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.atomic import atomic_folder
from engine.errors import DataError
from engine.kinds.sink import Written
from plugins.sinks.targets import part_folder

PART = "part-{:05d}.parquet"


def writes_blocks(plugin: Any) -> bool:
    """Whether the sink is the built-in `parquet` sink (the one this module can stand in for)."""
    from plugins.sinks.files import ParquetSink

    return isinstance(plugin, ParquetSink)


def write(dataset: Any, schema: Any, plugin: Any) -> Written:
    """Write every block of `dataset` (cast to `schema`) with the sink's columns and compression; the
    folder appears at the sink's path whole."""
    import ray

    from engine.kinds.sink import select_columns

    target = Path(os.path.expanduser(plugin.path))
    if target.exists() and (plugin.if_exists == "error" or (target.is_dir() and not part_folder(target))):
        raise DataError(f"parquet sink: {str(target)!r} exists and is not a folder of part files this executor "
                        "wrote; remove it or choose another path" if plugin.if_exists != "error" else
                        f"parquet sink: {str(target)!r} exists; remove it or pass if_exists='replace'")
    columns = select_columns(schema.empty_table().to_reader(), plugin.columns, where="parquet sink").schema.names
    with atomic_folder(target) as folder:
        task = ray.remote(num_cpus=0.5)(_write_block)
        refs = dataset.to_arrow_refs()
        rows = ray.get([task.remote(ref, schema, columns, str(folder / PART.format(i)), plugin.compression,
                                    plugin.row_group_size) for i, ref in enumerate(refs)])
    return Written(location=str(target), format="parquet", rows=int(sum(rows)))


def _write_block(table: Any, schema: Any, columns: list[str], path: str, compression: str,
                 row_group_size: int | None) -> int:
    import pyarrow.parquet as pq

    from plugins.executors.ray_steps import conform
    from plugins.sinks.files import _dictionary_columns

    table = conform(table, schema).select(columns)
    pq.write_table(table, path, compression=compression, row_group_size=row_group_size,
                   use_dictionary=_dictionary_columns(table.schema))
    return table.num_rows
