"""The entry-point reader against importlib.metadata, on this environment and on laid-out folders."""

from __future__ import annotations

import importlib.metadata
import sys
import zipfile
from pathlib import Path

import pytest

from engine.entrypoints import EntryPoint, canonical, entry_points
from tests.conftest import write_distribution


def as_importlib_sees(group: str) -> set[tuple[str, str, str, str]]:
    return {
        (canonical(ep.dist.name), ep.name, ep.value, ep.dist.version)
        for ep in importlib.metadata.entry_points(group=group)
    }


@pytest.mark.parametrize("group", ["hookyard", "console_scripts", "pytest11"])
def test_agrees_with_importlib_metadata_on_this_environment(group: str) -> None:
    ours = {(canonical(ep.distribution), ep.name, ep.value, ep.version) for ep in entry_points(group)}
    assert ours == as_importlib_sees(group)
    assert ours


def test_the_first_folder_on_sys_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder, version in (("first", "2.0"), ("second", "1.0")):
        write_distribution(tmp_path / folder, "Acme_Dup", {}, {"dup": f"acme_dup_{folder}"}, version)
    monkeypatch.syspath_prepend(str(tmp_path / "second"))
    monkeypatch.syspath_prepend(str(tmp_path / "first"))
    found = [ep for ep in entry_points("hookyard") if canonical(ep.distribution) == "acme-dup"]
    assert found == [EntryPoint("dup", "acme_dup_first", "Acme_Dup", "2.0")]


def test_egg_info_folders_and_other_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "acme_egg.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: acme-egg\nVersion: 0.3\n\nName: not-a-header\n")
    (info / "entry_points.txt").write_text(
        "[console_scripts]\negg = acme_egg:main\n\n[hookyard]\n# a comment\negg = acme_egg.plugins\n"
        "extra = acme_egg:hooks [fast]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [ep for ep in entry_points("hookyard") if ep.distribution == "acme-egg"]
    assert found == [
        EntryPoint("egg", "acme_egg.plugins", "acme-egg", "0.3"),
        EntryPoint("extra", "acme_egg:hooks [fast]", "acme-egg", "0.3"),
    ]


def test_load_follows_the_attribute_path_and_ignores_extras() -> None:
    assert EntryPoint("x", "engine.entrypoints:EntryPoint.load [extra]", "hookyard", "0").load() is EntryPoint.load
    assert EntryPoint("x", "engine.entrypoints", "hookyard", "0").load() is sys.modules["engine.entrypoints"]


def test_a_zipped_path_entry_is_read_through_importlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_distribution(tmp_path / "tree", "acme-zipped", {"acme_zipped": "VALUE = 42\n"}, {"zipped": "acme_zipped:VALUE"})
    archive = tmp_path / "acme.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in (tmp_path / "tree").rglob("*"):
            if path.is_file():
                bundle.write(path, path.relative_to(tmp_path / "tree").as_posix())
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.delitem(sys.modules, "acme_zipped", raising=False)
    [found] = [ep for ep in entry_points("hookyard") if ep.distribution == "acme-zipped"]
    assert found == EntryPoint("zipped", "acme_zipped:VALUE", "acme-zipped", "1.0")
    assert found.load() == 42
