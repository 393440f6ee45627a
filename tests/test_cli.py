"""The `hookyard` command as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import COMMANDS
from tests.conftest import write_distribution
from tests.plugin_sources import ENCODER, ENCODER_IMPL, registering

QUICK = """
[pipeline]
name = "quick"

[[steps]]
kind = "source"
name = "memory"
options = {data = {n = [1, 2, 3], colour = ["red", "blue", "red"]}}
"""


def test_help_describes_every_command(hookyard_cli) -> None:
    top = hookyard_cli("--help")
    assert top.returncode == 0
    for command in COMMANDS:
        assert command in top.stdout
        sub = hookyard_cli(command, "--help")
        assert sub.returncode == 0, sub.stderr
        assert f"usage: hookyard {command}" in sub.stdout
    assert "HOOKYARD_LOAD_PLUGINS" in top.stdout


def test_plugins_lists_a_table_and_json(hookyard_cli) -> None:
    table = hookyard_cli("plugins")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == ["KIND", "NAME", "ALIASES", "STATUS", "DISTRIBUTION", "VERSION", "SUMMARY"]
    listed = json.loads(hookyard_cli("plugins", "--json").stdout)
    memory = next(p for p in listed if p["name"] == "memory")
    for key in ("kind", "name", "aliases", "summary", "distribution", "version", "factory", "status"):
        assert key in memory
    assert memory["status"] == "available"


def test_an_installed_distribution_shows_up_in_the_listing(hookyard_cli, tmp_path: Path) -> None:
    root = write_distribution(tmp_path / "site", "acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"})
    listed = json.loads(hookyard_cli("plugins", "--json", "--kind", "encoder", env={"PYTHONPATH": str(root)}).stdout)
    assert [(p["name"], p["distribution"], p["aliases"]) for p in listed if p["distribution"] == "acme-encoders"] == [
        ("acme-upper", "acme-encoders", ["shout"])
    ]
    shown = hookyard_cli("show", "encoder", "shout", env={"PYTHONPATH": str(root)})
    assert shown.returncode == 0, shown.stderr
    assert "suffix: str = ''" in shown.stdout


def test_run_and_validate_a_pipeline_file(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "quick.toml").write_text(QUICK)
    validated = hookyard_cli("validate", "quick.toml")
    assert validated.returncode == 0 and "ok (1 steps: source)" in validated.stdout
    ran = hookyard_cli("run", "quick.toml", "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [(s["step"], s["rows_out"]) for s in summary["steps"]] == [("source", 3)]
    quiet = hookyard_cli("run", "quick.toml", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("[[steps]]\nkind = \n", (), "bad.toml:2: malformed TOML"),
        (QUICK.replace('"memory"', '"memroy"'), (), "Did you mean 'memory'?"),
        (QUICK, ("--set", "source.options.columns=3"), "option 'columns' must be a list of str or None, got int 3"),
        (QUICK, ("--set", "source.optionz.data=3"), "has no option 'optionz'"),
    ],
)
def test_bad_input_is_a_clear_error_without_a_traceback(hookyard_cli, tmp_path: Path, text, args, message) -> None:
    (tmp_path / "bad.toml").write_text(text)
    result = hookyard_cli("run", "bad.toml", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    debug = hookyard_cli("--debug", "run", "bad.toml", *args)
    assert "Traceback" in debug.stderr


def test_a_missing_file_and_a_bad_command_line_exit_non_zero(hookyard_cli) -> None:
    missing = hookyard_cli("run", "nowhere.toml")
    assert missing.returncode == 1 and "nowhere.toml: no such pipeline file" in missing.stderr
    assert hookyard_cli("frobnicate").returncode == 2


def test_help_says_what_strict_mode_covers_and_that_hookyard_names_the_builtins(hookyard_cli) -> None:
    top = " ".join(hookyard_cli("--help").stdout.split())
    assert "a name claimed by two distributions" in top
    assert "'hookyard' skips every built-in plugin" in top


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        ran = subprocess.run([sys.executable, "-m", "engine", "plugins"], stdout=write, stderr=subprocess.PIPE,
                             text=True, cwd=tmp_path, timeout=300)
    finally:
        os.close(write)
    assert ran.stderr == ""
    assert ran.returncode == 141


def test_plugins_check_imports_every_factory_and_fails_on_broken_ones(hookyard_cli, tmp_path: Path) -> None:
    hooks = registering("register_sinks", "sink", "acme-gone", "acme_nowhere:Sink")
    root = write_distribution(tmp_path / "site", "acme-gone", {"acme_gone": hooks}, {"gone": "acme_gone"})
    plain = hookyard_cli("plugins", env={"PYTHONPATH": str(root)})
    assert plain.returncode == 0 and "acme-gone" in plain.stdout
    checked = hookyard_cli("plugins", "--check", env={"PYTHONPATH": str(root)})
    assert checked.returncode == 1
    assert "hookyard: error: sink plugin 'acme-gone' from distribution 'acme-gone' could not be loaded" in checked.stderr
    assert "No module named 'acme_nowhere'" in checked.stderr and "1 failed" in checked.stderr
    listed = json.loads(hookyard_cli("plugins", "--check", "--json", env={"PYTHONPATH": str(root)}).stdout)
    checks = {p["name"]: p["check"] for p in listed}
    assert checks["memory"] == "ok" and "acme_nowhere" in checks["acme-gone"]


def test_a_broken_distribution_is_one_warning_with_one_prefix(hookyard_cli, tmp_path: Path) -> None:
    source = "from engine import hookimpl\n\n@hookimpl\ndef register_sinks():\n    raise RuntimeError('down')\n"
    root = write_distribution(tmp_path / "site", "acme-down", {"acme_down": source}, {"down": "acme_down"})
    (tmp_path / "quick.toml").write_text(QUICK)
    for args in (("plugins",), ("validate", "quick.toml"), ("run", "quick.toml", "--json")):
        ran = hookyard_cli(*args, env={"PYTHONPATH": str(root)})
        assert ran.returncode == 0, ran.stderr
        warned = [line for line in ran.stderr.splitlines() if "warning" in line]
        assert len(warned) == 1, ran.stderr
        assert warned[0].startswith("hookyard: warning: skipped plugins of distribution 'acme-down': its hook "
                                    "'register_sinks' raised RuntimeError('down')")


def test_strict_mode_reports_a_conflict_once_as_a_registry_problem(hookyard_cli, tmp_path: Path) -> None:
    root = tmp_path / "site"
    for dist in ("acme-one", "acme-two"):
        module = dist.replace("-", "_")
        write_distribution(root, dist, {module: registering("register_solvers", "solver", "mckp", f"{module}:S")},
                           {dist: module})
    (tmp_path / "two.toml").write_text(QUICK + '\n[[steps]]\nkind = "sink"\nname = "csv"\noptions = {path = "o.csv"}\n')
    ran = hookyard_cli("validate", "two.toml", env={"PYTHONPATH": str(root), "HOOKYARD_STRICT_PLUGINS": "1"})
    assert ran.returncode == 1
    assert ran.stderr.count("solver name 'mckp' is claimed by") == 1
    assert ran.stderr.startswith("hookyard: error: the installed plugins conflict (HOOKYARD_STRICT_PLUGINS is set")
    assert "step 1" not in ran.stderr and "step 2" not in ran.stderr


def test_an_unknown_name_says_the_distribution_that_failed_to_load(hookyard_cli, tmp_path: Path) -> None:
    root = write_distribution(tmp_path / "site", "acme-jsonl", {"acme_jsonl": "raise ImportError('no orjson')"},
                              {"jsonl": "acme_jsonl"})
    (tmp_path / "j.toml").write_text(QUICK.replace('"memory"', '"acme-jsonl"'))
    ran = hookyard_cli("validate", "j.toml", env={"PYTHONPATH": str(root)})
    assert ran.returncode == 1
    assert "no source plugin named 'acme-jsonl'" in ran.stderr
    assert "failed to load" in ran.stderr and "no orjson" in ran.stderr


def test_a_misspelt_disable_name_warns(hookyard_cli) -> None:
    ran = hookyard_cli("plugins", env={"HOOKYARD_DISABLE_PLUGINS": "hookyard-runlgo"})
    assert ran.returncode == 0
    assert "hookyard: warning: HOOKYARD_DISABLE_PLUGINS names 'hookyard-runlgo'" in ran.stderr


def test_new_plugin_scaffolds_a_project(hookyard_cli, tmp_path: Path) -> None:
    made = hookyard_cli("new-plugin", "sink", "acme-jsonl", "--into", "projects")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "projects" / "hookyard-acme-jsonl" / "src" / "hookyard_acme_jsonl" / "sink.py").is_file()
    again = hookyard_cli("new-plugin", "sink", "acme-jsonl", "--into", "projects")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_chdir_runs_a_file_written_for_another_folder(hookyard_cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "colours.csv").write_text("colour\nred\nblue\n")
    (project / "colours.toml").write_text(
        '[[steps]]\nkind = "source"\nname = "duckdb"\noptions = { path = "data/colours.csv" }\n\n'
        '[[steps]]\nkind = "sink"\nname = "parquet"\noptions = { path = "out/colours.parquet" }\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lost = hookyard_cli("run", str(project / "colours.toml"), "--no-report", cwd=elsewhere)
    assert lost.returncode == 1 and "data/colours.csv" in lost.stderr and "Traceback" not in lost.stderr
    found = hookyard_cli("run", str(project / "colours.toml"), "-C", str(project), "--no-report", cwd=elsewhere)
    assert found.returncode == 0, found.stderr
    assert (project / "out" / "colours.parquet").exists() and not (elsewhere / "out").exists()
    missing = hookyard_cli("-C", str(tmp_path / "nowhere"), "plugins")
    assert missing.returncode == 1 and "--chdir" in missing.stderr and "give an existing folder" in missing.stderr
