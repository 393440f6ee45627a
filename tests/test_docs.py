"""README, PLUGINS.md and the CI script stay true to the registry and to each other."""

from __future__ import annotations

import re
from pathlib import Path

import engine
import engine.registry

ROOT = Path(__file__).resolve().parents[1]


def catalogue() -> dict[str, list[tuple[str, tuple[str, ...], str, str]]]:
    text = (ROOT / "PLUGINS.md").read_text()
    out = {}
    for kind, body in re.findall(r"<!-- catalogue:(\w+) -->(.*?)<!-- /catalogue:\1 -->", text, re.S):
        rows = []
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[0].startswith("`"):
                aliases = tuple(a.strip(" `") for a in cells[1].split(",") if a.strip(" `") not in ("—", ""))
                rows.append((cells[0].strip("`"), aliases, cells[2].strip("` "), cells[3]))
        out[kind] = sorted(rows)
    return out


def test_the_catalogue_in_plugins_md_matches_the_registry() -> None:
    registry = engine.registry.Registry(environ={"HOOKYARD_LOAD_PLUGINS": ""})
    expected = {kind: [] for kind in engine.KINDS}
    for info in registry.plugins():
        reg = info.registration
        expected[reg.kind].append((reg.name, reg.aliases, reg.extra or "—", reg.summary))
    assert catalogue() == {kind: sorted(rows) for kind, rows in expected.items()}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash|console)\n(.*?)\n```", quick, re.S)


def test_the_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()


def test_every_environment_variable_the_registry_reads_is_documented() -> None:
    plugins_md = (ROOT / "PLUGINS.md").read_text()
    for name in (engine.registry.ENV_LOAD, engine.registry.ENV_DISABLE, engine.registry.ENV_STRICT):
        assert name in plugins_md
