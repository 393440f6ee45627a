"""Fitted plugins saved as JSON documents and rebuilt through the registry; never partially written."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import engine
from engine.atomic import atomic_path
from tests.plugin_sources import ENCODER, ENCODER_IMPL


@pytest.fixture
def fitted(site):
    site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"}, version="2.0")
    return engine.encoder("acme-upper", suffix="_u").fit(pa.table({"c": ["a"], "d": ["b"]}))


def test_a_saved_plugin_records_what_it_is_and_loads_back(fitted, tmp_path: Path) -> None:
    path = engine.save(fitted, tmp_path / "enc.json")
    document = json.loads(path.read_text())
    assert {k: document[k] for k in ("kind", "name", "distribution", "plugin_version", "format_version")} == {
        "kind": "encoder", "name": "acme-upper", "distribution": "acme-encoders", "plugin_version": "2.0",
        "format_version": 1,
    }
    assert document["state"] == {"schema": 1, "columns": ["c", "d"], "suffix": "_u"}
    loaded = engine.load(path)
    assert type(loaded).__name__ == "UpperEncoder"
    assert loaded.transform(pa.table({"c": ["x"], "d": ["y"]})).column_names == ["c_u", "d_u"]


def test_a_failed_save_leaves_the_previous_file_untouched(fitted, tmp_path: Path) -> None:
    path = engine.save(fitted, tmp_path / "out" / "enc.json")
    before = path.read_text()
    fitted.suffix = {1, 2}
    with pytest.raises(engine.StateError, match="not plain JSON"):
        engine.save(fitted, path)
    assert path.read_text() == before
    assert [p.name for p in path.parent.iterdir()] == ["enc.json"]


def test_a_write_that_fails_midway_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half a fi")
            raise OSError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda text: text[: len(text) // 2], "is not valid JSON"),
        (lambda text: text.replace('"format_version": 1', '"format_version": 99'), "format_version 99; this hookyard reads up to 1"),
        (lambda text: text.replace('"hookyard.state"', '"other"'), "not a hookyard state document"),
        (lambda text: text.replace('"schema": 1', '"schema": 7'), "state schema is newer"),
        (lambda text: text.replace('"columns"', '"cols"'), "state of encoder 'acme-upper' is corrupt: KeyError"),
    ],
)
def test_a_corrupt_or_newer_document_gives_a_clear_error(fitted, tmp_path: Path, mangle, message) -> None:
    path = engine.save(fitted, tmp_path / "enc.json")
    path.write_text(mangle(path.read_text()))
    with pytest.raises(engine.StateError, match=message):
        engine.load(path)


def test_a_document_for_an_unknown_plugin_names_it(fitted, tmp_path: Path) -> None:
    path = engine.save(fitted, tmp_path / "enc.json")
    path.write_text(path.read_text().replace('"acme-upper"', '"acme-lower"'))
    with pytest.raises(engine.UnknownPluginError, match="no encoder plugin named 'acme-lower'"):
        engine.load(path)


def test_objects_without_plain_state_are_refused(tmp_path: Path) -> None:
    source = engine.source("memory", data={"a": [1]})
    with pytest.raises(engine.StateError, match="cannot be saved: it has no to_state"):
        engine.save(source, tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()
    with pytest.raises(engine.StateError, match="no state file"):
        engine.load(tmp_path / "s.json")


def test_atomically_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    from engine.atomic import write_text

    mask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "note.txt", "whole")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
