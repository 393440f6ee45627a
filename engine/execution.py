"""Running a pipeline in this process as a stream of Arrow batches, fitting first where it must.

The plan comes from the steps' shapes (`engine.kinds.SHAPES`):
1. Steps that must fit (an encoder or cate step whose plugin is not loaded from state) fit in order
   on the training data: the whole input, read once into memory (as a run without streaming would),
   or a seeded `fit_sample` pushed down to the source where it can take it; each fitted step's
   output feeds the next one's fit. An encoder step with `fit = "stream"` counts its levels over
   the whole stream instead of the sample.
2. Then every row streams from the source (or from the training table when that is the whole
   input) through the stages: row-wise steps batch by batch, a solver in two passes (the second
   from a spool of the columns later steps need where it can tell), sinks writing as the batches
   come. The run keeps its final rows, or past `collect` rows a seeded sample.
3. What the sinks wrote takes its place only when every step has succeeded, all together
   (`engine.commit`); a caller that writes more (the report) opens the commit around the run.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from engine import commit, progress
from engine.errors import ConfigError
from engine.events import PipelineFinished, PipelineStarted, StepFinished, StepStarted
from engine.flow import Flow
from engine.kinds import KINDS
from engine.names import normalize
from engine.sampling import Reservoir, sample_stream
from engine.stages import MapStage, RunContext, SinkStage, SolveStage, SourceStage, Stage, TableStage, kind_module
from engine.spool import SpoolFolder

STAGES = {"source": SourceStage, "row-wise": MapStage, "global": SolveStage, "sink": SinkStage}


@attrs.frozen
class Fitted:
    """What the fitting steps learnt: per fitted step its plugin and the params its fit resolved (what
    scoring later needs, e.g. the exact feature columns), the columns and Arrow types of the input they
    read, the training rows, and the id of the run that fitted them."""

    steps: tuple[tuple[Any, Any, dict[str, Any]], ...]
    input_schema: Any
    training: Any
    run_id: str = ""

    @property
    def training_rows(self) -> int:
        return int(self.training.num_rows)


class Run:
    """One execution of a pipeline: its stages (one per step, in order), the fitting and the stream."""

    def __init__(self, pipeline: Any, data: Any, settings: Any) -> None:
        self.pipeline = pipeline
        self.run_id = uuid.uuid4().hex[:12]
        self.context = RunContext(batch_size=settings.batch_size, spool=SpoolFolder(settings.spool),
                                  partition_rows=settings.partition_rows)
        self.data = data
        self.stages: list[Stage] = []
        self.fits: dict[int, Any] = {}
        self.learnt: dict[int, dict[str, Any]] = {}

    def build(self) -> None:
        """Every step's plugin, built (or loaded from its state or the bundle) and wrapped in its stage."""
        upstream: Stage | None = None
        if self.data is not None:
            upstream = TableStage(self.context, table=self.data, index=-1, label="the input table")
        for index, step in enumerate(self.pipeline.steps):
            spec = KINDS[normalize(step.kind)]
            stage = STAGES[spec.shape](self.context, upstream, index, self.pipeline.where(index))
            self.stages.append(stage)
            plugin, params, loaded = stage.timed(lambda s=step: self.pipeline.plugin_for(s))
            stage.plugin, stage.params = plugin, params
            if isinstance(stage, MapStage):
                stage.kind = spec.name
                mode = spec.fits and not loaded and kind_module(spec.name).wants_fit(params)
                if mode:
                    self.fits[index] = mode
            upstream = stage
        self._check_input()

    def _check_input(self) -> None:
        """The columns a model bundle was fitted on must be in the input, with the same types."""
        bundle = self.pipeline.bundle
        if bundle is None or not any(step.id in bundle.plugins for step in self.pipeline.steps):
            return
        if self.data is not None:
            bundle.check_input(self.data.schema, where="the input table")
        else:
            bundle.check_input(self.stages[0].plugin.schema(), where=self.stages[0].label)

    def _training(self) -> tuple[Any, bool]:
        """The rows to fit on, and whether they are a sample (else the whole input)."""
        if self.data is not None:
            return self.data, False
        first = self.stages[0]
        size, seed = self.pipeline.fit_sample, self.pipeline.seed
        if size is None:
            return first.timed(lambda: first.plugin.to_arrow()), False
        pushed = getattr(first.plugin, "sample", None)
        if pushed is not None:
            return first.timed(lambda: pushed(size, seed)), True
        return sample_stream(first.stream(), size, seed), True

    def fit(self, *, describe: bool = False) -> Fitted:
        """Fit every step that must, in order, on the training data (see the module docstring).

        Read whole, the training data also becomes the stream's start, so the input is read once.
        With `describe`, the last fitted step also runs on it, to tell which input columns it reads.
        """
        training, sampled = self._training()
        if not sampled and self.data is None:
            source = self.stages[0]
            whole = TableStage(self.context, None, 0, source.label, source.plugin, table=training,
                               inclusive=source.inclusive, seconds=source.seconds)
            self.stages[0] = whole
            if len(self.stages) > 1:
                self.stages[1].upstream = whole
        last = max(self.fits, default=-1)
        table, seen = training, []
        for stage in self.stages[0 if self.data is not None else 1:last + 1]:
            if not isinstance(stage, MapStage):
                raise ConfigError(f"{stage.label} comes before a step that fits; only row-wise steps can run "
                                  "on the fitting data: move the fitting steps before it")
            kind = kind_module(stage.kind)
            mode = self.fits.get(stage.index, False)
            if mode == "stream" and sampled:
                self.learnt[stage.index] = stage.timed(lambda s=stage: kind.fit(s.plugin, s.upstream.stream(), **s.params))
            elif mode:
                self.learnt[stage.index] = stage.timed(lambda s=stage, t=table: kind.fit(s.plugin, t, **s.params))
            stage.params.update(self.learnt.get(stage.index, {}))
            if stage.index < last or describe:
                before = table.column_names
                table = stage.timed(lambda s=stage, t=table: s.mapper()(t))
                seen.append((stage.params.get("features"), before, table.column_names))
        steps = tuple((self.pipeline.steps[i], self.stages[i].plugin, self.learnt[i]) for i in self.fits)
        return Fitted(steps, _input_schema(training.schema, seen), training, self.run_id)

    def _prune(self, collect: int | None) -> None:
        """Tell each solver stage which columns the steps after it need, when they are only sinks that
        name their columns and the run keeps no rows: the solver then spools just those for its second
        pass instead of streaming its upstream again."""
        for i, stage in enumerate(self.stages):
            after = self.stages[i + 1:]
            if not isinstance(stage, SolveStage) or collect != 0 or not after:
                continue
            wanted = [getattr(s.plugin, "columns", None) for s in after]
            if all(isinstance(s, SinkStage) for s in after) and all(isinstance(w, (list, tuple)) for w in wanted):
                stage.onward = tuple(dict.fromkeys(c for w in wanted for c in w))

    def tail(self) -> Stage:
        """The stage whose stream is the run's output: the last one here; an executor that runs the first
        stages elsewhere returns the stage that reads what they give."""
        return self.stages[-1]

    def stream(self, collect: int | None, seed: int) -> Any:
        """Stream every row through the stages; the final rows (or their sample) as one table. On a
        terminal a bar counts the rows that came through."""
        self._prune(collect)
        keeper = Reservoir(collect, seed)
        last = self.tail()
        with progress.bar(None, desc=self.pipeline.name, unit="rows") as bar:
            def keep(table: Any) -> None:
                keeper.add(table)
                bar.update(table.num_rows)

            if isinstance(last, SinkStage):
                last.tap = keep
                for _ in last.stream():
                    pass
            else:
                for table in last.stream():
                    keep(table)
        if keeper.sampled:
            self.context.facts["sample"] = {"rows": keeper.rows, "kept": collect, "seed": seed}
        return keeper.table()

    def finished(self, ran: int, error: BaseException | None) -> list[StepFinished]:
        """A finished event per step: "ok" for those that ran, "failed" for the one that raised,
        "stopped" for the others of a failed run, "skipped" for those a fit-only run does not need."""
        out = []
        for index, step in enumerate(self.pipeline.steps):
            stage = self.stages[index] if index < len(self.stages) else None
            failed = error is not None and getattr(error, "step", None) == index
            status = ("failed" if failed else "stopped" if error is not None
                      else "ok" if index < ran else "skipped")
            seconds, rows_in, rows_out = 0.0, None, None
            if stage is not None:
                seconds = stage.seconds
                rows_in = stage.upstream.rows if stage.upstream is not None else None
                rows_out = stage.written_rows if isinstance(stage, SinkStage) else stage.rows
            out.append(StepFinished(self.run_id, index + 1, step.id, normalize(step.kind), step.plugin_label,
                                    seconds, rows_in, rows_out, status, str(error) if failed else None))
        return out


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """While the rows stream, BLAS runs one thread: the source reads ahead on a thread of its own, and
    BLAS threads spinning against it and the steps cost more than they give (the `dml` effect step
    took 3 times as long with two on two cores). Fitting is not affected. A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _input_schema(schema: Any, seen: Sequence[tuple[Any, list[str], list[str]]]) -> Any:
    """The input columns the fitted steps read, with their types. Walking back from the last step:
    what a step reads is its features, plus what it consumed (an encoder's encoded columns), less
    what an earlier step made."""
    import pyarrow as pa

    needed: set[str] = set()
    for features, before, after in reversed(seen):
        made, consumed = set(after) - set(before), set(before) - set(after)
        needed = (needed - made) | consumed | set(features or ())
    return pa.schema([field for field in schema if field.name in needed])


def _ended(hook: Any, steps: Any, finished: PipelineFinished, error: BaseException | None) -> None:
    """Send the steps' and the run's end events. An observer that fails here in strict mode stops a run
    that went well; a run that failed keeps its own error, the observer's failure noted on it."""
    try:
        for event in steps:
            hook.step_end(event=event)
        hook.pipeline_end(event=finished)
    except Exception as exc:
        if error is None:
            raise
        error.add_note(f"as the run ended, {exc}")


def execute(pipeline: Any, data: Any, *, settings: Any, collect: int | None = None, fit_only: bool = False,
            runner: type[Run] = Run) -> Any:
    """Run `pipeline` (see the module docstring) and return its `RunResult`; with `fit_only`, stop after
    fitting (running the source and the steps up to the last fitting one) and return `Fitted`.
    `settings` (the `local` executor) give the batch size, the spool folder and the partition size;
    `runner` is the `Run` (an executor's subclass of it) that fits and streams."""
    from engine.pipeline import PluginRun, RunResult

    run = runner(pipeline, data, settings)
    hook = pipeline.registry.events
    started = time.perf_counter()
    hook.pipeline_start(event=PipelineStarted(run.run_id, pipeline.name, tuple(s.id for s in pipeline.steps),
                                              time.time(), progress.quiet()))
    for index, step in enumerate(pipeline.steps):
        hook.step_start(event=StepStarted(run.run_id, index + 1, step.id, normalize(step.kind), step.plugin_label, None,
                                          dict(step.options), dict(step.params)))
    error: BaseException | None = None
    ran = 0
    try:
        with commit.outputs():
            run.build()
            if fit_only:
                fitted = run.fit(describe=True)
                ran = max(run.fits, default=0) + 1
            else:
                if run.fits:
                    run.fit()
                with one_blas_thread():
                    table = run.stream(collect, pipeline.seed)
                ran = len(pipeline.steps)
    except BaseException as exc:
        error = exc
        raise
    finally:
        run.context.spool.close()
        events = run.finished(ran, error)
        _ended(hook, events, PipelineFinished(run.run_id, pipeline.name, time.perf_counter() - started,
                                              "failed" if error else "ok", str(error) if error else None), error)
    if fit_only:
        return fitted
    records = tuple(
        PluginRun(event.step, event.kind, *pipeline.provenance(step, stage.plugin), event.seconds,
                  event.rows_in, event.rows_out)
        for event, step, stage in zip(events, pipeline.steps, run.stages)
    )
    plugins = {r.step: {"kind": r.kind, "name": r.name, "distribution": r.distribution, "version": r.version}
               for r in records}
    return RunResult(run.run_id, Flow(table=table, facts=run.context.facts), records,
                     time.perf_counter() - started, plugins)
