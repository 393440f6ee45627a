"""Records passed to the pipeline event hooks, so observers get one stable object per event."""

from __future__ import annotations

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
    the steps of a run stream together, so every step starts before any ends."""

    run_id: str
    index: int
    step: str
    kind: str
    plugin: str
    rows_in: int | None


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
