"""Log every Hookyard pipeline run to MLflow (a sweep as a parent run with nested runs): params, metrics,
tags, and once the run's outputs are in place its report and model bundle as artefacts. MLflow failing
never fails the run, it only warns."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import hookimpl
from hookyard_mlflow import store
from hookyard_mlflow.store import tracking_uri

DISTRIBUTION = "hookyard-mlflow"
ENV_SWEEP = "HOOKYARD_SWEEP"
ENV_VALUES = "HOOKYARD_SWEEP_VALUES"

_runs: dict[str, tuple[Any, str]] = {}
"""Hookyard run id -> (MLflow client, MLflow run id), for the runs being logged in this process."""
_failed: set[str] = set()
"""Hookyard runs whose logging failed in this process: their outputs are not tried again."""

__all__ = ["DISTRIBUTION", "tracking_uri"]


def _guarded(action: Callable[..., None]) -> Callable[..., None]:
    """Run a hook's logging; on any error warn, naming the distribution, and stop logging that run."""
    def hook(event: Any) -> None:
        try:
            action(event)
        except Exception as exc:  # MLflow may fail in any way; the pipeline run must not
            _runs.pop(event.run_id, None)
            _failed.add(event.run_id)
            warnings.warn(f"{DISTRIBUTION}: not logging run {event.run_id} to MLflow at {tracking_uri()}: "
                          f"{type(exc).__name__}: {str(exc)[:300]}", stacklevel=2)
    hook.__name__ = action.__name__
    hook.__doc__ = action.__doc__
    return hook


def _start(event: Any) -> None:
    """A run: its tags (ids, versions), its steps and, in a sweep, its swept values as params."""
    uri = tracking_uri()
    if uri is None:
        return
    import engine

    mlflow = store.client(uri)
    experiment = store.experiment(mlflow, event.pipeline)
    tags = {"hookyard.run_id": event.run_id, "hookyard.version": engine.__version__,
            "hookyard.pipeline": event.pipeline, "mlflow.runName": f"{event.pipeline}-{event.run_id}"}
    sweep = os.environ.get(ENV_SWEEP)
    if sweep:
        tags |= {"hookyard.sweep": sweep,
                 "mlflow.parentRunId": store.parent(mlflow, experiment, sweep, event.pipeline)}
    run = mlflow.create_run(experiment, tags=tags)
    _runs[event.run_id] = (mlflow, run.info.run_id)
    params = {"steps": ",".join(event.steps)}
    if sweep:
        params |= {f"sweep.{k}": v for k, v in json.loads(os.environ.get(ENV_VALUES) or "{}").items()}
    store.log(mlflow, run.info.run_id, params=params)


def _step_start(event: Any) -> None:
    """A step's plugin, options and params as params; the distribution that provides it as a tag."""
    if event.run_id not in _runs:
        return
    mlflow, run_id = _runs[event.run_id]
    params = {f"{event.step}.plugin": f"{event.kind}:{event.plugin}",
              **{f"{event.step}.options.{k}": v for k, v in event.options.items()},
              **{f"{event.step}.params.{k}": v for k, v in event.params.items()}}
    provider = _distribution(event.kind, event.plugin)
    store.log(mlflow, run_id, params=params,
              tags={f"hookyard.distribution.{event.step}": provider} if provider else None)


def _distribution(kind: str, plugin: str) -> str | None:
    """"NAME VERSION" of the distribution that registers the plugin (None for one given built)."""
    from engine.errors import HookyardError
    from engine.registry import default_registry

    try:
        info = default_registry().info(kind, plugin)
    except HookyardError:
        return None
    return f"{info.distribution} {info.version}"


def _step_end(event: Any) -> None:
    """A step's seconds and rows as metrics."""
    if event.run_id in _runs:
        mlflow, run_id = _runs[event.run_id]
        metrics = {f"{event.step}.seconds": event.seconds, f"{event.step}.rows_in": event.rows_in,
                   f"{event.step}.rows_out": event.rows_out}
        store.log(mlflow, run_id, metrics={k: v for k, v in metrics.items() if v is not None})


def _end(event: Any) -> None:
    """The run's seconds and status; the run (and its sweep's parent) marked ended."""
    if event.run_id not in _runs:
        return
    mlflow, run_id = _runs.pop(event.run_id)
    tags = {"hookyard.status": event.status, **({"hookyard.error": event.error} if event.error else {})}
    run = mlflow.get_run(run_id)
    distributions = sorted({v.rsplit(" ", 1)[0] for k, v in run.data.tags.items()
                            if k.startswith("hookyard.distribution.")})
    store.log(mlflow, run_id, metrics={"seconds": event.seconds},
              tags={**tags, "hookyard.distributions": ",".join(distributions)})
    mlflow.set_terminated(run_id, "FINISHED" if event.status == "ok" else "FAILED")
    parent = run.data.tags.get("mlflow.parentRunId")
    if parent:
        mlflow.set_terminated(parent, "FINISHED")


def _outputs(event: Any) -> None:
    """Once the outputs are in place: the report's figures as metrics ("report.*"), the report folder
    and the model bundle as artefacts ("report/", "model/"); a sweep's comparison, less each run's own
    report (logged with that run), as "sweep/" of the parent run."""
    uri = tracking_uri()
    if uri is None or event.run_id in _failed:
        return
    mlflow = store.client(uri)
    run_id = store.find(mlflow, store.experiment(mlflow, event.pipeline), event.run_id)
    if run_id is None:
        raise LookupError(f"no MLflow run is tagged hookyard.run_id={event.run_id} (was it logged elsewhere?)")
    store.log(mlflow, run_id, metrics=store.numbers(event.figures, "report."),
              params={"outputs": ",".join(event.outputs)} if event.outputs else None)
    if event.report and event.run_id == os.environ.get(ENV_SWEEP):
        for item in sorted(Path(event.report).iterdir()):
            if item.is_file() and not item.name.startswith("."):
                mlflow.log_artifact(run_id, str(item), "sweep")
    elif event.report:
        mlflow.log_artifacts(run_id, event.report, "report")
    if event.bundle:
        mlflow.log_artifacts(run_id, event.bundle, "model")


pipeline_start = hookimpl(_guarded(_start))
step_start = hookimpl(_guarded(_step_start))
step_end = hookimpl(_guarded(_step_end))
pipeline_end = hookimpl(_guarded(_end))
outputs_committed = hookimpl(_guarded(_outputs))
