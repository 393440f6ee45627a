"""The `hookyard` command as a user runs it, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import COMMANDS
from tests.conftest import write_distribution
from tests.plugin_sources import ENCODER, ENCODER_IMPL

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
