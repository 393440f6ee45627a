"""The plugin kinds the core knows: their hooks, contracts and how each runs as a pipeline step.

This module is pure data so that listing plugins stays cheap; each kind's Protocol, result
records and step runner live in `engine.kinds.<kind>` and are imported when first needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs

from engine.errors import UnknownKindError
from engine.names import did_you_mean, normalize


@attrs.frozen
class KindSpec:
    """One plugin kind: its registration hook, contract module and data ports in a pipeline.

    `consumes` are the ports a step of this kind needs from earlier steps, `produces` those it
    adds. The contract module defines the Protocol (named `protocol`) and `run_step`. `shape` says
    how a step of the kind streams (see `SHAPES`); `fits` whether it learns state from data first.
    """

    name: str
    title: str
    hook: str
    module: str
    consumes: frozenset[str]
    produces: frozenset[str]
    summary: str
    shape: str
    fits: bool = False

    def contract(self) -> ModuleType:
        """The kind's contract module (Protocol, records, step runner)."""
        return importlib.import_module(self.module)

    @property
    def protocol(self) -> type:
        return self.contract().protocol

    @property
    def run_step(self) -> Callable[..., Any]:
        return self.contract().run_step


SHAPES = {
    "source": "starts the stream: record batches from `scan()`",
    "row-wise": "one batch in, one batch out, given fitted state",
    "global": "needs some columns of every row at once; joins its result back onto the stream",
    "sink": "writes the stream it is given",
    "executor": "runs a whole pipeline; chosen in [pipeline] executor, never a step",
}
"""How a step of each kind streams; the executor plans a pipeline from these shapes."""


def _kind(name: str, title: str, hook: str, consumes: set[str], produces: set[str], summary: str,
          shape: str, fits: bool = False) -> KindSpec:
    return KindSpec(
        name=name,
        title=title,
        hook=hook,
        module=f"engine.kinds.{name}",
        consumes=frozenset(consumes),
        produces=frozenset(produces),
        summary=summary,
        shape=shape,
        fits=fits,
    )


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        _kind("encoder", "Encoder", "register_encoders", {"table"}, {"table"},
              "learns categorical levels on training data; turns later data into the same columns", "row-wise", True),
        _kind("decoder", "Decoder", "register_decoders", {"table"}, {"table", "generations"},
              "turns a language model's next-token scores into sequences", "row-wise"),
        _kind("cate", "CATEEstimator", "register_cate_estimators", {"table"}, {"table", "effects"},
              "estimates conditional average treatment effects, one column per treatment", "row-wise", True),
        _kind("solver", "Solver", "register_solvers", {"table", "effects"}, {"table", "assignment"},
              "assigns at most one treatment per unit to maximise value under a budget", "global"),
        _kind("source", "DataSource", "register_sources", set(), {"table"},
              "yields data as Arrow record batches, with projection and filters pushed down", "source"),
        _kind("sink", "Sink", "register_sinks", {"table"}, set(),
              "writes a pipeline's table to a file or database, whole or not at all", "sink"),
        _kind("executor", "Executor", "register_executors", set(), set(),
              "runs a pipeline: fits what must fit, then streams every row through the steps", "executor"),
    )
}


def kind_spec(kind: str) -> KindSpec:
    """The spec of a kind by (normalised) name; an unknown kind raises with the known ones."""
    key = normalize(kind)
    try:
        return KINDS[key]
    except KeyError:
        known = ", ".join(KINDS)
        raise UnknownKindError(
            f"unknown plugin kind {kind!r}.{did_you_mean(key, KINDS)} Kinds are: {known}."
        ) from None
