"""The pluggy hook specifications: one registration hook per kind, plus pipeline events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from engine.events import OutputsCommitted, PipelineFinished, PipelineStarted, StepFinished, StepStarted
    from engine.records import Registration

PROJECT = "hookyard"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_encoders() -> Iterable[Registration]:
    """Return the encoder plugins this distribution provides."""


@hookspec
def register_decoders() -> Iterable[Registration]:
    """Return the decoder plugins this distribution provides."""


@hookspec
def register_cate_estimators() -> Iterable[Registration]:
    """Return the CATE estimator plugins this distribution provides."""


@hookspec
def register_solvers() -> Iterable[Registration]:
    """Return the solver plugins this distribution provides."""


@hookspec
def register_sources() -> Iterable[Registration]:
    """Return the data source plugins this distribution provides."""


@hookspec
def register_sinks() -> Iterable[Registration]:
    """Return the sink plugins (where a pipeline writes its result) this distribution provides."""


@hookspec
def register_executors() -> Iterable[Registration]:
    """Return the executor plugins (what runs a whole pipeline: in-process, on a cluster) this distribution provides."""


@hookspec
def pipeline_start(event: PipelineStarted) -> None:
    """A pipeline run began."""


@hookspec
def pipeline_end(event: PipelineFinished) -> None:
    """A pipeline run ended (also when it failed)."""


@hookspec
def step_start(event: StepStarted) -> None:
    """A pipeline step is about to run."""


@hookspec
def step_end(event: StepFinished) -> None:
    """A pipeline step ended, with timing and row counts (also when it failed)."""


@hookspec
def outputs_committed(event: OutputsCommitted) -> None:
    """A run's outputs (sinks, report, model bundle) are in place, with the report's figures."""
