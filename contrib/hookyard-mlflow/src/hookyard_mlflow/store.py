"""The MLflow side of hookyard-mlflow: where runs go, the experiment, finding a Hookyard run's MLflow
run (from any process of a sweep), a sweep's parent run, and batched logging within MLflow's limits."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

ENV_SWITCH = "HOOKYARD_MLFLOW"
LOCAL_STORE = "mlruns"
BATCH = 100
"""MLflow takes at most 100 params and 100 tags per batch (1,000 metrics); larger sets go in parts."""
VALUE_CHARS = 6000
"""The longest param value MLflow stores."""


def tracking_uri() -> str | None:
    """Where runs go: $MLFLOW_TRACKING_URI, else the local store ./mlruns; None with HOOKYARD_MLFLOW=off."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow keeps its file store in maintenance mode
    return os.path.abspath(LOCAL_STORE)


def client(uri: str) -> Any:
    """An MlflowClient for `uri` that fails at once, not after minutes of retries, when out of reach."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def experiment(mlflow: Any, pipeline: str) -> str:
    """The id of the experiment runs go to: $MLFLOW_EXPERIMENT_NAME, else the pipeline's name (made once)."""
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or pipeline
    with _lock(f"hookyard-mlflow-experiment-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"):
        found = mlflow.get_experiment_by_name(name)
        return found.experiment_id if found is not None else mlflow.create_experiment(name)


def find(mlflow: Any, experiment_id: str, hookyard_run: str) -> str | None:
    """The MLflow run tagged with the Hookyard run id (or sweep id), whichever process logged it."""
    found = mlflow.search_runs([experiment_id], filter_string=f"tags.`hookyard.run_id` = '{_quoted(hookyard_run)}'",
                               max_results=1)
    return found[0].info.run_id if found else None


def parent(mlflow: Any, experiment_id: str, sweep: str, pipeline: str) -> str:
    """The sweep's parent run, made by whichever of the sweep's processes asks first."""
    with _lock(f"hookyard-mlflow-{sweep}.lock"):
        found = find(mlflow, experiment_id, sweep)
        if found is not None:
            return found
        run = mlflow.create_run(experiment_id, tags={"hookyard.sweep_parent": sweep, "hookyard.sweep": sweep,
                                                     "hookyard.run_id": sweep,
                                                     "mlflow.runName": f"sweep {pipeline} {sweep}"})
        return run.info.run_id


def log(mlflow: Any, run_id: str, *, params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None, tags: Mapping[str, str] | None = None) -> None:
    """Log params (as text, cut to MLflow's length), finite metrics and tags, in batches MLflow accepts."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    entities = ([Param(_key(k), text(v)[:VALUE_CHARS]) for k, v in (params or {}).items()],
                [Metric(_key(k), float(v), now, 0) for k, v in (metrics or {}).items() if math.isfinite(float(v))],
                [RunTag(k, str(v)[:VALUE_CHARS]) for k, v in (tags or {}).items()])
    for start in range(0, max(map(len, entities), default=0), BATCH):
        p, m, t = (part[start:start + BATCH] for part in entities)
        mlflow.log_batch(run_id, metrics=m, params=p, tags=t)


def numbers(figures: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric figures of a report's nested sections, flat ("headline.optimised.estimated"); lists
    (per-arm tables, samples) are left to the report logged as an artefact."""
    found: dict[str, float] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found |= numbers(value, f"{name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[name] = float(value)
    return found


def text(value: Any) -> str:
    """A param's value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)


def _key(name: str) -> str:
    """A name MLflow accepts as a key (letters, digits, _ - . / and spaces; at most 250 characters)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)[:250]


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    with open(os.path.join(tempfile.gettempdir(), name), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
