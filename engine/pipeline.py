"""Pipelines: ordered steps chosen by kind and name with options, validated before they run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from engine.errors import HookyardError, PipelineValidationError
from engine.flow import Flow
from engine.kinds import KINDS, KindSpec
from engine.names import did_you_mean, normalize
from engine.options import option_problems
from engine.registry import Registry, default_registry



@attrs.define
class Step:
    """One step: a plugin of `kind` chosen by `name` (or given built), its `options`, and the
    step `params` that tell the kind's step runner what to use (columns, budget, ...). `state` is
    a file written by `engine.save` to load the fitted plugin from instead of building and fitting it."""

    kind: str
    name: Any
    options: dict[str, Any] = attrs.field(factory=dict)
    params: dict[str, Any] = attrs.field(factory=dict)
    id: str | None = None
    state: str | None = None

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
    """Ordered steps; `validate()` reports every problem at once, `run()` streams them and emits
    pluggy events (see `engine.execution`).

    `report` names the folder `hookyard run` writes the run report to (None: no report). `model` is
    a bundle folder (`hookyard fit --model`) whose fitted steps replace the steps of the same id.
    `fit_sample` (a row count or a share) fits on a seeded sample of the source instead of all of
    it, `seed` seeds every sample. `executor` chooses what runs the pipeline, {"name": ..., "options":
    {...}} (the `local` streaming executor when None).
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
        model: str | None = None,
        fit_sample: int | float | None = None,
        seed: int = 0,
        executor: Mapping[str, Any] | None = None,
    ) -> None:
        self.steps = list(steps)
        self.name = name
        self.report = report
        self.model = model
        self.fit_sample = fit_sample
        self.seed = seed
        self.executor = dict(executor or {"name": "local"})
        self.registry = registry or default_registry()
        self.source = source
        self._locations = list(locations or [None] * len(self.steps))
        self._bundle: Any = None
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

    def where(self, index: int) -> str:
        step = self.steps[index]
        line = self._locations[index] if index < len(self._locations) else None
        prefix = f"{self.source}:{line}: " if self.source and line else ""
        return f"{prefix}step {index + 1} '{step.id}' ({step.kind} '{step.plugin_label}')"

    def validate(self, *, with_input: bool = False) -> list[str]:
        """Every problem with the pipeline, without running anything. `with_input`: a table is given to run().
        In strict mode a registry problem (a name conflict, a plugin that fails to load) raises first,
        once, as itself rather than as a problem of the steps that happen to ask the registry."""
        problems: list[str] = []
        if not self.steps:
            return ["the pipeline has no steps"]
        if self.registry.strict:
            self.registry.check()
        available = {"table"} if with_input else set()
        ids = [s.id for s in self.steps]
        for i, step in enumerate(self.steps):
            where = self.where(i)
            if ids.count(step.id) > 1 and ids.index(step.id) == i:
                problems.append(f"{where}: step id '{step.id}' is used {ids.count(step.id)} times; give each step its own id")
            spec = KINDS.get(normalize(str(step.kind)))
            if spec is None:
                problems.append(
                    f"{where}: unknown kind '{step.kind}'.{did_you_mean(str(step.kind), KINDS)} "
                    f"Kinds are: {', '.join(KINDS)}."
                )
                continue
            if spec.shape == "executor":
                problems.append(f"{where}: an executor is not a step; choose it in [pipeline] executor = {{ name = ... }}")
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
            if step.state is not None:
                problems.extend(self._state_problems(where, spec.name, step))
        problems.extend(self._settings_problems())
        problems.extend(self._bundle_problems())
        return problems

    def _settings_problems(self) -> list[str]:
        from engine.sampling import check_size

        problems = []
        if self.fit_sample is not None:
            try:
                check_size(self.fit_sample)
            except HookyardError as exc:
                problems.append(f"[pipeline] {exc}")
        problems.extend(self._executor_problems())
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"[pipeline] seed must be a whole number >= 0, got {self.seed!r:.40}")
        return problems

    def _executor_problems(self) -> list[str]:
        executor = self.executor
        unknown = sorted(set(executor) - {"name", "options"})
        if unknown or not isinstance(executor.get("name", "local"), str) or not isinstance(executor.get("options", {}), Mapping):
            return ["[pipeline] executor must be a table { name = \"local\" | \"ray\" | ..., options = { ... } }"
                    + (f"; it has {', '.join(unknown)}" if unknown else "")]
        try:
            factory = self.registry.factory("executor", executor.get("name", "local"))
        except HookyardError as exc:
            return [f"[pipeline] executor: {exc}"]
        return option_problems(factory, dict(executor.get("options", {})), where="[pipeline] executor")

    def _state_problems(self, where: str, kind: str, step: Step) -> list[str]:
        """A step's state file must exist and hold a state of the step's own kind and plugin."""
        from engine.persistence import parse, read_text

        try:
            document = parse(read_text(step.state), str(step.state))
        except HookyardError as exc:
            return [f"{where}: cannot read its state file {step.state!r} ({exc}); write one with engine.save or hookyard fit"]
        if not isinstance(document, dict):
            return [f"{where}: {step.state!r} is not a hookyard state document"]
        theirs = (document.get("kind"), document.get("name"))
        try:
            ours = (kind, self.registry.info(kind, str(step.name)).name)
        except HookyardError:
            return []
        if theirs != ours:
            return [f"{where}: its state file {step.state!r} holds {theirs[0]} '{theirs[1]}', not {ours[0]} '{ours[1]}'"]
        return []

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

    def run(self, data: Any = None, *, observers: Iterable[Any] = (), collect: int | None = None) -> RunResult:
        """Validate, then stream every step (see `engine.execution`), emitting events to the observers.

        The result's table holds every final row, or with `collect` at most that many: past it, a
        seeded sample (the "sample" fact says so), so that a run over any number of rows stays bounded.
        """
        self.check(with_input=data is not None)
        executor = self.build_executor()
        with self._observing(observers):
            return executor.run(self, _table(data), collect=collect)

    def fit(self, data: Any = None, *, observers: Iterable[Any] = ()) -> Any:
        """Validate, then run only what fitting needs: the source (or `data`) and the steps up to the
        last one that fits. Returns `engine.execution.Fitted` (what `hookyard fit` writes as a bundle)."""
        self.check(with_input=data is not None)
        executor = self.build_executor()
        with self._observing(observers):
            return executor.fit(self, _table(data))

    def build_executor(self) -> Any:
        """The executor plugin `executor` names, built with its options."""
        return self.registry.build("executor", self.executor.get("name", "local"), **self.executor.get("options", {}))

    @contextlib.contextmanager
    def _observing(self, observers: Iterable[Any]) -> Iterator[None]:
        extra = list(observers)
        for obs in extra:
            self.registry.register(obs, name=f"observer:{id(obs)}")
        try:
            yield
        finally:
            for obs in extra:
                self.registry.unregister(obs)

    @property
    def bundle(self) -> Any:
        """The model bundle `model` names, loaded once (None without one)."""
        if self.model is not None and self._bundle is None:
            from engine.bundle import load_bundle

            self._bundle = load_bundle(self.model, registry=self.registry)
        return self._bundle

    def fitting_steps(self) -> list[Step]:
        """The steps that learn from the data when the pipeline runs: of a kind that fits, asking to
        fit, and not loaded from a state file or the bundle."""
        bundle = self.bundle
        steps = []
        for step in self.steps:
            spec = KINDS[normalize(step.kind)]
            loaded = step.state is not None or (bundle is not None and step.id in bundle.plugins)
            if spec.fits and not loaded and spec.contract().wants_fit(step.params):
                steps.append(step)
        return steps

    def plugin_for(self, step: Step) -> tuple[Any, dict[str, Any], bool]:
        """The step's plugin, its params, and whether it comes fitted: loaded from the step's `state`
        file or from the bundle's step of the same id (whose fitted params come first), else built."""
        if step.state is not None:
            from engine import persistence

            return persistence.load(step.state, registry=self.registry), dict(step.params), True
        bundle = self.bundle
        if bundle is not None and step.id in bundle.plugins:
            return bundle.plugins[step.id], {**bundle.step(step.id).params, **step.params}, True
        return self.registry.build(normalize(step.kind), step.name, **step.options), dict(step.params), False

    def provenance(self, step: Step, plugin: Any) -> tuple[str, str, str]:
        """Which plugin ran a step: its registered name, distribution and version."""
        info = self.registry.info(normalize(step.kind), step.name) if isinstance(step.name, str) else self.registry.find(plugin)
        if info is None:
            return step.plugin_label, "__main__", "0"
        return info.name, info.distribution, info.version

    def _bundle_problems(self) -> list[str]:
        """Steps that disagree with the bundle's (another kind or plugin, other options)."""
        from engine.errors import HookyardError

        try:
            bundle = self.bundle
        except HookyardError as exc:
            return [f"[pipeline] model: {exc}"]
        if bundle is None:
            return []
        problems = []
        ids = {s.id for s in self.steps}
        for fitted in bundle.steps:
            if fitted.id not in ids:
                continue
            i, step = next((i, s) for i, s in enumerate(self.steps) if s.id == fitted.id)
            where = self.where(i)
            try:
                name = self.registry.info(normalize(step.kind), str(step.name)).name
            except HookyardError:
                continue
            if normalize(step.kind) != fitted.kind or name != fitted.name:
                problems.append(f"{where}: the model bundle's step '{fitted.id}' is {fitted.kind} '{fitted.name}'; "
                                f"name the same plugin here, or give this step another id to fit it anew")
            elif step.options and step.options != fitted.options:
                problems.append(f"{where}: options {step.options} differ from those the model bundle's step was fitted "
                                f"with ({fitted.options}); drop them (the bundle's state fixes them) or refit")
        return problems


def _table(data: Any) -> Any:
    if data is None:
        return None
    from engine.tables import to_arrow

    return to_arrow(data)


def _provider_hint(ports: Sequence[str]) -> str:
    providers = sorted({k.name for k in KINDS.values() for p in ports if p in k.produces and p != "table"})
    if providers:
        return f"; add a {' or '.join(providers)} step before it"
    return "; start the pipeline with a source step (or pass a table to run())"
