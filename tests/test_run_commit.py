"""`hookyard run` commits its outputs and its report together: real `kill -9`s at random points of real
runs, a report that fails after the sinks wrote, and two runs at once, each leaving the earlier outputs
or the new ones, consistent, and no stray file once the next run is done."""

from __future__ import annotations

import csv
import json
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

PIPELINE = """
[pipeline]
name = "quick"
report = "out/report"

[[steps]]
kind = "source"
name = "synthetic"
[steps.options]
n = 200

[[steps]]
kind = "encoder"
name = "onehot"
[steps.options]
columns = ["experiment"]

[[steps]]
id = "csv"
kind = "sink"
name = "csv"
[steps.options]
path = "other/rows.csv"
columns = ["x0", "t"]

[[steps]]
id = "parquet"
kind = "sink"
name = "parquet"
[steps.options]
path = "out/rows.parquet"
"""
EXPECTED = {"out/rows.parquet", "out/report/.hookyard", "out/report/report.json", "out/report/report.html",
            "other/rows.csv"}


def start(folder: Path, n: int, *extra: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "engine", "run", "quick.toml", "--set", f"source.n={n}", *extra],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=300)
    return process.returncode, err


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "quick.toml"}


def consistent_rows(folder: Path) -> int:
    """The rows of the run whose outputs are in place, after checking that all three agree on it."""
    report = json.loads((folder / "out/report/report.json").read_text())
    rows = {o["location"]: o["rows"] for o in report["outputs"]}
    parquet = pq.read_table(folder / "out/rows.parquet").num_rows
    with open(folder / "other/rows.csv", newline="") as handle:
        written = sum(1 for _ in csv.reader(handle)) - 1
    assert rows == {"other/rows.csv": parquet, "out/rows.parquet": parquet} and written == parquet
    return parquet


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "quick.toml").write_text(PIPELINE)
    return tmp_path


def test_random_kills_leave_one_runs_outputs_and_the_next_run_clears_up(folder: Path) -> None:
    code, err = finish(start(folder, 100))
    assert code == 0, err
    assert consistent_rows(folder) == 300
    chosen = random.Random(15)
    for kill in range(6):
        process = start(folder, 200 + kill)
        time.sleep(chosen.uniform(0.3, 3.5))
        process.send_signal(signal.SIGKILL)
        finish(process)
        assert consistent_rows(folder) in (300, *(3 * (200 + k) for k in range(kill + 1)))
    staging = start(folder, 300_000)
    while not list((folder / "out").glob(".rows.parquet.hookyard-*.stage")):
        assert staging.poll() is None, "the run ended before its sink began"
        time.sleep(0.01)
    staging.send_signal(signal.SIGKILL)
    finish(staging)
    code, err = finish(start(folder, 150))
    assert code == 0, err
    assert "removed 1 unfinished output(s) left in" in err and "by an interrupted run (for rows.parquet)" in err
    assert consistent_rows(folder) == 450
    assert files(folder) == EXPECTED


def test_a_report_that_cannot_be_written_leaves_the_earlier_outputs(folder: Path) -> None:
    """The file-size limit stands in for a full disk: the sinks' files fit under it, the report's
    HTML does not, so the run fails after the sinks have written."""
    code, err = finish(start(folder, 20))
    assert code == 0, err
    before = {name: (folder / name).read_bytes() for name in files(folder)}

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500,) * 2)

    code, err = finish(start(folder, 5, "--set", 'parquet.options.columns=["x0"]', preexec_fn=small_files))
    assert code == 1 and "File too large" in err and "Traceback" not in err
    assert {name: (folder / name).read_bytes() for name in files(folder)} == before


def test_a_second_run_of_the_pipeline_fails_clearly_while_the_first_writes(folder: Path) -> None:
    """The second `hookyard` starts first, and runs the moment the first has taken its lock."""
    (folder / "out").mkdir()
    second = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom engine.cli import main\nprint('ready', flush=True)\n"
         "while not (time.sleep(0.01) or __import__('os').path.exists('out/.hookyard.lock')): pass\n"
         "sys.exit(main(['run', 'quick.toml', '--set', 'source.n=20']))"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert second.stdout.readline().strip() == "ready"
    first = start(folder, 300_000)
    code, err = finish(second)
    assert code == 1 and f"another Hookyard run (pid {first.pid}" in err and "wait for it to finish" in err
    code, err = finish(first)
    assert code == 0, err
    assert consistent_rows(folder) == 900_000 and files(folder) == EXPECTED


def test_a_user_folder_named_as_the_report_is_never_replaced(folder: Path) -> None:
    notes = folder / "notes"
    notes.mkdir()
    (notes / "report.json").write_text("{}")
    (notes / "important.csv").write_text("keep")
    code, err = finish(start(folder, 20, "--report", "notes"))
    assert code == 1 and "not a Hookyard report" in err
    assert files(folder) == {"notes/report.json", "notes/important.csv"}
    assert (notes / "important.csv").read_text() == "keep"


def test_an_unwritable_report_location_is_refused_before_anything_runs(folder: Path) -> None:
    (folder / "taken").write_text("a file")
    code, err = finish(start(folder, 20, "--report", "taken/report"))
    assert code == 1 and "taken" in err and "Traceback" not in err
    assert files(folder) == {"taken"}


def test_a_solver_that_finds_no_plan_fails_the_run_and_commits_nothing(folder: Path) -> None:
    """The README's main job with a budget no plan can spend exactly: exit 1, no assignment written."""
    example = Path(__file__).resolve().parents[1] / "examples" / "uplift.toml"
    ran = subprocess.run([sys.executable, "-m", "engine", "run", str(example), "--set", "source.n=300",
                          "--set", "solver.params.budget=3000"], cwd=folder, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 1 and "found no plan (infeasible" in ran.stderr and "nothing is written" in ran.stderr
    assert files(folder) == set()
