"""Records passed to the pipeline event hooks, so observers get one stable object per event, and
the caller that delivers them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs


@attrs.frozen
class PipelineStarted:
    """A pipeline run began. `quiet`: the run was asked for silence (`--quiet`), so an observer that
    prints should not."""

    run_id: str
    pipeline: str
    steps: tuple[str, ...]
    started_at: float
    quiet: bool = False


@attrs.frozen
class PipelineFinished:
    """A pipeline run ended, successfully or not (`error` holds the message then)."""

    run_id: str
    pipeline: str
    seconds: float
    status: str
    error: str | None = None


@attrs.frozen
class StepStarted:
    """A step is about to run. `index` is its position counted from 1, as messages say "step 1";
    the steps of a run stream together, so every step starts before any ends. `options` and `params`
    are the step's, as the pipeline gives them (what a tracker records of its settings)."""

    run_id: str
    index: int
    step: str
    kind: str
    plugin: str
    rows_in: int | None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    params: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StepFinished:
    """A step ended, with its timing (its own work, not its upstream's) and the row counts it saw and
    produced. `status`: "ok"; "failed" (the step that raised, `error` says why); "stopped" (another
    step failed); "skipped" (a fit-only run did not need it)."""

    run_id: str
    index: int
    step: str
    kind: str
    plugin: str
    seconds: float
    rows_in: int | None
    rows_out: int | None
    status: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class OutputsCommitted:
    """A run's outputs are in place (after its commit): the paths it wrote (`outputs`: sinks, report,
    bundle), its report folder and the report's figures when it wrote one, the model bundle when
    `hookyard fit` made one. For a sweep's combination it comes once the sweep's folder is in place;
    for the sweep itself `run_id` is the sweep's id and `report` its comparison folder."""

    run_id: str
    pipeline: str
    outputs: tuple[str, ...] = ()
    report: str | None = None
    figures: Mapping[str, Any] = attrs.field(factory=dict)
    bundle: str | None = None


class Observers:
    """The pipeline event hooks as an executor calls them (`events.step_start(event=...)`), each
    delivered through `notify(hook_name, event)` (`Registry.notify`: one observer at a time, so one
    that raises is a warning, not the end of the run)."""

    def __init__(self, notify: Callable[[str, Any], None]) -> None:
        self._notify = notify

    def pipeline_start(self, *, event: PipelineStarted) -> None:
        self._notify("pipeline_start", event)

    def step_start(self, *, event: StepStarted) -> None:
        self._notify("step_start", event)

    def step_end(self, *, event: StepFinished) -> None:
        self._notify("step_end", event)

    def pipeline_end(self, *, event: PipelineFinished) -> None:
        self._notify("pipeline_end", event)

    def outputs_committed(self, *, event: OutputsCommitted) -> None:
        self._notify("outputs_committed", event)
