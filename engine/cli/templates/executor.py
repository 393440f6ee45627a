"""An executor that runs a pipeline in this process, its batches as small as you set them: the
place to start handing a pipeline's stages to another engine (Dask, Spark, a job queue)."""

from __future__ import annotations

from typing import Any

from engine.errors import OptionError


class ExampleExecutor:
    """Streams the pipeline here with `batch_size` rows per batch (engine.execution does the work;
    a cluster executor would send the row-wise stages out and gather their batches back)."""

    spool: str | None = None
    partition_rows: int = 2_000_000

    def __init__(self, batch_size: int = 1024) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise OptionError(f"batch_size must be a whole number of rows of at least 1, got {batch_size!r}")
        self.batch_size = batch_size

    def run(self, pipeline: Any, data: Any = None, *, collect: int | None = None) -> Any:
        """Fit what must fit, stream every row, and return the RunResult."""
        from engine.execution import execute

        return execute(pipeline, data, collect=collect, settings=self)

    def fit(self, pipeline: Any, data: Any = None) -> Any:
        """Run the source and the steps up to the last fitting one; return what they learnt."""
        from engine.execution import execute

        return execute(pipeline, data, fit_only=True, settings=self)
