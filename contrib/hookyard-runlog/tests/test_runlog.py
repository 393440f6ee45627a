"""hookyard-runlog, installed as a separate distribution, logs the runs of the `hookyard` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PIPELINE = """
[pipeline]
name = "logged"

[[steps]]
kind = "source"
name = "memory"
options = {data = {n = [1, 2, 3, 4, 5]}}
"""


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "logged.toml").write_text(PIPELINE)
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


def test_it_is_discovered_by_its_distribution_name(tmp_path: Path) -> None:
    listed = run(tmp_path, "plugins")
    assert "observers: hookyard-runlog 0.1.0 (pipeline_end, pipeline_start, step_end)" in listed.stdout


def test_every_run_appends_its_events(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "runs.jsonl"
    for _ in range(2):
        assert run(tmp_path, "run", "logged.toml", HOOKYARD_RUNLOG=str(log)).returncode == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events] == ["pipeline_start", "step_end", "pipeline_end"] * 2
    step = events[1]
    assert (step["step"], step["plugin"], step["rows_out"], step["status"]) == ("source", "memory", 5, "ok")
    assert events[0]["run_id"] == events[2]["run_id"] != events[3]["run_id"]
    assert events[2]["status"] == "ok" and events[2]["pipeline"] == "logged"
    assert (step["index"], events[0]["quiet"]) == (1, False)


def test_an_observer_learns_that_the_run_is_quiet(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    result = run(tmp_path, "run", "logged.toml", "--quiet", HOOKYARD_RUNLOG=str(log))
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert json.loads(log.read_text().splitlines()[0])["quiet"] is True


def test_a_failed_run_is_logged_with_its_error(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    result = run(tmp_path, "run", "logged.toml", "--set", "source.options.data={n = 5}", HOOKYARD_RUNLOG=str(log))
    assert result.returncode == 1
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[-1]["status"] == "failed" and "step 1 'source'" in events[-1]["error"]
    assert events[-2]["status"] == "failed"


def test_disabling_the_distribution_by_name_stops_the_log(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    result = run(tmp_path, "run", "logged.toml", HOOKYARD_RUNLOG=str(log), HOOKYARD_DISABLE_PLUGINS="hookyard-runlog")
    assert result.returncode == 0
    assert not log.exists()
    assert run(tmp_path, "run", "logged.toml", HOOKYARD_RUNLOG="off").returncode == 0


def test_an_unwritable_log_is_a_warning_naming_the_plugin_and_the_run_goes_on(tmp_path: Path) -> None:
    result = run(tmp_path, "run", "logged.toml", HOOKYARD_RUNLOG="/dev/full")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("hookyard: warning:")]
    hooks = [w.split("its hook ")[1].split(" ")[0] for w in warnings]
    assert hooks == ["'pipeline_start'", "'step_end'", "'pipeline_end'"]
    assert all("distribution 'hookyard-runlog'" in w and "No space left on device" in w for w in warnings)


def test_in_strict_mode_an_unwritable_log_fails_the_run_naming_the_plugin(tmp_path: Path) -> None:
    result = run(tmp_path, "run", "logged.toml", HOOKYARD_RUNLOG="/dev/full", HOOKYARD_STRICT_PLUGINS="1")
    assert result.returncode == 1
    assert "hookyard: error: the observer 'hookyard-runlog:runlog' of distribution 'hookyard-runlog'" in result.stderr
