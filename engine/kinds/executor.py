"""The executor contract: what runs a whole pipeline, in this process or on a cluster.

An executor gets a validated `Pipeline` and runs it: the fitting steps fit first (on the whole
input, or the pipeline's `fit_sample`), then every row streams through the steps by their shapes
(`engine.kinds.SHAPES`): row-wise steps batch by batch, global steps (a solver) on the columns they
need, sinks writing as the rows come. `engine.execution` is the in-process implementation (the
built-in `local` executor) and the reference every other executor must agree with;
`engine.testing.ExecutorContract` checks that one does.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """`run` a pipeline to its `RunResult` (at most `collect` final rows kept, a seeded sample past
    that); `fit` runs only what fitting needs and returns `engine.execution.Fitted`."""

    def run(self, pipeline: Any, data: Any = None, *, collect: int | None = None) -> Any: ...

    def fit(self, pipeline: Any, data: Any = None) -> Any: ...


protocol = Executor


def run_step(*_: Any, **__: Any) -> Any:
    """Executors are not steps: choose one in the pipeline's [pipeline] executor table."""
    from engine.errors import ConfigError

    raise ConfigError("an executor is not a step: choose one with [pipeline] executor = { name = \"...\" }")
