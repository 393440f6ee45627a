"""engine.load on corrupt and hostile documents: each made from a real saved state (a fitted `dml`
and a fitted `onehot`), each a StateError saying what is wrong and what to do, never a raw error,
never a large allocation; a good document still loads and gives the same outputs."""

from __future__ import annotations

import copy
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.testing.cate import CATEContract
from engine.testing.encoder import SEED_INFERENCE, SEED_TRAIN, dense

RESAVE = "save the fitted plugin again with engine.save"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fitted `dml` (interactions featurizer: the one whose width grows with the square of the
    features) and a fitted `onehot`, each with its saved document and the data to use it on."""
    from threadpoolctl import threadpool_limits

    Y, T, X, _ = CATEContract.arrays(engine.source("synthetic", n=1200, seed=4).to_arrow())
    X = X[:, :4]
    with threadpool_limits(limits=1):
        dml = engine.cate("dml", model_y="linear", model_t="linear", featurizer="interactions", random_state=0)
        dml.fit(Y, T, X)
    onehot = engine.encoder("onehot", min_frequency=2).fit(pd.DataFrame(SEED_TRAIN))
    folder = tmp_path_factory.mktemp("saved")

    def saved(plugin: Any, name: str) -> dict[str, Any]:
        return json.loads(engine.save(plugin, folder / f"{name}.json").read_text())

    return {
        "dml": (dml, saved(dml, "dml"), X[:40]),
        "onehot": (onehot, saved(onehot, "onehot"), pd.DataFrame(SEED_INFERENCE)),
    }


def outputs(plugin: Any, data: Any) -> list[Any]:
    """What a loaded plugin computes on `data`: effects and intervals, or the encoded columns."""
    if hasattr(plugin, "effect"):
        return [plugin.effect(data), *plugin.effect_interval(data, alpha=0.1), plugin.explain()]
    return [dense(plugin.transform(data)), list(plugin.get_feature_names_out())]


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_good_document_still_loads_and_gives_the_same_outputs(fitted, tmp_path: Path) -> None:
    for kind, (plugin, document, data) in fitted.items():
        loaded = engine.load(write(tmp_path / f"{kind}.json", document))
        for got, want in zip(outputs(loaded, data), outputs(plugin, data)):
            np.testing.assert_array_equal(np.asarray(got, dtype=object), np.asarray(want, dtype=object))


def stage(document: dict[str, Any]) -> dict[str, Any]:
    return document["state"]["fitted"]["final_stage"]


def set_in(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    """A corruption setting the value at `path` in the document."""
    def corrupt(document: dict[str, Any]) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return corrupt


FITTED = ("state", "fitted")
DML_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "kind not a string": (set_in(("kind",), 3), r"kind must be a string, got int 3"),
    "name not a string": (set_in(("name",), ["dml"]), r"name must be a string, got list"),
    "state not an object": (set_in(("state",), [1, 2]), r"state must be a JSON object, got list"),
    "format_version true": (
        set_in(("format_version",), True), r"format_version must be a version number .*got bool True"),
    "format_version -1": (set_in(("format_version",), -1), r"format_version must be a version number .*got int -1"),
    "format_version 0.5": (set_in(("format_version",), 0.5), r"format_version must be a version number"),
    "options not an object": (set_in(("state", "options"), "fast"), r"state.options must be a JSON object"),
    "unknown option": (
        lambda d: d["state"]["options"].update(depth=3), r"state.options has unknown field\(s\) \['depth'\]"),
    "cv true": (set_in(("state", "options", "cv"), True), r"state.options.cv must be an integer, got bool"),
    "clip out of range": (set_in(("state", "options", "clip"), 0.7), r"state.options.clip must be a finite number"),
    "fitted not an object": (set_in(FITTED, "x"), r"state.fitted must be a JSON object, got str"),
    "levels not an array": (set_in((*FITTED, "levels"), {"T1": 1}), r"state.fitted.levels must be a JSON array"),
    "control among the levels": (
        set_in((*FITTED, "control"), "T2"), r"state.fitted.levels must name .* none the control"),
    "level not a label": (
        lambda d: d["state"]["fitted"]["levels"].__setitem__(0, [1]), r"levels\[0\] must be a string or an integer"),
    "n_features_in of 10^9": (
        set_in((*FITTED, "n_features_in"), 10**9),
        r"state.fitted.n_features_in must be between 1 and 10, got 1000000000"),
    "n_features_in of 3": (
        set_in((*FITTED, "n_features_in"), 3),
        r"3 with featurizer 'interactions' makes 7 final-stage columns, but the final stage has 11"),
    "n_features_in text": (set_in((*FITTED, "n_features_in"), "4"), r"n_features_in must be an integer, got str"),
    "featurizer unresolved": (set_in((*FITTED, "featurizer"), "auto"), r"state.fitted.featurizer must be one of"),
    "rows_per_coefficient null": (
        set_in((*FITTED, "rows_per_coefficient"), None), r"rows_per_coefficient must be a finite number"),
    "all-null coefficients": (
        lambda d: stage(d).update(coef_std=[[None] * 11] * 3),
        r"coef_std must hold only finite numbers; 33 entries are not"),
    "text in a covariance": (
        lambda d: stage(d)["cov_std"][0][0].__setitem__(0, "x"),
        r"cov_std must hold only finite numbers; 1 entry is not"),
    "covariance of the wrong shape": (
        lambda d: stage(d).update(cov_std=[row[:10] for row in stage(d)["cov_std"]]),
        r"cov_std must be an array of shape \(3, 11, 11\): at depth 1 expected 11 item\(s\), got 10"),
    "covariance not symmetric": (
        lambda d: stage(d)["cov_std"][1][0].__setitem__(3, 5.0), r"cov_std must hold symmetric covariance matrices"),
    "a flat covariance": (
        lambda d: stage(d).update(cov_std=stage(d)["coef_std"]), r"cov_std must be an array of shape \(3, 11, 11\)"),
    "zero scale": (lambda d: stage(d)["scale"][1].__setitem__(2, 0.0), r"scale must hold only positive scales"),
    "aliased not booleans": (
        lambda d: stage(d)["aliased"][0].__setitem__(0, 0), r"aliased must hold only true or false"),
    "final stage incomplete": (lambda d: stage(d).pop("center"), r"final_stage lacks the field\(s\) \['center'\]"),
    "overlap not an object": (
        set_in((*FITTED, "overlap"), [1]), r"state.fitted.overlap must be a JSON object, got list"),
    "overlap of other arms": (set_in((*FITTED, "overlap"), {"T9": {}}), r"overlap must name the fitted treatments"),
    "negative overlap count": (
        lambda d: d["state"]["fitted"]["overlap"]["T2"]["treated"].__setitem__(4, -1),
        r"overlap.T2.treated\[4\] must be between 0 and"),
    "clipped share over 1": (
        lambda d: d["state"]["fitted"]["overlap"]["T1"].update(clipped_share=2.0),
        r"overlap.T1.clipped_share must be a finite number between 0.0 and 1.0"),
}


@pytest.mark.parametrize("case", sorted(DML_CASES))
def test_a_corrupt_dml_document_is_a_state_error_saying_what_and_what_to_do(fitted, tmp_path: Path, case: str) -> None:
    corrupt, message = DML_CASES[case]
    document = copy.deepcopy(fitted["dml"][1])
    corrupt(document)
    path = write(tmp_path / "dml.json", document)
    with pytest.raises(engine.StateError, match=message) as caught:
        engine.load(path)
    assert str(caught.value).startswith(str(path)) and RESAVE in str(caught.value)


ONEHOT_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "state not an object": (set_in(("state",), "onehot"), r"state must be a JSON object, got str"),
    "settings not an object": (set_in(("state", "settings"), [1]), r"state.settings must be a JSON object"),
    "unknown setting": (
        lambda d: d["state"]["settings"].update(depth=3), r"state.settings name options .* \['depth'\]"),
    "setting of the wrong type": (
        lambda d: d["state"]["settings"].update(max_categories="3"),
        r"does not describe a fitted onehot encoder .*max_categories"),
    "column not a string": (
        lambda d: d["state"]["columns"].__setitem__(0, 7), r"state.columns\[0\] must be a string, got int 7"),
    "level entry not an object": (
        lambda d: d["state"]["levels"].__setitem__(1, "x"), r"state.levels\[1\] must be a JSON object"),
    "unknown domain": (
        lambda d: d["state"]["levels"][0].update(domain="decimal"), r"state.levels\[0\].domain must be one of"),
    "a count that is true": (
        lambda d: d["state"]["levels"][0]["counts"].__setitem__(0, True),
        r"counts of column .* do not match its levels"),
    "missing of -1": (
        lambda d: d["state"]["levels"][0].update(missing=-1), r"state.levels\[0\].missing must be between 0 and"),
    "a column encoded twice": (
        lambda d: d["state"]["levels"].append(d["state"]["levels"][0]), r"must name distinct encoded columns"),
}


@pytest.mark.parametrize("case", sorted(ONEHOT_CASES))
def test_a_corrupt_onehot_document_is_a_state_error_saying_what_and_what_to_do(fitted, tmp_path, case: str) -> None:
    corrupt, message = ONEHOT_CASES[case]
    document = copy.deepcopy(fitted["onehot"][1])
    corrupt(document)
    with pytest.raises(engine.StateError, match=message) as caught:
        engine.load(write(tmp_path / "onehot.json", document))
    assert RESAVE in str(caught.value)


def replace_literal(old: str, new: str) -> Callable[[dict[str, Any]], str]:
    """The saved text with one literal replaced, making JSON that json.dumps would not write."""
    def mangle(document: dict[str, Any]) -> str:
        text = json.dumps(document)
        assert old in text
        return text.replace(old, new, 1)
    return mangle


def all_nan(document: dict[str, Any]) -> str:
    """Every coefficient NaN, as json.dumps writes it by default."""
    document = copy.deepcopy(document)
    stage(document)["coef_std"] = [[float("nan")] * 11] * 3
    return json.dumps(document)


TEXT_CASES: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "an integer of 10^400": (
        replace_literal('"cv": 2', '"cv": 1' + "0" * 400),
        r"holds the integer 10000000000000000000\.\.\. \(401 characters\), beyond 64 bits"),
    "an integer of 10^5000": (
        replace_literal('"cv": 2', '"cv": 1' + "0" * 5000), r"\(5001 characters\), beyond 64 bits"),
    "a number of 1e400": (
        replace_literal('"rows_per_coefficient": ', '"rows_per_coefficient": 1e400, "x": '),
        r"holds the number 1e400, beyond the range of a double"),
    "all-NaN coefficients": (all_nan, r"holds NaN, which is not a JSON number"),
    "an infinite clip": (
        replace_literal('"clip": 0.01', '"clip": -Infinity'), r"holds -Infinity, which is not a JSON number"),
    "nested 20,000 deep": (
        replace_literal('"state": {', '"state": {"deep": ' + "[" * 20_000 + "]" * 20_000 + ", "),
        r"nests arrays or objects more than 64 deep"),
    "nested 100 deep": (
        replace_literal('"state": {', '"state": {"deep": ' + "[" * 100 + "]" * 100 + ", "),
        r"nests arrays or objects more than 64 deep"),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_a_hostile_dml_text_is_a_state_error(fitted, tmp_path: Path, case: str) -> None:
    mangle, message = TEXT_CASES[case]
    path = tmp_path / "dml.json"
    path.write_text(mangle(fitted["dml"][1]))
    with pytest.raises(engine.StateError, match=message) as caught:
        engine.load(path)
    assert RESAVE in str(caught.value)


def test_sizes_are_checked_against_the_arrays_present_before_allocating(fitted, tmp_path: Path) -> None:
    """n_features_in of 10^9 would make an interactions featurizer of 5 * 10^17 columns: refused
    from the widths of the saved arrays, with almost nothing allocated."""
    document = copy.deepcopy(fitted["dml"][1])
    document["state"]["fitted"]["n_features_in"] = 10**9
    path = write(tmp_path / "dml.json", document)
    tracemalloc.start()
    try:
        with pytest.raises(engine.StateError, match="n_features_in must be between 1 and 10"):
            engine.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"loading allocated {peak / 2**20:.1f} MiB"


SPECIAL = st.sampled_from(
    [10**400, 10**9, -1, 0, 1, True, False, None, "", "x", [], {}, [None], float("nan"), float("inf"), 1e308, -0.5]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The document with a value at a random path replaced by a random JSON value, or deleted."""
    document = copy.deepcopy(document)
    parent, key, path = None, None, ()
    node: Any = document
    while isinstance(node, (dict, list)) and node and (parent is None or draw(st.integers(0, 3)) > 0):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
        path, node = (*path, key), node[key]
    if draw(st.integers(0, 5)) == 0:
        del parent[key]
    else:
        parent[key] = draw(SPECIAL | JSON_VALUES)
    return document, path


@pytest.mark.parametrize("kind", ["dml", "onehot"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_randomly_mutated_document_loads_or_is_a_state_error(fitted, tmp_path, kind: str, data: Any) -> None:
    """Only a StateError, or (for another plugin's name) the registry's UnknownPluginError; and a
    document that loads gives outputs or a HookyardError, never a raw exception."""
    _, document, inputs = fitted[kind]
    changed, path = data.draw(mutated(document), label="mutation")
    target = tmp_path / f"{kind}.json"
    target.write_text(json.dumps(changed))
    try:
        loaded = engine.load(target)
    except engine.StateError as exc:
        assert str(exc).startswith(str(target)), exc
        return
    except (engine.UnknownPluginError, engine.UnknownKindError):
        assert path[0] in ("kind", "name"), path
        return
    try:
        outputs(loaded, inputs)
    except engine.HookyardError:
        pass
