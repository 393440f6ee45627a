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
    adds. The contract module defines the Protocol (named `protocol`) and `run_step`.
    """

    name: str
    title: str
    hook: str
    module: str
    consumes: frozenset[str]
    produces: frozenset[str]
    summary: str

    def contract(self) -> ModuleType:
        """The kind's contract module (Protocol, records, step runner)."""
        return importlib.import_module(self.module)

    @property
    def protocol(self) -> type:
        return self.contract().protocol

    @property
    def run_step(self) -> Callable[..., Any]:
        return self.contract().run_step


def _kind(name: str, title: str, hook: str, consumes: set[str], produces: set[str], summary: str) -> KindSpec:
    return KindSpec(
        name=name,
        title=title,
        hook=hook,
        module=f"engine.kinds.{name}",
        consumes=frozenset(consumes),
        produces=frozenset(produces),
        summary=summary,
    )


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        _kind("encoder", "Encoder", "register_encoders", {"table"}, {"table"},
              "learns categorical levels on training data; turns later data into the same columns"),
        _kind("decoder", "Decoder", "register_decoders", {"table"}, {"table", "generations"},
              "turns a language model's next-token scores into sequences"),
        _kind("cate", "CATEEstimator", "register_cate_estimators", {"table"}, {"table", "effects"},
              "estimates conditional average treatment effects, one column per treatment"),
        _kind("solver", "Solver", "register_solvers", {"table", "effects"}, {"table", "assignment"},
              "assigns at most one treatment per unit to maximise value under a budget"),
        _kind("source", "DataSource", "register_sources", set(), {"table"},
              "yields data as Arrow record batches, with projection and filters pushed down"),
        _kind("sink", "Sink", "register_sinks", {"table"}, set(),
              "writes a pipeline's table to a file or database, whole or not at all"),
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
