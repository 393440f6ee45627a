"""Row-wise steps on Ray Data: consecutive row-wise stages become one `map_batches` over Arrow batches,
whose actors each build the steps' plugins once from plain data (a fitted plugin's JSON state, else its
registered name and options) and never receive a pickled plugin.

What the steps learn batch by batch (`finish()`, an encoder's drift) and the time and rows of each step
reach the driver through a small tally actor, per step and per block: every block the source makes is
numbered (`BLOCK_KEY` in its schema metadata) and each batch is one block, so a batch Ray re-executes
(its actor killed or restarted) replaces its own figures instead of adding to them, and the facts merge
(with their `merge` method) in the blocks' order, as the local executor merges its batches'.
"""

from __future__ import annotations

import itertools
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
        """The step's plugin, built here (once per actor)."""
        from engine import persistence
        from engine.registry import default_registry

        registry = default_registry()
        if self.state is not None:
            return persistence.loads(self.state, source=f"step {self.index + 1}'s state", registry=registry)
        return registry.build(self.kind, self.name, **self.options)

    def mapper(self, plugin: Any) -> Any:
        """A fresh mapper of the step over `plugin` (cheap: what it gathers, `finish()`, is one batch's)."""
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


BLOCK_KEY = b"hookyard.block"
"""The schema metadata key that numbers a block in the stream's order (see `numbered`)."""


def numbered(table: Any, number: int) -> Any:
    """`table` tagged as block `number` of the stream."""
    return table.replace_schema_metadata({**(table.schema.metadata or {}), BLOCK_KEY: str(number).encode()})


_untagged = itertools.count()


def block_of(table: Any) -> tuple[int, int]:
    """The batch's key in the tally: (0, its block number), or (1, a number of its own) for a block no
    source numbered, whose figures then always add up."""
    tag = (table.schema.metadata or {}).get(BLOCK_KEY)
    return (0, int(tag)) if tag is not None else (1, next(_untagged))


class Tally:
    """Per step and block, the `finish()` facts, seconds and rows of the block's batch (a Ray actor);
    a block done again replaces its figures."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, tuple[int, int], str], tuple[dict[str, Any], float, int]] = {}

    def add(self, index: int, block: tuple[int, int], worker: str, facts: dict[str, Any], seconds: float,
            rows: int) -> None:
        key = (index, block, worker if block[0] else "")
        self._seen[key] = (facts, seconds, rows)

    def totals(self) -> dict[int, tuple[dict[str, Any], float, int]]:
        """Per step: its blocks' facts merged in the blocks' order, the seconds and rows summed."""
        out: dict[int, tuple[dict[str, Any], float, int]] = {}
        for (index, _, _), (facts, seconds, rows) in sorted(self._seen.items()):
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
    plugins built once per actor; the input first cast to `schema` (what the source gives locally), the
    output narrowed to `columns` when given. A batch is handed on once the tally has its figures, so the
    tally is complete when the rows are."""

    def __init__(self, recipes: Sequence[Recipe], tally: Any, schema: Any = None,
                 columns: Sequence[str] | None = None) -> None:
        self.steps = [(r, r.build()) for r in recipes]
        self.tally = tally
        self.schema = schema
        self.columns = None if columns is None else list(columns)
        self.worker = f"{os.getpid()}-{id(self)}"

    def __call__(self, table: Any) -> Any:
        import ray

        block = block_of(table)
        if self.schema is not None:
            table = conform(table, self.schema)
        tallied = []
        for recipe, plugin in self.steps:
            started = time.perf_counter()
            mapper = recipe.mapper(plugin)
            table = mapper(table)
            tallied.append(self.tally.add.remote(recipe.index, block, self.worker, mapper.finish(),
                                                 time.perf_counter() - started, table.num_rows))
        ray.get(tallied)
        table = table if self.columns is None else table.select(self.columns)
        return table if block[0] else numbered(table, block[1])


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
