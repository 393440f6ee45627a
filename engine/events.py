"""Records passed to the pipeline event hooks, so observers get one stable object per event."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class PipelineStarted:
    """A pipeline run began."""

    run_id: str
    pipeline: str
    steps: tuple[str, ...]
    started_at: float


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
    """A step is about to run."""

    run_id: str
    index: int
    step: str
    kind: str
    plugin: str
    rows_in: int | None


@attrs.frozen
class StepFinished:
    """A step ended, with its timing and the row counts it saw and produced."""

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
