"""The `ray` executor: the pipeline's stream on a Ray cluster through Ray Data (see `ray_run`), with the
same events, facts and result as the `local` executor gives."""

from __future__ import annotations

from typing import Any

from engine.errors import OptionError
from engine.spool import PARTITION_ROWS
from plugins.executors.local import BATCH_SIZE
from plugins.executors.ray_cluster import require_ray


class RayExecutor:
    """Runs on Ray: the cluster at `address` ("auto", "host:port", "ray://..."), else at RAY_ADDRESS, else
    a new local one with `num_cpus` CPUs; `batch_size` rows per batch; `concurrency` actors per
    row-wise chain and for the partitioned `mckp` (the cluster's CPUs when None); `num_gpus` for each
    decoder actor; a solver's blocks grouped in partitions of `partition_rows`; the driver's temporary
    files under `spool`. With `sink_blocks`, a last `parquet` sink of a run that keeps no rows is written by the
    cluster as a folder at its path, one file per block (else the driver writes the sink's one file).
    Fitting runs on the driver, as the local executor does it (once, on the training data); the
    independent tasks a fit maps (`engine.tasks`: `dml`'s cross-fitting folds) run as Ray tasks.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, batch_size: int = BATCH_SIZE,
                 concurrency: int | None = None, num_gpus: float = 0, spool: str | None = None,
                 partition_rows: int = PARTITION_ROWS, sink_blocks: bool = False) -> None:
        for name, value, least in (("batch_size", batch_size, 1), ("partition_rows", partition_rows, 1),
                                   ("num_cpus", num_cpus, 1), ("concurrency", concurrency, 1)):
            if value is None and name in ("num_cpus", "concurrency"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise OptionError(f"ray executor: {name} must be a whole number of at least {least}, got {value!r:.40}")
        if isinstance(num_gpus, bool) or not isinstance(num_gpus, (int, float)) or num_gpus < 0:
            raise OptionError(f"ray executor: num_gpus must be a number >= 0 (GPUs per decoder actor), got {num_gpus!r:.40}")
        if address is not None and not isinstance(address, str):
            raise OptionError(f"ray executor: address must be a string such as 'auto' or '127.0.0.1:6379', got {address!r:.40}")
        if not isinstance(sink_blocks, bool):
            raise OptionError(f"ray executor: sink_blocks must be true or false, got {sink_blocks!r:.40}")
        require_ray()
        self.sink_blocks = sink_blocks
        self.address = address
        self.num_cpus = num_cpus
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.num_gpus = num_gpus
        self.spool = spool
        self.partition_rows = partition_rows

    def run(self, pipeline: Any, data: Any = None, *, collect: int | None = None) -> Any:
        """Reach the cluster (a clear error before anything runs when it cannot), fit on the driver, stream
        on the cluster; return the `RunResult`."""
        from engine.execution import execute
        from engine.tasks import mapping
        from plugins.executors.ray_cluster import connected
        from plugins.executors.ray_run import RayRun
        from plugins.executors.ray_tasks import on_ray

        with connected(self.address, self.num_cpus), mapping(on_ray):
            return execute(pipeline, data, collect=collect, settings=self, runner=RayRun)

    def fit(self, pipeline: Any, data: Any = None) -> Any:
        """Fitting runs once on the training data, on the driver, as the local executor's `fit` does it;
        a step's independent tasks (`dml`'s cross-fitting folds) run as Ray tasks."""
        from engine.execution import execute
        from engine.tasks import mapping
        from plugins.executors.ray_cluster import connected
        from plugins.executors.ray_tasks import on_ray

        with connected(self.address, self.num_cpus), mapping(on_ray):
            return execute(pipeline, data, fit_only=True, settings=self)
