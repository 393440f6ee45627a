"""Pipelines: ordered steps chosen by kind and name with options, validated before they run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from engine import progress
from engine.errors import HookyardError, PipelineValidationError, StepError
from engine.events import PipelineFinished, PipelineStarted, StepFinished, StepStarted
from engine.flow import Flow
from engine.kinds import KINDS, KindSpec
from engine.names import did_you_mean, normalize
from engine.options import option_problems
from engine.registry import Registry, default_registry


@attrs.define
class Step:
    """One step: a plugin of `kind` chosen by `name` (or given built), its `options`, and the
    step `params` that tell the kind's step runner what to use (columns, budget, ...)."""

    kind: str
    name: Any
    options: dict[str, Any] = attrs.field(factory=dict)
    params: dict[str, Any] = attrs.field(factory=dict)
    id: str | None = None

    @property
    def plugin_label(self) -> str:
        return self.name if isinstance(self.name, str) else type(self.name).__name__


@attrs.frozen
class PluginRun:
    """Which plugin ran a step, from which distribution and version, and how long it took."""

    step: str
    kind: str
    name: str
    distribution: str
    version: str
    seconds: float
    rows_in: int | None
    rows_out: int | None


@attrs.frozen
class RunResult:
    """What a run produced: the final flow (table and facts) and what ran."""

    run_id: str
    flow: Flow
    steps: tuple[PluginRun, ...]
    seconds: float
    plugins: dict[str, Any]

    @property
    def table(self) -> Any:
        return self.flow.table


class Pipeline:
    """Ordered steps; `validate()` reports every problem at once, `run()` emits pluggy events.

    `report` names the folder `hookyard run` writes the run report to (None: no report).
    """

    def __init__(
        self,
        steps: Iterable[Step],
        *,
        name: str = "pipeline",
        registry: Registry | None = None,
        source: str | None = None,
        locations: Sequence[int | None] | None = None,
        report: str | None = None,
    ) -> None:
        self.steps = list(steps)
        self.name = name
        self.report = report
        self.registry = registry or default_registry()
        self.source = source
        self._locations = list(locations or [None] * len(self.steps))
        for i, step in enumerate(self.steps):
            if step.id is None:
                step.id = self._default_id(i, step)

    def _default_id(self, index: int, step: Step) -> str:
        base = normalize(str(step.kind))
        earlier = [s.id for s in self.steps[:index]]
        return base if base not in earlier else f"{base}-{index + 1}"

    def step(self, step_id: str) -> Step:
        """The step with that id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"no step {step_id!r}; steps are {[s.id for s in self.steps]}")

    def _where(self, index: int) -> str:
        step = self.steps[index]
        line = self._locations[index] if index < len(self._locations) else None
        prefix = f"{self.source}:{line}: " if self.source and line else ""
        return f"{prefix}step {index + 1} '{step.id}' ({step.kind} '{step.plugin_label}')"

    def validate(self, *, with_input: bool = False) -> list[str]:
        """Every problem with the pipeline, without running anything. `with_input`: a table is given to run()."""
        problems: list[str] = []
        if not self.steps:
            return ["the pipeline has no steps"]
        available = {"table"} if with_input else set()
        ids = [s.id for s in self.steps]
        for i, step in enumerate(self.steps):
            where = self._where(i)
            if ids.count(step.id) > 1 and ids.index(step.id) == i:
                problems.append(f"{where}: step id '{step.id}' is used {ids.count(step.id)} times; give each step its own id")
            spec = KINDS.get(normalize(str(step.kind)))
            if spec is None:
                problems.append(
                    f"{where}: unknown kind '{step.kind}'.{did_you_mean(str(step.kind), KINDS)} "
                    f"Kinds are: {', '.join(KINDS)}."
                )
                continue
            problems.extend(self._plugin_problems(where, spec, step))
            problems.extend(option_problems(spec.run_step, step.params, where=where, skip=2, noun="param"))
            if not spec.consumes and i > 0:
                problems.append(f"{where}: a {spec.name} step starts a pipeline; it must be the first step")
            lacking = sorted(spec.consumes - available)
            if lacking:
                problems.append(
                    f"{where}: needs {', '.join(lacking)} from an earlier step, but "
                    f"{'nothing comes before it' if i == 0 else 'no earlier step provides it'}"
                    f"{_provider_hint(lacking)}"
                )
            available |= spec.produces
        return problems

    def _plugin_problems(self, where: str, spec: KindSpec, step: Step) -> list[str]:
        if not isinstance(step.name, str):
            if step.options:
                return [f"{where}: options are given with an already built plugin; build it with them instead"]
            if not isinstance(step.name, spec.protocol):
                return [f"{where}: a {type(step.name).__name__} is not a {spec.name} ({spec.title} contract)"]
            return []
        try:
            factory = self.registry.factory(spec.name, step.name)
        except HookyardError as exc:
            return [f"{where}: {exc}"]
        return option_problems(factory, step.options, where=where)

    def check(self, *, with_input: bool = False) -> None:
        """Raise PipelineValidationError listing every problem, if there are any."""
        problems = self.validate(with_input=with_input)
        if problems:
            raise PipelineValidationError(problems, source=self.source)

    def run(self, data: Any = None, *, observers: Iterable[Any] = ()) -> RunResult:
        """Validate, then run every step in order, emitting events to the registered observers."""
        self.check(with_input=data is not None)
        flow = Flow()
        if data is not None:
            from engine.tables import to_arrow

            flow = Flow(table=to_arrow(data))
        extra = list(observers)
        for obs in extra:
            self.registry.register(obs, name=f"observer:{id(obs)}")
        try:
            return self._run(flow)
        finally:
            for obs in extra:
                self.registry.unregister(obs)

    def _run(self, flow: Flow) -> RunResult:
        hook = self.registry.hook
        run_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        hook.pipeline_start(event=PipelineStarted(run_id, self.name, tuple(s.id for s in self.steps), time.time()))
        runs: list[PluginRun] = []
        status, error = "failed", None
        try:
            with progress.bar(len(self.steps), desc=self.name, unit="step") as bar:
                for i, step in enumerate(self.steps):
                    bar.set_postfix_str(step.id)
                    flow, record = self._run_step(i, step, flow, run_id)
                    runs.append(record)
                    bar.update(1)
            status = "ok"
        except StepError as exc:
            error = str(exc)
            raise
        finally:
            seconds = time.perf_counter() - started
            hook.pipeline_end(event=PipelineFinished(run_id, self.name, seconds, status, error))
        plugins = {r.step: {"kind": r.kind, "name": r.name, "distribution": r.distribution, "version": r.version} for r in runs}
        return RunResult(run_id, flow, tuple(runs), seconds, plugins)

    def _run_step(self, index: int, step: Step, flow: Flow, run_id: str) -> tuple[Flow, PluginRun]:
        spec = KINDS[normalize(step.kind)]
        hook = self.registry.hook
        label = step.plugin_label
        rows_in = flow.rows
        hook.step_start(event=StepStarted(run_id, index, step.id, spec.name, label, rows_in))
        started = time.perf_counter()
        try:
            plugin = self.registry.build(spec.name, step.name, **step.options)
            out = spec.run_step(plugin, flow, **step.params)
        except Exception as exc:
            seconds = time.perf_counter() - started
            message = f"{self._where(index)} failed: {type(exc).__name__}: {exc}"
            hook.step_end(event=StepFinished(run_id, index, step.id, spec.name, label, seconds, rows_in, None, "failed", message))
            raise StepError(message) from exc
        seconds = time.perf_counter() - started
        hook.step_end(event=StepFinished(run_id, index, step.id, spec.name, label, seconds, rows_in, out.rows, "ok"))
        info = self.registry.info(spec.name, step.name) if isinstance(step.name, str) else self.registry.find(step.name)
        dist = info.distribution if info else "__main__"
        version = info.version if info else "0"
        name = info.name if info else label
        return out, PluginRun(step.id, spec.name, name, dist, version, seconds, rows_in, out.rows)


def _provider_hint(ports: Sequence[str]) -> str:
    providers = sorted({k.name for k in KINDS.values() for p in ports if p in k.produces and p != "table"})
    if providers:
        return f"; add a {' or '.join(providers)} step before it"
    return "; start the pipeline with a source step (or pass a table to run())"
