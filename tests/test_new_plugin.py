"""`hookyard new-plugin` writes a distribution that `pip install -e` takes and whose contract suite
passes as written, for every kind. Each is installed into a throwaway environment that sees this
one's packages but installs into its own folder, so no test here leaves a distribution behind."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine import __version__
from engine.cli.new_plugin import requirement, scaffold
from engine.cli.templates import TEMPLATES
from engine.errors import OptionError
from engine.registry import Registry

CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
             "PIP_ROOT_USER_ACTION": "ignore", "PIP_NO_INDEX": "1"}


def child_environment(folder: Path) -> Path:
    """A virtual environment in `folder` whose interpreter also sees this one's site folders (a .pth
    file adds them after its own) and installs into its own; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
    Path(own, "_parent_site.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
    return python


@pytest.fixture(scope="module")
def child_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return child_environment(tmp_path_factory.mktemp("venv"))


def run(*argv: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=CHILD_ENV,
                          timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_the_scaffold_installs_and_passes_its_contract_suite(kind: str, child_python: Path, tmp_path: Path) -> None:
    made = run(sys.executable, "-m", "engine", "new-plugin", kind, f"acme-{kind}", "--into", tmp_path, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / f"hookyard-acme-{kind}"
    assert f"created {project} ({kind} plugin 'acme-{kind}')" in made.stdout

    installed = run(child_python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", project,
                    cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    tested = run(child_python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly", cwd=project)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    summary = tested.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    skipped = [line for line in tested.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("does not declare the" in line for line in skipped), skipped

    checked = run(child_python, "-m", "engine", "plugins", "--check", "--json", "--kind", kind, cwd=project)
    assert checked.returncode == 0, checked.stderr
    mine = [p for p in json.loads(checked.stdout) if p["distribution"] == f"hookyard-acme-{kind}"]
    assert [(p["name"], p["version"], p["check"]) for p in mine] == [(f"acme-{kind}", "0.1.0", "ok")]

    ours = {i.distribution for i in Registry(environ={}).plugins()}
    assert f"hookyard-acme-{kind}" not in ours, "the scaffold leaked into the test's own environment"


def test_the_project_declares_its_entry_point_requirement_and_registration(tmp_path: Path) -> None:
    project = scaffold("solver", "Acme_Greedy", into=tmp_path)
    assert project == tmp_path / "hookyard-acme-greedy"
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "src/hookyard_acme_greedy/__init__.py", "src/hookyard_acme_greedy/solver.py",
        "tests/test_contract.py"]
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "hookyard-acme-greedy"
    assert meta["project"]["entry-points"]["hookyard"] == {"acme-greedy": "hookyard_acme_greedy"}
    assert meta["project"]["dependencies"] == [requirement(__version__)]
    registration = (project / "src/hookyard_acme_greedy/__init__.py").read_text()
    assert 'factory="hookyard_acme_greedy.solver:AcmeGreedySolver"' in registration
    assert "def register_solvers()" in registration
    assert "class AcmeGreedySolver" in (project / "src/hookyard_acme_greedy/solver.py").read_text()
    assert 'name = "acme-greedy"' in (project / "tests/test_contract.py").read_text()
    readme = (project / "README.md").read_text()
    assert "`acme-greedy`" in readme and "pip install -e '.[test]'" in readme


def test_the_requirement_range_is_the_minor_series_before_1_0_and_the_major_one_after() -> None:
    assert requirement("0.1.0") == "hookyard>=0.1,<0.2"
    assert requirement("0.12.3") == "hookyard>=0.12,<0.13"
    assert requirement("2.4.1") == "hookyard>=2.4,<3"


def test_a_dist_name_chooses_the_folder_and_the_package(tmp_path: Path) -> None:
    project = scaffold("source", "jsonl", dist="Acme.Sources", into=tmp_path)
    assert project.name == "Acme.Sources"
    assert (project / "src" / "acme_sources" / "source.py").is_file()


def test_an_existing_folder_is_never_written_into(tmp_path: Path) -> None:
    (tmp_path / "hookyard-acme").mkdir()
    (tmp_path / "hookyard-acme" / "mine.txt").write_text("keep")
    with pytest.raises(OptionError, match="already exists"):
        scaffold("sink", "acme", into=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hookyard-acme"]
    assert [p.name for p in (tmp_path / "hookyard-acme").iterdir()] == ["mine.txt"]


@pytest.mark.parametrize(("name", "dist", "message"), [
    ("-bad", None, "plugin name '-bad' is not valid"),
    ("ok", "bad name", "distribution name 'bad name' is not valid"),
    ("ok", "9lives", "package name '9lives'"),
])
def test_bad_names_are_refused_before_anything_is_written(tmp_path: Path, name, dist, message) -> None:
    with pytest.raises(OptionError, match=message):
        scaffold("encoder", name, dist=dist, into=tmp_path)
    assert list(tmp_path.iterdir()) == []
