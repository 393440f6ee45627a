"""The `local` executor: the pipeline streamed through this process (see `engine.execution`)."""

from __future__ import annotations

from typing import Any

from engine.errors import OptionError
from engine.spool import PARTITION_ROWS

BATCH_SIZE = 65_536


class LocalExecutor:
    """Runs in this process: `batch_size` rows per batch, temporary files under `spool` (the system's
    temporary folder when None), a solver's spooled columns in partitions of `partition_rows`."""

    def __init__(self, batch_size: int = BATCH_SIZE, spool: str | None = None,
                 partition_rows: int = PARTITION_ROWS) -> None:
        for name, value in (("batch_size", batch_size), ("partition_rows", partition_rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"{name} must be a whole number of rows of at least 1, got {value!r:.40}")
        self.batch_size = batch_size
        self.spool = spool
        self.partition_rows = partition_rows

    def run(self, pipeline: Any, data: Any = None, *, collect: int | None = None) -> Any:
        """Fit what must fit, stream every row, and return the `RunResult`."""
        from engine.execution import execute

        return execute(pipeline, data, collect=collect, settings=self)

    def fit(self, pipeline: Any, data: Any = None) -> Any:
        """Run the source and the steps up to the last fitting one; return what they learnt."""
        from engine.execution import execute

        return execute(pipeline, data, fit_only=True, settings=self)
