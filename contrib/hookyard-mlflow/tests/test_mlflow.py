"""hookyard-mlflow, installed as a separate distribution, logs the runs of the `hookyard` command to a
real local MLflow store (the default ./mlruns, or $MLFLOW_TRACKING_URI), read back through MlflowClient:
params, metrics, tags, the report and the model bundle; MLflow out of reach never fails a run."""

from __future__ import annotations

import json
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
    """The command in `tmp_path`, with the plugin on (as it is once installed) unless `env` says otherwise."""
    (tmp_path / "tracked.toml").write_text(PIPELINE)
    base = {k: v for k, v in os.environ.items() if k not in ("HOOKYARD_MLFLOW", "MLFLOW_TRACKING_URI")}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**base, "MLFLOW_ALLOW_FILE_STORE": "true", **env}, timeout=180)


def client(store: Path):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.tracking import MlflowClient

    return MlflowClient(store.as_uri())


def runs(store: Path, experiment: str = "tracked") -> list:
    found = client(store).get_experiment_by_name(experiment)
    return [] if found is None else client(store).search_runs([found.experiment_id])


def artefacts(store: Path, run_id: str, folder: str) -> list[str]:
    return sorted(a.path for a in client(store).list_artifacts(run_id, folder))


def test_a_run_is_logged_with_its_settings_timings_ids_report_and_figures(tmp_path: Path) -> None:
    import engine

    store = tmp_path / "store"
    done = hookyard(tmp_path, "run", "tracked.toml", "--report", "report", "--json", MLFLOW_TRACKING_URI=store.as_uri())
    assert done.returncode == 0, done.stderr
    (run,) = runs(store)
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "steps": "source,encoder", "source.plugin": "source:memory", "encoder.plugin": "encoder:onehot",
        "source.options.data": json.dumps({"c": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]}),
        "encoder.options.columns": '["c"]', "encoder.options.output": "arrow", "outputs": "report"}
    assert run.data.metrics["source.rows_out"] == 4 and run.data.metrics["encoder.rows_in"] == 4
    assert {"source.seconds", "encoder.seconds", "seconds"} <= set(run.data.metrics)
    figures = json.loads((tmp_path / "report" / "report.json").read_text())["figures"]
    assert run.data.metrics["report.drift.rows"] == figures["drift"]["rows"] == 4
    tags = run.data.tags
    assert tags["hookyard.version"] == engine.__version__ and tags["hookyard.run_id"] in done.stdout
    assert tags["hookyard.distribution.encoder"] == f"hookyard {engine.__version__}"
    assert tags["hookyard.distributions"] == "hookyard"
    assert {"report/report.html", "report/report.json"} <= set(artefacts(store, run.info.run_id, "report"))


def test_without_a_tracking_uri_runs_go_to_the_local_store_under_mlruns(tmp_path: Path) -> None:
    done = hookyard(tmp_path, "run", "tracked.toml", "--no-report")
    assert done.returncode == 0, done.stderr
    (run,) = runs(tmp_path / "mlruns")
    assert run.data.params["steps"] == "source,encoder"


def test_a_fitted_model_bundle_is_an_artefact_of_the_fitting_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = hookyard(tmp_path, "fit", "tracked.toml", "--model", "model", MLFLOW_TRACKING_URI=store.as_uri())
    assert done.returncode == 0, done.stderr
    (run,) = runs(store)
    logged = artefacts(store, run.info.run_id, "model")
    assert logged and sorted(f"model/{p.name}" for p in (tmp_path / "model").iterdir()) == logged


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
    assert all(artefacts(store, r.info.run_id, "report") for r in children if r is not shared)
    assert {"sweep/sweep.html", "sweep/sweep.json"} <= set(artefacts(store, parent.info.run_id, "sweep"))


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
