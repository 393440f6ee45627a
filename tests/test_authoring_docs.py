"""PLUGINS.md's authoring sections and README's commands table stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from engine.cli import COMMANDS, build_parser
from engine.records import CAPABILITIES

ROOT = Path(__file__).resolve().parents[1]


def test_the_capabilities_table_is_the_one_the_registry_checks() -> None:
    text = (ROOT / "PLUGINS.md").read_text()
    body = re.search(r"<!-- capabilities -->(.*?)<!-- /capabilities -->", text, re.S).group(1)
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines()
            if line.startswith("| ") and "`" in line]
    documented = {(kind, capability.strip("`")): promise for kind, capability, promise in rows}
    assert documented == {(k, c): p for k, caps in CAPABILITIES.items() for c, p in caps.items()}


def test_the_readme_lists_every_command() -> None:
    table = (ROOT / "README.md").read_text().split("## Commands", 1)[1].split("\n\n", 2)[1]
    listed = re.findall(r"^\| `hookyard ([a-z-]+)", table, re.M)
    assert sorted(listed) == sorted(COMMANDS)


def test_the_documented_new_plugin_usage_is_the_parser_s() -> None:
    usage = build_parser()._subparsers._group_actions[0].choices["new-plugin"].format_usage()
    assert "[--dist DISTRIBUTION] [--into DIR] KIND NAME" in " ".join(usage.split())
    assert "hookyard new-plugin KIND NAME [--dist DISTRIBUTION] [--into DIR]" in (ROOT / "PLUGINS.md").read_text()
