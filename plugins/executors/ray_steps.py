"""Row-wise steps on Ray Data: consecutive row-wise stages become one `map_batches` over Arrow blocks,
whose actors each build the steps' plugins once from plain data (a fitted plugin's JSON state, else its
registered name and options) and never receive a pickled plugin. A block holds many batches (Ray's
cost is per block); the actor runs the steps on them one batch at a time, cut as the local stream
cuts them.

What the steps learn batch by batch (`finish()`, an encoder's drift) and the time and rows of each step
reach the driver through a small tally actor, per step and per batch: every block the source makes is
numbered (`BLOCK_KEY` in its schema metadata), so a block Ray re-executes (its actor killed or
restarted) replaces its batches' figures instead of adding to them, and the facts merge (with their
`merge` method) in the stream's order, as the local executor merges its batches'.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from engine.errors import StateError, StepError
from engine.names import normalize
from engine.stages import MapStage, kind_module, step_failed


@attrs.frozen
class Recipe:
    """How an actor builds one row-wise step: its place and label, its kind, `state` (a
    `persistence.dumps` document) or `name` and `options`, and the step's resolved params (plain data)."""

    index: int
    label: str
    kind: str
    params: dict[str, Any]
    state: str | None = None
    name: str | None = None
    options: dict[str, Any] = attrs.field(factory=dict)

    def build(self) -> Any:
        """The step's plugin, built here (once per actor). A decoder that can `load()` its model does it
        now, as the actor starts, rather than in its first batch (Ray Data's way: the model is loaded
        in the callable's constructor)."""
        from engine import persistence
        from engine.registry import default_registry

        registry = default_registry()
        if self.state is not None:
            return persistence.loads(self.state, source=f"step {self.index + 1}'s state", registry=registry)
        plugin = registry.build(self.kind, self.name, **self.options)
        if self.kind == "decoder" and callable(getattr(plugin, "load", None)):
            plugin.load()
        return plugin

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
        return Recipe(stage.index, stage.label, kind, dict(stage.params), state=state)
    return Recipe(stage.index, stage.label, kind, dict(stage.params), name=step.name, options=dict(step.options))


BLOCK_KEY = b"hookyard.block"
"""The schema metadata key that numbers a block in the stream's order (see `numbered`)."""


def numbered(table: Any, *number: int) -> Any:
    """`table` tagged as block `number` of the stream (numbers compared in order, as tuples)."""
    tag = ".".join(str(n) for n in number).encode()
    return table.replace_schema_metadata({**(table.schema.metadata or {}), BLOCK_KEY: tag})


_untagged = itertools.count()


def block_of(table: Any) -> tuple[int, ...]:
    """The block's key in the tally: (0, its numbers), or (1, a number of its own) for a block no source
    numbered, whose figures then always add up."""
    tag = (table.schema.metadata or {}).get(BLOCK_KEY)
    return (0, *(int(n) for n in tag.decode().split("."))) if tag is not None else (1, next(_untagged))


def batches(table: Any, batch_size: int | None) -> Iterator[Any]:
    """A block's batches of `batch_size` rows, as the local stream cuts them (the whole block when None;
    one empty batch for an empty block)."""
    size = batch_size or max(table.num_rows, 1)
    for start in range(0, max(table.num_rows, 1), size):
        yield table.slice(start, size)


Figures = tuple[int, tuple[int, ...], str, dict[str, Any], float, int]
"""What one step did on one batch: the step's index, the batch's key (its block's and its place in the
block), the worker, the `finish()` facts, the seconds and the rows out."""


class Tally:
    """Per step and batch, the `finish()` facts, seconds and rows of that batch (a Ray actor); a batch
    done again replaces its figures."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, tuple[int, ...], str], tuple[dict[str, Any], float, int]] = {}

    def add(self, figures: Sequence[Figures]) -> None:
        for index, batch, worker, facts, seconds, rows in figures:
            self._seen[(index, batch, worker if batch[0] else "")] = (facts, seconds, rows)

    def totals(self) -> dict[int, tuple[dict[str, Any], float, int]]:
        """Per step: its batches' facts merged in the stream's order, the seconds and rows summed."""
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
    """The actor class of one `map_batches`: row-wise steps in order over each Arrow block, batch by
    batch (`batch_size` rows, as the local stream cuts them), their plugins built once per actor; the
    input first cast to `schema` (what the source gives locally), the output narrowed to `columns`
    when given. A block is handed on once the tally has its figures, so the tally is complete when the
    rows are. A step that cannot be built or fails on a batch raises the `StepError` that names it
    (a build failure at the first block, so that Ray Data does not restart an actor that cannot start).
    """

    def __init__(self, recipes: Sequence[Recipe], tally: Any, batch_size: int | None, schema: Any = None,
                 columns: Sequence[str] | None = None) -> None:
        self.steps: list[tuple[Recipe, Any]] = []
        self.failure: StepError | None = None
        for recipe in recipes:
            try:
                self.steps.append((recipe, recipe.build()))
            except Exception as exc:
                self.failure = step_failed(recipe.label, recipe.index, exc)
                break
        self.tally = tally
        self.batch_size = batch_size
        self.schema = schema
        self.columns = None if columns is None else list(columns)
        self.worker = f"{os.getpid()}-{id(self)}"

    def __call__(self, block: Any) -> Any:
        import pyarrow as pa
        import ray

        if self.failure is not None:
            raise self.failure
        key = block_of(block)
        if self.schema is not None:
            block = conform(block, self.schema)
        figures: list[Figures] = []
        done = []
        for j, table in enumerate(batches(block, self.batch_size)):
            for recipe, plugin in self.steps:
                started = time.perf_counter()
                mapper = recipe.mapper(plugin)
                try:
                    table = mapper(table)
                except Exception as exc:
                    raise step_failed(recipe.label, recipe.index, exc) from exc
                figures.append((recipe.index, (*key, j), self.worker, mapper.finish(), time.perf_counter() - started,
                                table.num_rows))
            done.append(table if self.columns is None else table.select(self.columns))
        ray.get(self.tally.add.remote(figures))
        table = done[0] if len(done) == 1 else pa.concat_tables(done, promote_options="default")
        return numbered(table, *key[1:]) if key[0] == 0 else table


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
