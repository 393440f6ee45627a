"""Log every Hookyard pipeline run to MLflow (a sweep as a parent run with nested runs); MLflow
failing never fails the run, it only warns."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from engine import hookimpl

DISTRIBUTION = "hookyard-mlflow"
ENV_SWITCH = "HOOKYARD_MLFLOW"
ENV_SWEEP = "HOOKYARD_SWEEP"
ENV_VALUES = "HOOKYARD_SWEEP_VALUES"
LOCAL_STORE = "mlruns"

_runs: dict[str, tuple[Any, str]] = {}
"""Hookyard run id -> (MLflow client, MLflow run id), for the runs being logged in this process."""


def tracking_uri() -> str | None:
    """Where runs go: $MLFLOW_TRACKING_URI, else ./mlruns with HOOKYARD_MLFLOW=on; None: not logged."""
    switch = os.environ.get(ENV_SWITCH, "").strip().lower()
    if switch in ("off", "0", "false"):
        return None
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    if switch in ("on", "1", "true"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return os.path.abspath(LOCAL_STORE)
    return None


def _guarded(action: Callable[..., None]) -> Callable[..., None]:
    """Run a hook's logging; on any error warn, naming the distribution, and stop logging that run."""
    def hook(event: Any) -> None:
        try:
            action(event)
        except Exception as exc:  # MLflow may fail in any way; the pipeline run must not
            _runs.pop(event.run_id, None)
            warnings.warn(f"{DISTRIBUTION}: not logging run {event.run_id} to MLflow at {tracking_uri()}: "
                          f"{type(exc).__name__}: {str(exc)[:300]}", stacklevel=2)
    hook.__name__ = action.__name__
    hook.__doc__ = action.__doc__
    return hook


def _start(event: Any) -> None:
    uri = tracking_uri()
    if uri is None:
        return
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow.tracking import MlflowClient

    import engine

    client = MlflowClient(uri)
    experiment = _experiment(client, os.environ.get("MLFLOW_EXPERIMENT_NAME") or event.pipeline)
    tags = {"hookyard.run_id": event.run_id, "hookyard.version": engine.__version__,
            "hookyard.pipeline": event.pipeline, "mlflow.runName": f"{event.pipeline}-{event.run_id}"}
    sweep = os.environ.get(ENV_SWEEP)
    if sweep:
        tags |= {"hookyard.sweep": sweep, "mlflow.parentRunId": _parent(client, experiment, sweep, event.pipeline)}
    run = client.create_run(experiment, tags=tags)
    _runs[event.run_id] = (client, run.info.run_id)
    params = {"steps": ",".join(event.steps)}
    if sweep:
        params |= {f"sweep.{k}": str(v) for k, v in json.loads(os.environ.get(ENV_VALUES) or "{}").items()}
    for key, value in params.items():
        client.log_param(run.info.run_id, key, value[:6000])


def _experiment(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _parent(client: Any, experiment: str, sweep: str, pipeline: str) -> str:
    """The sweep's parent run, created by whichever of the sweep's processes asks first."""
    with _lock(f"hookyard-mlflow-{sweep}.lock"):
        found = client.search_runs([experiment], filter_string=f"tags.`hookyard.sweep_parent` = '{sweep}'")
        if found:
            return found[0].info.run_id
        run = client.create_run(experiment, tags={"hookyard.sweep_parent": sweep, "hookyard.sweep": sweep,
                                                  "mlflow.runName": f"sweep {pipeline} {sweep}"})
        return run.info.run_id


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    with open(os.path.join(tempfile.gettempdir(), name), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _step_start(event: Any) -> None:
    if event.run_id in _runs:
        client, run_id = _runs[event.run_id]
        client.log_param(run_id, f"{event.step}.plugin", f"{event.kind}:{event.plugin}")


def _step_end(event: Any) -> None:
    if event.run_id in _runs:
        client, run_id = _runs[event.run_id]
        client.log_metric(run_id, f"{event.step}.seconds", float(event.seconds))
        if event.rows_out is not None:
            client.log_metric(run_id, f"{event.step}.rows_out", float(event.rows_out))


def _end(event: Any) -> None:
    if event.run_id not in _runs:
        return
    client, run_id = _runs.pop(event.run_id)
    client.log_metric(run_id, "seconds", float(event.seconds))
    client.set_tag(run_id, "hookyard.status", event.status)
    if event.error:
        client.set_tag(run_id, "hookyard.error", event.error[:5000])
    client.set_terminated(run_id, "FINISHED" if event.status == "ok" else "FAILED")
    parent = client.get_run(run_id).data.tags.get("mlflow.parentRunId")
    if parent:
        client.set_terminated(parent, "FINISHED")


pipeline_start = hookimpl(_guarded(_start))
step_start = hookimpl(_guarded(_step_start))
step_end = hookimpl(_guarded(_step_end))
pipeline_end = hookimpl(_guarded(_end))
