"""The main job (examples/uplift.toml and its Python twin) run as a user runs it: `hookyard run` in a
subprocess, on small data set with --set, and `make demo` exactly as the README says."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.config import dumps_pipeline, load_pipeline, loads_pipeline, to_dict
from engine.errors import PipelineValidationError
from engine.metrics import pehe
from tests.test_docs import readme_commands

ROOT = Path(__file__).resolve().parents[1]
UPLIFT = ROOT / "examples" / "uplift.toml"
SMALL = ("--set", "source.n=500", "--set", "solver.params.budget=150")
"""500 rows per experiment (1,500 in all) and a budget the cheapest treatment for everyone fills."""
ENV = {"OMP_NUM_THREADS": "1"}
"""One OpenMP thread per process: the tests run two at a time on two cores."""
REPORT = Path("runs/uplift/report")
ASSIGNMENT = Path("runs/uplift/assignment.parquet")


def hookyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **ENV}, timeout=300)


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def figures(folder: Path) -> dict:
    return json.loads((folder / REPORT / "report.json").read_text())["figures"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run of the example on small data: its folder and the finished process."""
    folder = tmp_path_factory.mktemp("uplift")
    ran = hookyard("run", str(UPLIFT), *SMALL, cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return folder, ran


def test_the_job_writes_the_assignment_and_a_report_with_the_figures(small_run) -> None:
    folder, ran = small_run
    table = pq.read_table(folder / ASSIGNMENT)
    assert table.num_rows == 1500
    plan = table.column("assignment").to_numpy()
    assert set(plan.tolist()) <= {-1, 0, 1, 2} and (plan >= 0).any()
    assert sorted(files(folder / REPORT)) == [".hookyard", "calibration.png", "cate.png", "frontier.png", "overlap.png",
                                              "policy_value.png", "qini.png", "report.html", "report.json"]
    for png in ("cate.png", "frontier.png", "overlap.png"):
        assert (folder / REPORT / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = json.loads((folder / REPORT / "report.json").read_text())
    assert [(s["step"], s["name"]) for s in report["run"]["steps"]] == [
        ("source", "synthetic"), ("encoder", "onehot"), ("cate", "dml"), ("solver", "mckp"), ("sink", "parquet")]
    assert all(s["version"] and s["seconds"] >= 0 for s in report["run"]["steps"])
    assert report["outputs"] == [{"location": str(ASSIGNMENT), "format": "parquet", "rows": 1500, "table": None}]

    got = report["figures"]
    estimated = np.column_stack([table.column(f"cate_T{k}").to_numpy() for k in (1, 2, 3)])
    truth = np.column_stack([table.column(f"tau_T{k}").to_numpy() for k in (1, 2, 3)])
    assert got["cate"]["pehe"] == pytest.approx(pehe(truth, estimated, ["T1", "T2", "T3"]))
    rows = np.flatnonzero(plan >= 0)
    assert got["solver"]["status"] in ("optimal", "feasible") and got["solver"]["gap_rel"] < 1e-6
    head = got["headline"]
    assert (head["rows"], head["budget"], head["budget_sense"], head["costs"]) == (1500, 150.0, "==", [0.1, 0.2, 0.3])
    ours, naive = head["optimised"], head["naive"]
    assert ours["estimated"] == pytest.approx(estimated[rows, plan[rows]].sum())
    assert ours["true"] == pytest.approx(truth[rows, plan[rows]].sum())
    assert ours["treated"] == rows.size
    assert ours["cost"] == pytest.approx(150.0) and naive["cost"] <= 150.0 + 1e-9
    assert head["lift_estimated_pct"] == pytest.approx(100 * (ours["estimated"] / naive["estimated"] - 1))
    assert head["lift_estimated_pct"] > 0 and head["lift_true_pct"] > 0
    assert [p["budget"] for p in got["frontier"]["points"]] == [37.5, 75.0, 112.5, 150.0, 225.0, 300.0]
    frontier = [p["optimised"]["estimated"] for p in got["frontier"]["points"]]
    assert frontier == sorted(frontier) and frontier[3] == ours["estimated"]
    oracle = got["oracle"]
    assert oracle["oracle"]["true_objective"] >= oracle["plan"]["true_objective"] - 1e-6
    assert 0 < oracle["share_of_oracle_pct"] <= 100 + 1e-6

    page = (folder / REPORT / "report.html").read_text()
    assert sorted(got["overlap"]) == ["T1", "T2", "T3"]
    for text in ("cate.png", "frontier.png", "overlap.png", "Overlap", "PEHE", "Against the oracle", "dml",
                 f"{head['lift_estimated_pct']:+.1f}%", f"{head['lift_true_pct']:+.1f}%"):
        assert text in page

    lines = ran.stdout.splitlines()
    assert lines[:2] == [f"wrote 1,500 rows to {ASSIGNMENT}", f"report: {REPORT / 'report.html'}"]
    assert lines[2].startswith("headline: at budget 150 (==) the mckp plan")
    assert f"({head['lift_estimated_pct']:+.1f}%)" in lines[2] and f"({head['lift_true_pct']:+.1f}%)" in lines[2]
    assert "cate" in ran.stderr and "done in" in ran.stderr


def test_the_python_example_is_the_same_pipeline_and_the_same_seed_gives_the_same_figures(small_run, tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("uplift_example", ROOT / "examples" / "uplift.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert to_dict(example.build_pipeline()) == to_dict(load_pipeline(UPLIFT))

    ran = subprocess.run([sys.executable, str(ROOT / "examples" / "uplift.py"), "--rows", "500", "--budget", "150",
                          "--out", "runs/uplift"], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, **ENV}, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert figures(tmp_path) == figures(small_run[0])
    assert ran.stdout == small_run[1].stdout


def test_swapping_the_solver_and_the_estimator_by_name(tmp_path: Path) -> None:
    ran = hookyard("run", str(UPLIFT), *SMALL, "--set", "solver.name=pulp", "--set", "cate.name=econml-linear-dml",
                   "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [s["name"] for s in summary["steps"]] == ["synthetic", "onehot", "econml-linear-dml", "pulp", "parquet"]
    report = json.loads((tmp_path / REPORT / "report.json").read_text())
    assert summary["report"] == {"folder": str(REPORT), "figures": report["figures"]}
    assert [s["name"] for s in report["run"]["steps"]][2:4] == ["econml-linear-dml", "pulp"]
    got = report["figures"]
    assert got["solver"]["backend"].startswith("pulp") and got["solver"]["status"] == "optimal"
    assert got["headline"]["optimised"]["solver"] == "pulp"
    assert got["oracle"]["solver"] == got["frontier"]["solver"] == "mckp"
    assert got["oracle"]["share_of_oracle_pct"] <= 100 + 1e-6
    page = (tmp_path / REPORT / "report.html").read_text()
    assert "econml-linear-dml" in page and "the pulp plan" in page


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text[: text.index("options = { model_y") + 20], "malformed TOML"),
        (lambda text: text.replace('name = "mckp"', 'name = "mckpp"'), "Did you mean 'mckp'?"),
        (lambda text: text.replace('report = "runs/uplift/report"', "report = 3"), "report must be a folder path"),
    ],
    ids=["truncated", "unknown-plugin", "bad-report"],
)
def test_a_corrupted_config_writes_nothing(tmp_path: Path, edit, message) -> None:
    (tmp_path / "uplift.toml").write_text(edit(UPLIFT.read_text()))
    ran = hookyard("run", "uplift.toml", *SMALL, cwd=tmp_path)
    assert ran.returncode == 1 and message in ran.stderr and "Traceback" not in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uplift.toml"]


def test_a_failing_step_writes_nothing(tmp_path: Path) -> None:
    ran = hookyard("run", str(UPLIFT), *SMALL, "--set", "cate.params.outcome=revenue", cwd=tmp_path)
    assert ran.returncode == 1
    assert "step 3 'cate' (cate 'dml') failed" in ran.stderr and "revenue" in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_the_earlier_outputs_as_they_were(small_run, tmp_path: Path) -> None:
    shutil.copytree(small_run[0] / "runs", tmp_path / "runs")
    before = files(tmp_path)
    failed = hookyard("run", str(UPLIFT), *SMALL, "--set", "sink.options.if_exists=error", "--quiet", cwd=tmp_path)
    assert failed.returncode == 1 and "exists" in failed.stderr
    assert files(tmp_path) == before


def test_a_report_folder_holding_other_files_is_refused_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    ran = hookyard("run", str(UPLIFT), *SMALL, "--report", "notes", cwd=tmp_path)
    assert ran.returncode == 1 and "not a Hookyard report" in ran.stderr
    assert files(tmp_path) == {"notes/keep.txt": b"mine"}


def test_quiet_prints_nothing_and_no_report_writes_only_the_assignment(tmp_path: Path) -> None:
    ran = hookyard("run", str(UPLIFT), *SMALL, "--quiet", "--no-report", cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout == "" and ran.stderr == ""
    assert sorted(files(tmp_path)) == [str(ASSIGNMENT)]


def test_the_report_folder_survives_the_pipeline_file_round_trip() -> None:
    pipeline = load_pipeline(UPLIFT)
    assert pipeline.report == "runs/uplift/report"
    again = loads_pipeline(dumps_pipeline(pipeline))
    assert to_dict(again) == to_dict(pipeline) and again.report == pipeline.report
    assert to_dict(loads_pipeline('[[steps]]\nkind = "source"\nname = "memory"\n'))["pipeline"] == {"name": "<pipeline>"}
    with pytest.raises(PipelineValidationError, match="report must be a folder path"):
        loads_pipeline('[pipeline]\nreport = ""\n[[steps]]\nkind = "source"\nname = "memory"\n')


def test_make_demo_runs_the_main_job_as_the_readme_says() -> None:
    command = readme_commands()[0]
    assert command == "make demo"
    # The tests run in an environment with the project installed, wherever it lives: BIN points
    # make at its scripts folder, and --old-file keeps make from setting up .venv (which would
    # need the network) whatever the time stamps say.
    scripts = sysconfig.get_path("scripts")
    assert os.path.isfile(os.path.join(scripts, "hookyard")), f"the hookyard command is not installed in {scripts}"
    argv = [*shlex.split(command), f"BIN={scripts}", "--old-file", os.path.join(scripts, ".installed")]
    ran = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **ENV}, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert f"wrote 30,000 rows to {ASSIGNMENT}" in ran.stdout
    assert f"report: {REPORT / 'report.html'}" in ran.stdout and "headline: at budget 3,000 (==)" in ran.stdout
    head = figures(ROOT)["headline"]
    assert head["rows"] == 30_000 and head["lift_estimated_pct"] > 0 and head["lift_true_pct"] > 0
