"""`hookyard sweep` as a user runs it, in a subprocess, on small data: the combinations, the shared
steps, the comparison against single runs, the MLflow store it fills, swept decoders side by side, and
the bad input it refuses before running anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html import escape
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.errors import ConfigError
from engine.sweep import axes_of, split_values

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = str(ROOT / "examples" / "uplift.toml")
SMALL = ["--set", "source.n=300", "--set", "cate.model_y=linear", "--set", "cate.model_t=linear",
         "--set", "solver.params.budget=90", "--set", "solver.params.budget_sense=<="]


def hookyard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def small(tmp_path: Path) -> list[str]:
    return [*SMALL, "--set", f"sink.path={tmp_path / 'assignment.parquet'}"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[dict]]:
    """A 2 x 2 sweep in two processes, with the run log counting every step that ran and, where
    hookyard-mlflow is installed, every run logged to a local MLflow store (tmp/mlflow)."""
    tmp = tmp_path_factory.mktemp("sweep")
    log = tmp / "runs.jsonl"
    done = hookyard("sweep", PIPELINE, *small(tmp), "--set", "cate.name=dml,econml-linear-dml",
                    "--set", "solver.name=mckp,naive", "--jobs", "2", "--metric", "lift_true_pct",
                    "--out", str(tmp / "out"), cwd=tmp,
                    env={"HOOKYARD_RUNLOG": str(log), "HOOKYARD_MLFLOW": "on", "MLFLOW_ALLOW_FILE_STORE": "true",
                         "MLFLOW_TRACKING_URI": (tmp / "mlflow").as_uri()})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return tmp, json.loads((tmp / "out" / "sweep.json").read_text()), events


def test_a_two_by_two_sweep_runs_four_combinations_sharing_source_and_encoder(swept) -> None:
    tmp, data, events = swept
    assert [r["values"] for r in data["runs"]] == [
        {"cate.name": c, "solver.name": s} for c in ("dml", "econml-linear-dml") for s in ("mckp", "naive")]
    assert [r["status"] for r in data["runs"]] == ["ok"] * 4
    assert data["shared"]["steps"] == ["source", "encoder"]
    assert data["ran"] == {"jobs": 2, "on": "processes"}
    for row in data["runs"]:
        assert [s["step"] for s in row["steps"]] == ["cate", "solver", "sink"]
        assert (tmp / "out" / row["report"]).is_file()
        (written,) = row["outputs"]  # each combination's file sink writes beside its report
        assert written == f"runs/{row['index'] + 1:03d}/assignment.parquet"
        assert pq.read_table(tmp / "out" / written).num_rows == row["steps"][-1]["rows_out"] > 0
    assert (tmp / "out" / "sweep.html").is_file() and (tmp / "out" / "value_time.png").is_file()
    ran = [e["step"] for e in events if e["event"] == "step_end"]  # contrib/hookyard-runlog, every process
    assert ran.count("source") == 1 and ran.count("encoder") == 1 and ran.count("cate") == 4


def test_each_combination_writes_its_own_duckdb_database_beside_its_report(tmp_path: Path) -> None:
    (tmp_path / "rows.toml").write_text('''
[pipeline]
name = "rows"

[[steps]]
kind = "source"
name = "synthetic"
options = { n = 100, seed = 1, layout = "multi-arm" }

[[steps]]
kind = "sink"
name = "duckdb"
options = { database = "rows.duckdb", table = "rows" }
''')
    done = hookyard("sweep", "rows.toml", "--set", "source.n=100,200", "--jobs", "2", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [r["status"] for r in data["runs"]] == ["ok", "ok"]
    import duckdb

    for row, rows in zip(data["runs"], (100, 200)):
        (written,) = row["outputs"]
        assert written == f"runs/{row['index'] + 1:03d}/rows.duckdb"
        with duckdb.connect(str(tmp_path / "out" / written), read_only=True) as connection:
            assert connection.execute("SELECT count(*) FROM rows").fetchone()[0] == rows
    assert not (tmp_path / "rows.duckdb").exists()


def test_the_best_combination_is_the_one_with_the_best_metric(swept) -> None:
    _, data, _ = swept
    lifts = [r["metrics"]["lift_true_pct"] for r in data["runs"]]
    assert data["metric"] == {"key": "lift_true_pct", "goal": "max"}
    assert data["best"] == lifts.index(max(lifts))
    html = (swept[0] / "out" / "sweep.html").read_text()
    assert html.count("<a href='runs/") == 4
    for row in data["runs"]:
        chosen = row["figures"]["policy_value"]["plans"]["chosen"]["value"]["value"]
        assert row["metrics"]["value_dr_per_row"] == chosen and "value_dr_per_row" in html


def test_every_combination_has_the_figures_of_the_same_single_run(swept) -> None:
    from engine.config import load_pipeline
    from engine.report import build_report

    tmp, data, _ = swept
    for row in data["runs"]:
        sets = [f"{k}={v}" for k, v in row["values"].items()]
        pipeline = load_pipeline(PIPELINE, [*small(tmp)[1::2], *sets])
        figures = build_report(pipeline.run(), pipeline).figures
        assert json.loads(json.dumps(figures)) == row["figures"], row["values"]


def test_the_mlflow_store_holds_a_parent_run_and_one_child_per_combination_with_its_report(swept) -> None:
    pytest.importorskip("hookyard_mlflow", reason="contrib/hookyard-mlflow is not installed")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.tracking import MlflowClient

    tmp, data, _ = swept
    client = MlflowClient((tmp / "mlflow").as_uri())
    logged = client.search_runs([client.get_experiment_by_name("uplift").experiment_id])
    (parent,) = [r for r in logged if "hookyard.sweep_parent" in r.data.tags]
    children = {r.data.tags["hookyard.run_id"]: r for r in logged
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert len(children) == 5  # the shared steps' run and the four combinations
    assert children[data["shared"]["run_id"]].data.params["sweep.shared"] == "source,encoder"
    for row in data["runs"]:
        child = children[row["run_id"]]
        assert child.info.status == "FINISHED"
        assert {k: child.data.params[f"sweep.{k}"] for k in row["values"]} == row["values"]
        assert child.data.params["solver.plugin"] == f"solver:{row['values']['solver.name']}"
        assert child.data.metrics["report.headline.lift_true_pct"] == pytest.approx(row["metrics"]["lift_true_pct"])
        assert child.data.metrics["cate.rows_out"] == row["steps"][0]["rows_out"]
        assert "report/report.html" in {a.path for a in client.list_artifacts(child.info.run_id, "report")}
    best = data["runs"][data["best"]]["metrics"]["lift_true_pct"]
    assert parent.data.metrics["report.best.lift_true_pct"] == pytest.approx(best)
    comparison = {a.path for a in client.list_artifacts(parent.info.run_id, "sweep")}
    assert {"sweep/sweep.json", "sweep/sweep.html"} <= comparison


def test_swept_decoders_give_texts_and_scores_per_prompt_side_by_side(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="the decoders extra is not installed")
    from tests.decoders import tiny_models

    model = tiny_models.write_gpt2(tmp_path / "gpt2")
    sets = ["--set", f"decoder.options.model={json.dumps(str(model))}", "--set", "decoder.options.max_new_tokens=8",
            "--set", f"sink.path={json.dumps(str(tmp_path / 'generations.parquet'))}"]
    done = hookyard("sweep", str(ROOT / "examples" / "generate.toml"), *sets, "--set", "decoder.name=greedy,beam",
                    "--out", str(tmp_path / "out"), cwd=ROOT, env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "out" / "sweep.json").read_text())
    table = data["generations"]
    prompts = pq.read_table(tmp_path / "out" / "runs" / "001" / "generations.parquet").column("prompt").to_pylist()
    assert table["prompt_column"] == "prompt" and table["prompts"] == prompts and table["rows"] == 6
    assert [c["values"] for c in table["columns"]] == [{"decoder.name": "greedy"}, {"decoder.name": "beam"}]
    for column in table["columns"]:
        written = pq.read_table(tmp_path / "out" / data["runs"][column["index"]]["outputs"][0])
        assert column["texts"] == written.column("generation").to_pylist()
        assert column["scores"] == pytest.approx(written.column("score").to_pylist())
    assert table["columns"][0]["texts"] != table["columns"][1]["texts"]
    html = (tmp_path / "out" / "sweep.html").read_text()
    assert "<th>#1 greedy</th><th>#2 beam</th>" in html
    assert all(html.count(escape(text)) >= 1 for text in table["columns"][1]["texts"] if text)


def test_a_failing_combination_is_recorded_and_fail_fast_stops(tmp_path: Path) -> None:
    common = ["sweep", PIPELINE, *small(tmp_path), "--set", "cate.cv=5000,2", "--set", "solver.name=mckp"]
    done = hookyard(*common, "--out", str(tmp_path / "all"), cwd=tmp_path)
    assert done.returncode == 1
    runs = json.loads((tmp_path / "all" / "sweep.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert "5000-fold" in runs[0]["error"]
    done = hookyard(*common, "--fail-fast", "--out", str(tmp_path / "all"), cwd=tmp_path)  # replaces the first
    runs = json.loads((tmp_path / "all" / "sweep.json").read_text())["runs"]
    assert done.returncode == 1 and [r["status"] for r in runs] == ["failed", "not run"]


@pytest.mark.parametrize(("sets", "says"), [
    (["--set", "nosuch.x=1,2"], "[nosuch.x=2] --set 'nosuch.x=2': 'nosuch' matches no step"),
    (["--set", "solver.name=mckp,nosuch,naive"], "[solver.name=nosuch] step 4 'solver'"),
    (["--set", "solver.name=mckp,"], "an empty value in the list"),
    (["--set", "solver.name=mckp"], "nothing to sweep"),
    (["--set", "cate.cv=" + ",".join(map(str, range(2, 13))), "--set", "source.seed=" + ",".join(map(str, range(100)))],
     "1,100 combinations, more than 1,000"),
    (["--set", "solver.name=mckp,naive", "--metric", "beauty"], "--metric 'beauty' is not a sweep figure"),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path: Path, sets: list[str], says: str) -> None:
    done = hookyard("sweep", PIPELINE, *small(tmp_path), *sets, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 1
    assert says in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "assignment.parquet").exists()


def test_a_folder_holding_other_files_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    done = hookyard("sweep", PIPELINE, *small(tmp_path), "--set", "solver.name=mckp,naive", "--out",
                    str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 1 and "not a Hookyard sweep" in done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]


def test_max_runs_sets_the_limit_on_combinations(tmp_path: Path) -> None:
    done = hookyard("sweep", PIPELINE, "--set", "cate.cv=2,3", "--set", "solver.name=mckp,naive", "--max-runs", "3",
                    "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 1 and "the sweep has 4 combinations, more than 3" in done.stderr


def test_quoted_values_keep_their_commas() -> None:
    assert split_values('"a,b",c') == ['"a,b"', "c"]
    assert split_values("[1, 2],[3]") == ["[1, 2]", "[3]"]
    fixed, axes = axes_of(['pipeline.name="x,y"', "solver.name=mckp,naive"])
    assert fixed == ['pipeline.name="x,y"'] and axes[0].values == ("mckp", "naive")
    with pytest.raises(ConfigError, match="swept twice"):
        axes_of(["a.b=1,2", "a.b=3,4"])


@pytest.mark.parametrize(("sets", "shared"), [
    (["solver.name=mckp,naive"], ["source", "encoder"]),  # a cate step's effects cannot travel in a table
    (["encoder.drop=first,if_binary"], ["source"]),
    (["source.seed=1,2"], []),
    (["pipeline.seed=1,2"], []),
])
def test_the_shared_steps_are_those_before_the_first_swept_one_that_hand_on_only_a_table(
        sets: list[str], shared: list[str]) -> None:
    from engine.sweep import plan_sweep

    assert plan_sweep(PIPELINE, sets).shared_ids == shared
