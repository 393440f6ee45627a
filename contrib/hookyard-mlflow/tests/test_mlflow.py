"""hookyard-mlflow, installed as a separate distribution, logs the runs of the `hookyard` command to a
real local MLflow store, read back through MlflowClient; MLflow out of reach never fails a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = """
[pipeline]
name = "tracked"

[[steps]]
kind = "source"
name = "memory"
options = {data = {n = [1, 2, 3, 4], c = ["a", "b", "a", "c"]}}

[[steps]]
kind = "encoder"
name = "onehot"
options = {columns = ["c"], output = "arrow"}
"""


def hookyard(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "tracked.toml").write_text(PIPELINE)
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", **env}, timeout=180)


def runs(store: Path) -> list:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store.as_uri())
    experiment = client.get_experiment_by_name("tracked")
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def test_a_run_is_logged_with_its_steps_plugins_timings_and_ids(tmp_path: Path) -> None:
    import engine

    store = tmp_path / "store"
    done = hookyard(tmp_path, "run", "tracked.toml", "--no-report", "--json", MLFLOW_TRACKING_URI=store.as_uri())
    assert done.returncode == 0, done.stderr
    (run,) = runs(store)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"steps": "source,encoder", "source.plugin": "source:memory",
                               "encoder.plugin": "encoder:onehot"}
    assert run.data.metrics["source.rows_out"] == 4 and run.data.metrics["encoder.rows_out"] == 4
    assert {"source.seconds", "encoder.seconds", "seconds"} <= set(run.data.metrics)
    assert run.data.tags["hookyard.version"] == engine.__version__
    assert run.data.tags["hookyard.run_id"] in done.stdout


def test_a_sweep_is_a_parent_run_with_one_nested_run_per_combination(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = hookyard(tmp_path, "sweep", "tracked.toml", "--set", "encoder.separator=_,-", "--set",
                    "encoder.dtype=float64,float32", "--jobs", "2", "--out", "sweep", MLFLOW_TRACKING_URI=store.as_uri())
    assert done.returncode == 0, done.stderr
    logged = runs(store)
    (parent,) = [r for r in logged if "hookyard.sweep_parent" in r.data.tags]
    children = [r for r in logged if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(logged) == 6 and len(children) == 5
    (shared,) = [r for r in children if "sweep.shared" in r.data.params]
    assert shared.data.params["sweep.shared"] == "source"
    swept = sorted((r.data.params["sweep.encoder.separator"], r.data.params["sweep.encoder.dtype"])
                   for r in children if r is not shared)
    assert swept == sorted((s, d) for s in "_-" for d in ("float64", "float32"))
    assert all(r.data.params["steps"] == "encoder" for r in children if r is not shared)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "unknown-scheme://nowhere"])
def test_mlflow_out_of_reach_warns_and_the_run_goes_on(tmp_path: Path, uri: str) -> None:
    done = hookyard(tmp_path, "run", "tracked.toml", "--no-report", MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    assert "hookyard-mlflow: not logging run" in done.stderr


def test_off_logs_nothing(tmp_path: Path) -> None:
    done = hookyard(tmp_path, "run", "tracked.toml", "--no-report", HOOKYARD_MLFLOW="off",
                    MLFLOW_TRACKING_URI=(tmp_path / "store").as_uri())
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "store").exists()
