"""A pipeline run whose stream goes through Ray Data: `engine.execution.Run` with the stages before the
first sink planned as one Ray dataset (source read in parallel, row-wise steps as `map_batches`, a
solver over materialised blocks, its plan joined here when the rows come back next); the rest runs
here on the rows read back in order.

Building the plugins and fitting happen here, on the driver, exactly as the local executor does them
(fitting is done once, on the experiment or a sample); only the stream is distributed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from engine.errors import StepError
from engine.execution import Run
from engine.kinds import KINDS
from engine.stages import MapStage, SinkStage, SolveStage, Stage, TableStage
from plugins.executors import ray_assign, ray_io, ray_sink, ray_steps


class RayRun(Run):
    """One run on Ray; `settings` is the `ray` executor (batch size, concurrency, GPUs, partition rows)."""

    def __init__(self, pipeline: Any, data: Any, settings: Any) -> None:
        super().__init__(pipeline, data, settings)
        self.settings = settings
        self.tally: Any = None
        self.workers: ray_assign.RayWorkers | None = None
        self.handoff: ray_io.DatasetStage | None = None
        self.collect: int | None = None

    def tail(self) -> Stage:
        """Plan the stages up to the first sink on Ray; the stage whose stream is the run's output."""
        import ray
        import ray.data

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.target_max_block_size = None  # blocks stay whole: a block split in two would share its number
        context.raise_original_map_exception = True  # a step's own error, not Ray Data's wrapping of it
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        cpus = float(ray.cluster_resources().get("CPU", 1))
        concurrency = self.settings.concurrency or max(1, int(cpus))
        actor_cpus = min(1.0, cpus * ray_io.ACTOR_SHARE / concurrency)
        batch_size = self.context.batch_size
        self.tally = ray.remote(num_cpus=0)(ray_steps.Tally).remote()
        given = self.data is not None
        start = self.stages[0].upstream if given else self.stages[0]
        i = 0 if given else 1
        first = self._chain(i)
        reading = ray_io.Reading(concurrency, actor_cpus if first else ray_io.READ_CPUS,
                                 None if _decodes(first) else ray_io.GROUP_SPLITS)
        step = None if given else self.pipeline.steps[start.index]
        source = (step.name, dict(step.options)) if step is not None and isinstance(step.name, str) else None
        dataset, schema = ray_io.dataset(start, batch_size, reading, source, self.context.facts)
        conform = schema
        pending: ray_assign.Solved | None = None
        while i < len(self.stages):
            stage = self.stages[i]
            if pending is not None and (isinstance(stage, (MapStage, SolveStage)) or self._writes_blocks(i)):
                dataset, pending = pending.joined(), None
            if isinstance(stage, MapStage):
                chain = self._chain(i)
                schema = ray_steps.probe(chain, schema, self.context.facts)
                after = self.stages[i + len(chain)] if i + len(chain) < len(self.stages) else None
                kept = _narrowed(after, schema, self.context.facts) if isinstance(after, SolveStage) else None
                recipes = [ray_steps.recipe(self.pipeline, s, KINDS[s.kind].fits) for s in chain]
                gpus = self.settings.num_gpus if _decodes(chain) else 0
                dataset = dataset.map_batches(
                    ray_steps.Chain, fn_constructor_kwargs={
                        "recipes": recipes, "tally": self.tally, "batch_size": batch_size, "schema": conform,
                        "columns": None if kept is None else kept.names},
                    batch_format="pyarrow", batch_size=None, compute=ray.data.ActorPoolStrategy(size=concurrency),
                    num_cpus=actor_cpus, **({"num_gpus": gpus} if gpus else {}))
                conform, schema, i = None, kept or schema, i + len(chain)
            elif isinstance(stage, SolveStage):
                kept = _narrowed(stage, schema, self.context.facts)
                if kept is not None and kept.names != schema.names:
                    dataset, schema = dataset.select_columns(kept.names), kept
                pending, workers = ray_assign.solved(dataset, stage, schema, self.context.facts,
                                                     self.context.partition_rows, concurrency)
                dataset = pending.blocks()
                self.workers = workers or self.workers
                schema = _with_plan(schema, stage)
                i += 1
            elif self._writes_blocks(i):
                stage.timed(lambda s=stage, d=dataset, t=schema: self._write_blocks(s, d, t))
                return TableStage(self.context, None, stage.index, stage.label, table=schema.empty_table())
            else:
                break
        before = self.stages[i - 1] if i else start
        self.handoff = ray_io.DatasetStage(self.context, None, before.index, before.label, dataset=dataset,
                                           schema=schema, solved=pending)
        if i < len(self.stages):
            self.stages[i].upstream = self.handoff
            return self.stages[-1]
        return self.handoff

    def _chain(self, i: int) -> list[MapStage]:
        """The consecutive row-wise stages from stage i on (none when stage i is not row-wise)."""
        chain: list[MapStage] = []
        while i + len(chain) < len(self.stages) and isinstance(self.stages[i + len(chain)], MapStage):
            chain.append(self.stages[i + len(chain)])
        return chain

    def _writes_blocks(self, i: int) -> bool:
        """Whether stage i is a last `parquet` sink that the cluster writes as a folder, one file per block
        (the `sink_blocks` option, and the run keeps no rows)."""
        stage = self.stages[i]
        return (self.settings.sink_blocks and isinstance(stage, SinkStage) and i == len(self.stages) - 1
                and self.collect == 0 and ray_sink.writes_blocks(stage.plugin))

    def _write_blocks(self, stage: SinkStage, dataset: Any, schema: Any) -> None:
        written = ray_sink.write(dataset, schema, stage.plugin)
        stage.rows = stage.written_rows = written.rows
        self.context.facts["written"] = (*self.context.facts.get("written", ()), written)

    def stream(self, collect: int | None, seed: int) -> Any:
        """The local run's stream over the cluster's stages; a step that failed on a worker raises its own
        error here (the one that names it), not Ray's wrapping of it."""
        self.collect = collect
        try:
            with _ray_data_log_in_file():
                return super().stream(collect, seed)
        except Exception as exc:
            raised = _raised_on_worker(exc)
            if raised is None:
                raise
            raise StepError(raised.message, step=raised.step) from None
        finally:
            self._record()

    def _record(self) -> None:
        """The time, rows and batch-by-batch facts of the stages that ran on Ray, from the tally (which
        then goes: it lives for one run)."""
        if self.tally is None:
            return
        import ray

        totals = ray.get(self.tally.totals.remote())
        ray.kill(self.tally)
        for index in sorted(totals):
            facts, seconds, rows = totals[index]
            stage = self.stages[index]
            stage.seconds += seconds
            stage.inclusive += seconds
            stage.rows = rows
            self.context.facts.update(facts)
        first = self.stages[0] if self.data is None else self.stages[0].upstream
        after = self.stages[1] if self.data is None and len(self.stages) > 1 else self.stages[0]
        if first.rows is None and self.handoff is not None:
            first.rows = self.handoff.rows if after is None or after.rows is None else after.rows
        if self.workers is not None:
            self.context.facts["ray_mckp"] = {"rounds": self.workers.rounds, "bytes_exchanged": self.workers.exchanged,
                                              "plan_bytes": self.workers.plan_bytes}


@contextlib.contextmanager
def _ray_data_log_in_file() -> Iterator[None]:
    """While the run streams, Ray Data logs to its file in the Ray session's logs folder only, not the
    terminal (its progress lines, and a failed task's traceback that the step's error already says),
    and its warning that a small input feeds fewer actors than the pool has is not shown."""
    import logging
    import warnings

    import ray.data  # noqa: F401  (Ray Data sets its handlers up as it is imported)

    consoles = [h for h in logging.getLogger("ray.data").handlers if isinstance(h, logging.StreamHandler)]
    levels = [h.level for h in consoles]
    try:
        for handler in consoles:
            handler.setLevel(logging.CRITICAL + 1)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
            yield
    finally:
        for handler, level in zip(consoles, levels):
            handler.setLevel(level)


def _raised_on_worker(exc: BaseException) -> StepError | None:
    """The `StepError` a worker raised that `exc` wraps (Ray's task errors hold it as their cause), if any."""
    from ray.exceptions import RayError

    found, seen, current = None, set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StepError) and not isinstance(current, RayError) and current is not exc:
            found = current
        current = getattr(current, "cause", None) or current.__cause__
    return found


def _decodes(chain: list[MapStage]) -> bool:
    """Whether a row-wise chain runs a decoder (a model per actor, far dearer per row than reading)."""
    return any(stage.kind == "decoder" for stage in chain)


def _narrowed(stage: SolveStage, schema: Any, facts: dict[str, Any]) -> Any:
    """`schema` with only the columns the solver and the steps after it need, when those are known
    (`onward`), else None. The row-wise actors before a solver keep only these (no copy of the others
    reaches the object store)."""
    if stage.onward is None:
        return None
    import pyarrow as pa

    costs = stage.params.get("costs")
    needed = {*stage.onward, *facts.get("effects", ())}
    if isinstance(costs, str):
        needed |= {f"{costs}{c}" for c in facts.get("effects", ())}
    return pa.schema([field for field in schema if field.name in needed], metadata=schema.metadata)


def _with_plan(schema: Any, stage: SolveStage) -> Any:
    """The schema after a solver: its input's, and the plan column."""
    import pyarrow as pa

    return schema.append(pa.field(stage.params.get("column", "assignment"), pa.int64()))
