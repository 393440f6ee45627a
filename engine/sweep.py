"""Sweeps: `--set` values holding comma lists expand, Hydra-style, to the cartesian product of
pipelines; every combination is checked before anything runs, and the steps before the first
swept step are run once and shared by all of them."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from engine.config import apply_override, from_dict, parse_toml, read_text
from engine.errors import ConfigError, HookyardError, PipelineValidationError
from engine.kinds import KINDS
from engine.names import normalize
from engine.pipeline import Pipeline

MAX_RUNS = 1000
"""The most combinations a sweep runs unless `max_runs` allows more."""


@attrs.frozen
class Axis:
    """One swept setting: the --set target ("cate.name") and the values it takes, as given."""

    target: str
    values: tuple[str, ...]


@attrs.frozen
class Combination:
    """One point of the sweep: its position, the value text of every axis, and its full overrides."""

    index: int
    values: dict[str, str]
    overrides: tuple[str, ...]

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items())


@attrs.frozen
class Plan:
    """A checked sweep: the parsed file, its combinations, and how many leading steps they share."""

    document: dict[str, Any]
    source: str
    axes: tuple[Axis, ...]
    combinations: tuple[Combination, ...]
    shared: int

    def pipeline(self, combination: Combination) -> Pipeline:
        """The combination's whole pipeline."""
        return from_dict(_apply(self.document, combination.overrides), source=self.source)

    def prefix(self) -> Pipeline | None:
        """The shared steps as a pipeline of their own (None when nothing is shared)."""
        if not self.shared:
            return None
        whole = self.pipeline(self.combinations[0])
        return _part(whole, whole.steps[: self.shared])

    def rest(self, combination: Combination, outputs: Path | None = None) -> Pipeline:
        """The steps the combination runs itself, on the shared steps' table when there are any. With
        `outputs`, its sinks' files (`SINK_FILES`) are written there, under their own names: each
        combination's outputs then lie beside its report, and combinations running at once never write
        into one folder (which a run locks while it writes)."""
        whole = self.pipeline(combination)
        steps = whole.steps[self.shared:]
        if outputs is not None:
            steps = [_redirected(step, outputs) for step in steps]
        return _part(whole, steps) if self.shared or outputs is not None else whole

    @property
    def shared_ids(self) -> list[str]:
        return [str(s.get("id") or s.get("kind")) for s in self.document["steps"][: self.shared]]


def split_values(text: str) -> list[str]:
    """A --set value split at its top-level commas: `a,b` -> [a, b]; quoted strings, [lists] and
    {tables} keep theirs (`"a,b"`, `[1, 2]`)."""
    items, current, depth, quote = [], [], 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return items


def axes_of(overrides: Iterable[str]) -> tuple[list[str], list[Axis]]:
    """The fixed overrides (one value) and the swept axes (a comma list) among `overrides`."""
    fixed, axes = [], []
    for override in overrides:
        target, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(f"--set {override!r}: expected STEP.FIELD=VALUE or STEP.FIELD=A,B,...")
        values = split_values(value)
        if not value.strip() or any(not v for v in values):
            raise ConfigError(f"--set {override!r}: an empty value in the list; give VALUE or A,B,... "
                              "(quote an empty string: '\"\"')")
        if len(values) == 1:
            fixed.append(override)
        elif any(a.target == target.strip() for a in axes):
            raise ConfigError(f"--set {override!r}: {target.strip()} is swept twice; give its values in one list")
        else:
            axes.append(Axis(target.strip(), tuple(values)))
    return fixed, axes


def plan_sweep(path: str | Path, overrides: Sequence[str], *, max_runs: int | None = None) -> Plan:
    """Read the file, expand the sweep and check every combination; raise listing every problem,
    each with its combination, before anything runs."""
    path = Path(path)
    document = parse_toml(read_text(path), str(path))
    fixed, axes = axes_of(overrides)
    if not axes:
        raise ConfigError("nothing to sweep: give at least one --set STEP.FIELD=A,B,... with two or more values")
    count = 1
    for axis in axes:
        count *= len(axis.values)
    limit = MAX_RUNS if max_runs is None else max_runs
    if count > limit:
        raise ConfigError(f"the sweep has {count:,} combinations, more than {limit:,}; "
                          f"narrow it or allow them with --max-runs {count}")
    combinations = tuple(
        Combination(i, {a.target: v for a, v in zip(axes, chosen)},
                    tuple(fixed) + tuple(f"{a.target}={v}" for a, v in zip(axes, chosen)))
        for i, chosen in enumerate(itertools.product(*(a.values for a in axes)))
    )
    base = _apply(document, fixed)
    plan = Plan(base, str(path), tuple(axes), combinations, _shared_steps(base, axes))
    problems = []
    for combination in combinations:
        try:
            problems += [f"[{combination.label}] {p}" for p in plan.pipeline(combination).validate()]
            if plan.shared and not problems:
                problems += [f"[{combination.label}] {p}" for p in plan.rest(combination).validate(with_input=True)]
        except PipelineValidationError as exc:
            problems += [f"[{combination.label}] {p}" for p in exc.problems]
        except HookyardError as exc:
            problems.append(f"[{combination.label}] {exc}")
    if problems:
        raise PipelineValidationError(problems, source=str(path))
    return plan


def _shared_steps(document: Mapping[str, Any], axes: Sequence[Axis]) -> int:
    """How many leading steps no axis touches, up to the first that hands on more than a table: none
    when an axis sets [pipeline] or the pipeline samples or loads a model for fitting (its steps then
    run as a whole)."""
    head = document.get("pipeline") or {}
    steps = [s for s in document.get("steps") or [] if isinstance(s, Mapping)]
    if any(key in head for key in ("fit_sample", "model")):
        return 0
    ids = [str(s.get("id") or s.get("kind")) for s in steps]
    first = next((i for i, s in enumerate(steps) if _passes_more_than_a_table(s)), len(steps))
    for axis in axes:
        step = axis.target.split(".")[0].strip()
        if step == "pipeline" or step not in ids:
            return 0
        first = min(first, ids.index(step))
    return first if first < len(steps) else 0


def _passes_more_than_a_table(step: Mapping[str, Any]) -> bool:
    """Whether a step hands later steps more than its table (a cate step's effects and facts), which a
    shared table cannot carry: sharing stops before it."""
    spec = KINDS.get(normalize(str(step.get("kind"))))
    return spec is None or bool(set(spec.produces) - {"table"})


def _apply(document: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    changed = copy.deepcopy(dict(document))
    for override in overrides:
        apply_override(changed, override)
    return changed


SINK_FILES = ("path", "database")
"""The options that name the file a sink writes: a file sink's `path`, the `duckdb` sink's `database`."""


def _redirected(step: Any, folder: Path) -> Any:
    """A sink step writing its file (`path`, `database`) into `folder` instead (any other step as it is)."""
    if normalize(str(step.kind)) != "sink":
        return step
    moved = {key: str(folder / Path(value).name) for key, value in step.options.items()
             if key in SINK_FILES and isinstance(value, str)}
    return attrs.evolve(step, options={**step.options, **moved}) if moved else step


def _part(whole: Pipeline, steps: list[Any]) -> Pipeline:
    """A pipeline of some of `whole`'s steps, with its settings."""
    return Pipeline(steps, name=whole.name, registry=whole.registry, source=whole.source,
                    report=whole.report, seed=whole.seed, executor=whole.executor)
