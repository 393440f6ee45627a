"""Fixtures for the core tests: real (if tiny) plugin distributions written to disk."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from engine import registry as registry_module

os.environ["HOOKYARD_MLFLOW"] = "off"  # hookyard-mlflow logs every run once installed; its tests turn it on


def write_distribution(
    root: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
    version: str = "1.0",
) -> Path:
    """Lay out an installed distribution under `root` exactly as pip would: modules plus a
    .dist-info folder with METADATA and entry_points.txt. Returns `root` (put it on sys.path)."""
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        path = root / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[hookyard]\n{lines}\n")
    return root


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install tiny distributions into a folder on sys.path for this test; the process-wide
    registry is reset so they are discovered, and reset again afterwards."""
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))
    registry_module.reset()

    def install(name: str, modules: Mapping[str, str], entry_points: Mapping[str, str], version: str = "1.0") -> Path:
        write_distribution(root, name, modules, entry_points, version)
        importlib.invalidate_caches()
        registry_module.reset()
        return root

    yield install
    registry_module.reset()
    for module in [m for m in sys.modules if m.startswith("acme")]:
        del sys.modules[module]


@pytest.fixture
def hookyard_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `hookyard` command as a user would, in a subprocess."""

    def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "engine", *args],
            capture_output=True, text=True, env=full_env, cwd=cwd or tmp_path, timeout=300,
        )

    return run
