"""Fit once, apply at any size: `hookyard fit --model`, `hookyard apply`, pipeline files that load a
bundle or a step's state, run as a user runs them (the CLI in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine.config import load_pipeline
from engine.pipeline import Pipeline, Step

ROOT = Path(__file__).resolve().parents[1]
FIT = ROOT / "examples" / "uplift-fit.toml"
APPLY = ROOT / "examples" / "uplift-apply.toml"
LIGHT = ("--set", "source.n=300", "--set", "cate.options.model_y=\"linear\"", "--set", "cate.options.model_t=\"linear\"")
"""The example's experiment with 300 rows per arm and linear first stages: seconds, not minutes."""
EFFECTS = ["cate_T1", "cate_T2", "cate_T3"]


def hookyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a fitted bundle (model/) and a customer base of 2,000 rows (base.parquet) with, as
    synthetic data can have, the true effects (examples/customers.toml writes the same shape)."""
    folder = tmp_path_factory.mktemp("fit-apply")
    fitted = hookyard("fit", str(FIT), "--model", "model", *LIGHT, cwd=folder)
    assert fitted.returncode == 0, fitted.stderr
    assert "fitted encoder, cate on 900 rows" in fitted.stdout
    base = engine.source("synthetic", n=2000, layout="multi-arm", categorical=True, seed=11, id_column="customer_id",
                         columns=["customer_id", *(f"x{j}" for j in range(10)), "region", "channel",
                                  "tau_T1", "tau_T2", "tau_T3"]).to_arrow()
    pq.write_table(base, folder / "base.parquet")
    return folder


def in_one_process(base: pa.Table) -> pa.Table:
    """Fit the example's steps on the same experiment and score the base, without any bundle."""
    pipeline = load_pipeline(FIT, [f"{LIGHT[i + 1]}" for i in range(0, len(LIGHT), 2)])
    fitted = pipeline.fit()
    encoder, cate = (plugin for _, plugin, _ in fitted.steps)
    features = fitted.steps[1][2]["features"]
    scored = Pipeline([Step("encoder", encoder, params={"fit": False}),
                       Step("cate", cate, params={"fit": False, "features": features})]).run(base)
    return scored.table


def test_fit_then_apply_through_the_cli_scores_as_one_process_does(work: Path) -> None:
    manifest = json.loads((work / "model" / "manifest.json").read_text())
    assert [s["id"] for s in manifest["steps"]] == ["encoder", "cate"]
    assert [c["name"] for c in manifest["input_schema"]] == [*(f"x{j}" for j in range(10)), "region", "channel"]
    applied = hookyard("apply", "model", "--source", "duckdb:path=base.parquet",
                       "--sink", "parquet:path=scored.parquet", "--no-report", cwd=work)
    assert applied.returncode == 0, applied.stderr
    assert "wrote 2,000 rows to scored.parquet" in applied.stdout
    scored = pq.read_table(work / "scored.parquet")
    expected = in_one_process(pq.read_table(work / "base.parquet"))
    assert scored.column("customer_id").to_pylist() == list(range(2000)), "columns the encoder never saw pass by"
    for column in EFFECTS:
        np.testing.assert_allclose(scored.column(column).to_numpy(), expected.column(column).to_numpy(), rtol=1e-12)


def test_apply_goes_on_into_a_solver_and_a_pipeline_file_does_the_same(work: Path) -> None:
    budget = ("--set", "solver.params.budget=150", "--set", "solver.params.costs=[0.1, 0.2, 0.3]")
    applied = hookyard("apply", "model", "--source", "duckdb:path=base.parquet", "--solver", "mckp", *budget,
                       "--sink", "parquet:path=plan.parquet", "--set", 'sink.columns=["customer_id", "assignment"]',
                       "--no-report", "--json", cwd=work)
    assert applied.returncode == 0, applied.stderr
    summary = json.loads(applied.stdout)
    assert summary["facts"]["solver"]["status"] in ("optimal", "feasible")
    plan = pq.read_table(work / "plan.parquet")
    assert plan.column_names == ["customer_id", "assignment"]
    costs = np.array([0.1, 0.2, 0.3])
    chosen = plan.column("assignment").to_numpy()
    assert costs[chosen[chosen >= 0]].sum() <= 150 + 1e-6
    filed = hookyard("run", str(APPLY), "--set", "pipeline.model=\"model\"", "--set", "source.path=base.parquet",
                     "--set", "solver.params.budget=150",
                     "--set", "sink.path=file-plan.parquet", "--no-report", cwd=work)
    assert filed.returncode == 0, filed.stderr
    again = pq.read_table(work / "file-plan.parquet")
    assert again.column("assignment").equals(plan.column("assignment"))


def test_a_base_without_a_fitted_column_or_with_another_type_is_refused_before_anything_runs(work: Path) -> None:
    base = pq.read_table(work / "base.parquet")
    pq.write_table(base.drop_columns(["x3"]), work / "no-x3.parquet")
    pq.write_table(base.set_column(base.column_names.index("region"), "region",
                                   pa.array(np.arange(base.num_rows))), work / "int-region.parquet")
    for name, message in (("no-x3.parquet", "x3"), ("int-region.parquet", "region")):
        applied = hookyard("apply", "model", "--source", f"duckdb:path={name}", "--sink", "parquet:path=never.parquet",
                           "--no-report", cwd=work)
        assert applied.returncode == 1
        assert "Traceback" not in applied.stderr and message in applied.stderr, applied.stderr
        assert not (work / "never.parquet").exists()


def test_a_bundle_from_a_newer_hookyard_or_plugin_is_refused(work: Path, tmp_path: Path) -> None:
    for field, value, message in (("format_version", 99, "upgrade hookyard"),
                                  ("plugin_version", "99.0", "99.0")):
        model = tmp_path / f"model-{field}"
        model.mkdir()
        for file in (work / "model").iterdir():
            (model / file.name).write_bytes(file.read_bytes())
        manifest = json.loads((model / "manifest.json").read_text())
        if field == "format_version":
            manifest[field] = value
        else:
            manifest["steps"][1][field] = value
        (model / "manifest.json").write_text(json.dumps(manifest))
        applied = hookyard("apply", str(model), "--source", "duckdb:path=base.parquet",
                           "--sink", "parquet:path=never.parquet", "--no-report", cwd=work)
        assert applied.returncode == 1 and message.lower() in applied.stderr.lower(), applied.stderr
        assert not (work / "never.parquet").exists()


def test_an_estimator_that_cannot_be_saved_says_so_before_it_fits(tmp_path: Path) -> None:
    fitted = hookyard("fit", str(FIT), "--model", "model", "--set", "cate.name=econml-linear-dml", cwd=tmp_path)
    assert fitted.returncode == 1
    assert "cannot go in a model bundle" in fitted.stderr and "econml" in fitted.stderr
    assert not (tmp_path / "model").exists()


def test_a_bundle_never_replaces_a_folder_of_other_files(work: Path, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    fitted = hookyard("fit", str(FIT), "--model", "notes", *LIGHT, cwd=tmp_path)
    assert fitted.returncode == 1 and "left alone" in fitted.stderr
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_steps_that_disagree_with_the_bundle_are_reported_with_the_others(work: Path) -> None:
    pipeline = load_pipeline(APPLY, ['pipeline.model="model"', "cate.name=econml-dr", "encoder.options.drop=\"first\""])
    os.chdir(work)
    try:
        problems = pipeline.validate()
    finally:
        os.chdir(ROOT)
    assert any("step 3 'cate'" in p and "the model bundle's step 'cate' is cate 'dml'" in p for p in problems)
    assert any("step 2 'encoder'" in p and "differ from those the model bundle's step was fitted with" in p
               for p in problems)


def test_a_step_loads_its_fitted_plugin_from_a_state_file(work: Path, tmp_path: Path) -> None:
    model = work / "model"
    steps = [Step("source", "duckdb", options={"path": str(work / "base.parquet")}),
             Step("encoder", "onehot", state=str(model / "encoder.json")),
             Step("cate", "dml", state=str(model / "cate.json"),
                  params={"features": json.loads((model / "manifest.json").read_text())["steps"][1]["params"]["features"]})]
    table = Pipeline(steps).run().table
    expected = in_one_process(pq.read_table(work / "base.parquet"))
    np.testing.assert_allclose(table.column("cate_T2").to_numpy(), expected.column("cate_T2").to_numpy(), rtol=1e-12)
    wrong = [steps[0], Step("encoder", "onehot", state=str(model / "cate.json"))]
    assert any("holds cate 'dml', not encoder 'onehot'" in p for p in Pipeline(wrong).validate())
