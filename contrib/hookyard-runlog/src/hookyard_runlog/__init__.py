"""Append every Hookyard pipeline event to a JSON-lines run log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import attrs

from engine import hookimpl

ENV_PATH = "HOOKYARD_RUNLOG"


def log_path() -> Path | None:
    """Where events go: $HOOKYARD_RUNLOG, else the XDG state folder; None when set to 'off'."""
    configured = os.environ.get(ENV_PATH)
    if configured is not None:
        return None if configured.strip().lower() in ("off", "") else Path(configured)
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "hookyard" / "runs.jsonl"


def append(event_name: str, event: Any) -> None:
    """Write one event as one JSON line, in a single append so concurrent runs don't interleave."""
    path = log_path()
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"event": event_name, "logged_at": time.time(), **attrs.asdict(event)}
    line = (json.dumps(record, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@hookimpl
def pipeline_start(event: Any) -> None:
    append("pipeline_start", event)


@hookimpl
def step_end(event: Any) -> None:
    append("step_end", event)


@hookimpl
def pipeline_end(event: Any) -> None:
    append("pipeline_end", event)
