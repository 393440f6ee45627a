"""Row-wise steps on Ray Data: consecutive row-wise stages become one `map_batches` over Arrow batches,
whose actors each build the steps' plugins once from plain data (a fitted plugin's JSON state, else its
registered name and options) and never receive a pickled plugin.

What the steps learn batch by batch (`finish()`, an encoder's drift) and the time and rows of each step
reach the driver through a small tally actor; such facts merge across actors with their `merge` method.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import attrs

from engine.errors import StateError
from engine.names import normalize
from engine.stages import MapStage, kind_module


@attrs.frozen
class Recipe:
    """How an actor builds one row-wise step: its kind, `state` (a `persistence.dumps` document) or
    `name` and `options`, and the step's resolved params (plain data)."""

    index: int
    kind: str
    params: dict[str, Any]
    state: str | None = None
    name: str | None = None
    options: dict[str, Any] = attrs.field(factory=dict)

    def build(self) -> Any:
        """The step's mapper over a plugin built here, once."""
        from engine import persistence
        from engine.registry import default_registry

        registry = default_registry()
        if self.state is not None:
            plugin = persistence.loads(self.state, source=f"step {self.index + 1}'s state", registry=registry)
        else:
            plugin = registry.build(self.kind, self.name, **self.options)
        return kind_module(self.kind).mapper(plugin, **self.params)


def recipe(pipeline: Any, stage: MapStage, fitted: bool) -> Recipe:
    """The recipe of a row-wise stage: its plugin's JSON state when it was fitted or loaded (it must be
    able to say it), else the registered name and options it is built from."""
    from engine import persistence

    step = pipeline.steps[stage.index]
    kind = normalize(step.kind)
    if fitted or not isinstance(step.name, str):
        try:
            state = persistence.dumps(stage.plugin, kind=kind, name=step.name if isinstance(step.name, str) else None,
                                      registry=pipeline.registry)
        except StateError as exc:
            raise StateError(f"{stage.label} cannot run on Ray: {exc} Ray actors build each plugin from its "
                             "JSON state; use the local executor for this step's plugin") from None
        return Recipe(stage.index, kind, dict(stage.params), state=state)
    return Recipe(stage.index, kind, dict(stage.params), name=step.name, options=dict(step.options))


class Tally:
    """Per step and actor, the latest `finish()` facts, and the seconds and rows spent (a Ray actor)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], tuple[dict[str, Any], float, int]] = {}

    def add(self, index: int, worker: str, facts: dict[str, Any], seconds: float, rows: int) -> None:
        _, spent, counted = self._seen.get((index, worker), ({}, 0.0, 0))
        self._seen[(index, worker)] = (facts, spent + seconds, counted + rows)

    def totals(self) -> dict[int, tuple[dict[str, Any], float, int]]:
        """Per step: its facts merged over the actors, the seconds summed, the rows summed."""
        out: dict[int, tuple[dict[str, Any], float, int]] = {}
        for (index, _), (facts, seconds, rows) in sorted(self._seen.items()):
            merged, spent, counted = out.get(index, ({}, 0.0, 0))
            out[index] = (_merge(merged, facts), spent + seconds, counted + rows)
        return out


def _merge(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    merged = dict(mine)
    for key, value in theirs.items():
        merged[key] = mine[key].merge(value) if key in mine and hasattr(mine[key], "merge") else value
    return merged


class Chain:
    """The actor class of one `map_batches`: row-wise steps in order over each Arrow batch, their
    plugins built once per actor; the input first cast to `schema` (what the source gives locally).
    A batch is handed on once the tally has its figures, so the tally is complete when the rows are."""

    def __init__(self, recipes: Sequence[Recipe], tally: Any, schema: Any = None) -> None:
        self.steps = [(r.index, r.build()) for r in recipes]
        self.tally = tally
        self.schema = schema
        self.worker = f"{os.getpid()}-{id(self)}"

    def __call__(self, table: Any) -> Any:
        if self.schema is not None:
            table = conform(table, self.schema)
        import ray

        tallied = []
        for index, mapper in self.steps:
            started = time.perf_counter()
            table = mapper(table)
            tallied.append(self.tally.add.remote(index, self.worker, mapper.finish(), time.perf_counter() - started,
                                                 table.num_rows))
        ray.get(tallied)
        return table


def conform(table: Any, schema: Any) -> Any:
    """`table` with `schema`'s columns in its order, types and metadata (a parallel read of the same files
    can differ from the source's own types, as in string views or dictionaries)."""
    table = table.select(schema.names)
    if not table.schema.equals(schema, check_metadata=False):
        table = table.cast(schema)
    return table.replace_schema_metadata(schema.metadata)


def probe(stages: Sequence[MapStage], schema: Any, facts: dict[str, Any]) -> Any:
    """Run the stages' mappers on the driver over no rows of `schema`: the facts each adds up front (its
    effect columns, its output columns) go into `facts`, and the empty output's schema is returned."""
    table = schema.empty_table()
    for stage in stages:
        mapper = stage.timed(lambda s=stage: s.mapper())
        table = stage.timed(lambda m=mapper, t=table: m(t))
        facts.update(mapper.facts)
    return table.schema
