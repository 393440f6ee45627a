"""`import engine` and listing every plugin import no heavy library (checked in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "sklearn", "econml", "ortools", "pulp", "duckdb")

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(body: str) -> list[str]:
    code = PROBE.format(body=body, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_import_engine_and_listing_plugins_import_nothing_heavy() -> None:
    assert heavy_modules_after("import engine\nengine.plugins()\n[engine.plugin_info(i.kind, i.name) for i in engine.plugins()]") == []


def test_the_plugins_command_imports_nothing_heavy() -> None:
    body = "import contextlib, io\nfrom engine.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    main(['plugins', '--json'])"
    assert heavy_modules_after(body) == []


def test_the_probe_does_see_a_heavy_import() -> None:
    assert heavy_modules_after("import pulp") == ["pulp"]
