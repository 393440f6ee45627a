"""`onehot` state saved and loaded through engine.save/engine.load as versioned JSON."""

from __future__ import annotations

import json

import pytest

import engine
from engine.testing.encoder import dense


def saved(tmp_path, training):
    encoder = engine.encoder("onehot", columns=["color_1_", "color_2_"], min_frequency=2, drop="if_binary").fit(training)
    return encoder, engine.save(encoder, tmp_path / "onehot.json")


@pytest.mark.filterwarnings("ignore:Found unknown categories")  # drop with unseen levels warns, as in scikit-learn
def test_save_and_load_keep_levels_counts_and_settings(tmp_path, training, inference):
    encoder, path = saved(tmp_path, training)
    document = json.loads(path.read_text())
    state = document["state"]
    assert document["name"] == "onehot" and state["schema"] == 1
    assert state["settings"]["min_frequency"] == 2
    colour_1 = state["levels"][0]
    assert colour_1 == {"column": "color_1_", "domain": "string", "levels": ["black", "blue", "green", "red"],
                        "counts": [3, 1, 2, 2], "missing": 0}
    loaded = engine.load(path)
    assert list(loaded.get_feature_names_out()) == list(encoder.get_feature_names_out())
    assert (dense(loaded.transform(inference)) == dense(encoder.transform(inference))).all()


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path, training):
    _, path = saved(tmp_path, training)
    document = json.loads(path.read_text())
    document["state"]["schema"] = 99
    path.write_text(json.dumps(document))
    with pytest.raises(engine.StateError, match="schema version 99, newer than this hookyard reads"):
        engine.load(path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda s: s["levels"][0].update(counts=[1, 2]), "counts of column 'color_1_' do not match"),
        (lambda s: s["levels"][0].update(levels=["red", "black", "blue", "green"]), "not sorted"),
        (lambda s: s["levels"][0].update(domain="float"), "corrupt"),
        (lambda s: s["settings"].update(drop="last"), "drop must be one of"),
        (lambda s: s.pop("columns"), "corrupt"),
        (lambda s: s.pop("schema"), "no schema version"),
    ],
)
def test_a_corrupted_state_is_refused_with_a_clear_error(tmp_path, training, damage, message):
    _, path = saved(tmp_path, training)
    document = json.loads(path.read_text())
    damage(document["state"])
    path.write_text(json.dumps(document))
    with pytest.raises(engine.StateError, match=message):
        engine.load(path)


def test_a_truncated_file_is_refused(tmp_path, training):
    _, path = saved(tmp_path, training)
    path.write_text(path.read_text()[:50])
    with pytest.raises(engine.StateError, match="not valid JSON"):
        engine.load(path)
