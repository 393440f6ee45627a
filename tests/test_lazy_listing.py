"""Listing plugins imports each distribution's entry-point module and nothing more: a plugin whose
module is slow to import delays only the commands that use that plugin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_distribution

HOOKS = '''
from engine import Registration, hookimpl

@hookimpl
def register_solvers():
    return [Registration(kind="solver", name="acme-slow", factory="acme_slow_impl.solver:Slow",
                         summary="a solver whose package takes long to import",
                         requires=("acme_slow_impl.solver",))]
'''

SLOW_PACKAGE = '''
import os
import pathlib

pathlib.Path(os.environ["ACME_IMPORTED"]).write_text("imported")
'''

SOLVER = '''
class Slow:
    """Never solves anything; only its import matters here."""

    def solve(self, problem):
        raise NotImplementedError
'''

PIPELINE = '[[steps]]\nkind = "source"\nname = "memory"\noptions = {data = {a = [1, 2]}}\n'


@pytest.fixture
def slow_site(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding the slow distribution, and the file its package writes when imported."""
    root = write_distribution(tmp_path / "site", "acme-slow", {
        "acme_slow": HOOKS, "acme_slow_impl.__init__": SLOW_PACKAGE, "acme_slow_impl.solver": SOLVER,
    }, {"slow": "acme_slow"})
    return root, tmp_path / "imported.txt"


def hookyard(site: tuple[Path, Path], *args: str) -> subprocess.CompletedProcess[str]:
    root, marker = site
    (root.parent / "p.toml").write_text(PIPELINE)
    env = {"PYTHONPATH": str(root), "ACME_IMPORTED": str(marker), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          cwd=root.parent, env=env, timeout=300)


@pytest.mark.parametrize("args", [
    ("plugins",), ("plugins", "--json"), ("plugins", "--kind", "solver"), ("show", "source", "memory"),
    ("validate", "p.toml"),
], ids=" ".join)
def test_commands_that_do_not_use_the_plugin_never_import_its_package(slow_site, args) -> None:
    ran = hookyard(slow_site, *args)
    assert ran.returncode == 0, ran.stderr
    assert not slow_site[1].exists(), f"`hookyard {' '.join(args)}` imported the slow plugin's package"
    if args[0] == "plugins":
        assert "acme-slow" in ran.stdout


def test_using_the_plugin_imports_its_package(slow_site) -> None:
    ran = hookyard(slow_site, "show", "solver", "acme-slow")
    assert ran.returncode == 0, ran.stderr
    assert slow_site[1].read_text() == "imported"
