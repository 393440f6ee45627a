"""Model bundles: real fitted plugins saved as a folder and loaded back, with every mismatch a clear error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import engine
from engine.bundle import FORMAT, Bundle, fingerprint, load_bundle, require_persistable, save_bundle
from engine.pipeline import Step
from tests.plugin_sources import ENCODER_IMPL

FEATURES = [f"x{i}" for i in range(10)]
CATEGORIES = ["region", "channel"]
DML_OPTIONS = {"model_y": "linear", "model_t": "linear", "cv": 2, "random_state": 0}

ACME = '''
from engine import Registration, hookimpl

@hookimpl
def register_encoders():
    return [Registration(kind="encoder", name="acme-upper", factory="acme_impl:UpperEncoder",
                         summary="upper-cases strings", capabilities={"persist"})]
'''

BROKEN = '''
from engine import Registration, hookimpl

@hookimpl
def register_encoders():
    return [Registration(kind="encoder", name="acme-broken", factory="acme_broken_impl:Broken",
                         summary="an encoder whose state cannot be made", capabilities={"persist"})]
'''

BROKEN_IMPL = '''
class Broken:
    """Fits, but raises when asked for its state, as a buggy plugin would."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X

    def fit_transform(self, X, y=None):
        return X

    def get_feature_names_out(self, input_features=None):
        return list(input_features or [])

    def to_state(self):
        raise RuntimeError("the levels went missing")

    @classmethod
    def from_state(cls, state):
        return cls()
'''


def synthetic(n: int, seed: int) -> pa.Table:
    return engine.source("synthetic", n=n, layout="multi-arm", categorical=True, seed=seed).to_arrow()


def features(table: pa.Table) -> np.ndarray:
    return np.column_stack([table[c].to_numpy() for c in FEATURES])


@pytest.fixture(scope="module")
def training() -> pa.Table:
    return synthetic(3000, seed=1)


@pytest.fixture(scope="module")
def fitted(training: pa.Table) -> list[tuple[Step, Any]]:
    encode = Step("encoder", "onehot", {"columns": CATEGORIES, "output": "arrow"}, {"columns": CATEGORIES}, id="encode")
    params = {"outcome": "y", "treatment": "t", "features": FEATURES}
    effect = Step("cate", "double-ml", dict(DML_OPTIONS), params, id="cate")
    encoder = engine.encoder("onehot", **encode.options).fit(training.select(CATEGORIES))
    estimator = engine.cate("dml", **DML_OPTIONS)
    estimator.fit(training["y"].to_numpy(), training["t"].to_pylist(), features(training))
    return [(encode, encoder), (effect, estimator)]


@pytest.fixture
def saved(fitted, training: pa.Table, tmp_path: Path) -> Path:
    return save(fitted, training, tmp_path / "model")


def save(fitted, training: pa.Table, folder: Path, **kwargs: Any) -> Path:
    schema = training.select([*FEATURES, *CATEGORIES]).schema
    return save_bundle(
        folder, fitted, input_schema=schema, training_rows=training.num_rows,
        fingerprint=fingerprint(training), **kwargs,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under the folder's parent, so that a test sees anything written or removed beside it too."""
    return {str(p.relative_to(folder.parent)): p.read_bytes() for p in sorted(folder.parent.rglob("*")) if p.is_file()}


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_a_bundle_rebuilds_plugins_that_give_the_same_transforms_and_effects(fitted, training, saved) -> None:
    bundle = load_bundle(saved)
    assert isinstance(bundle, Bundle)
    scoring = synthetic(500, seed=2)
    (_, encoder), (_, estimator) = fitted
    again = bundle.plugins["encode"].transform(scoring.select(CATEGORIES))
    assert again.equals(encoder.transform(scoring.select(CATEGORIES)))
    assert np.array_equal(bundle.plugins["cate"].effect(features(scoring)), estimator.effect(features(scoring)))
    lower, upper = bundle.plugins["cate"].effect_interval(features(scoring))
    assert np.array_equal(lower, estimator.effect_interval(features(scoring))[0])
    assert np.array_equal(upper, estimator.effect_interval(features(scoring))[1])


def test_the_manifest_says_what_each_step_is_and_what_it_was_fitted_on(fitted, training, saved) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    assert (manifest["format_version"], manifest["hookyard_version"]) == (1, engine.__version__)
    assert manifest["training_rows"] == 3000
    assert manifest["fingerprint"] == fingerprint(training)
    assert sorted(p.name for p in saved.iterdir()) == ["cate.json", "encode.json", "manifest.json"]
    bundle = load_bundle(saved)
    cate = bundle.step("cate")
    assert (cate.kind, cate.name, cate.distribution, cate.plugin_version) == (
        "cate", "dml", "hookyard", engine.plugin_info("cate", "dml").version,
    )
    assert cate.options == DML_OPTIONS
    assert cate.params["features"] == FEATURES
    assert cate.state_file == "cate.json"
    assert engine.load(saved / "cate.json").effect(features(training)[:5]).shape == (5, 3)
    assert bundle.pipeline is None
    with pytest.raises(KeyError, match="no step 'solve'; its steps are \\['encode', 'cate'\\]"):
        bundle.step("solve")


def test_the_pipeline_document_is_kept(fitted, training, tmp_path) -> None:
    document = {"pipeline": {"name": "uplift"}, "steps": [{"id": "source", "kind": "source", "name": "synthetic"}]}
    folder = save(fitted, training, tmp_path / "model", pipeline=document)
    assert load_bundle(folder).pipeline == document


def test_the_input_schema_round_trips_with_every_type_but_not_metadata(fitted, tmp_path) -> None:
    schema = pa.schema([
        pa.field("id", pa.int32(), nullable=False),
        pa.field("when", pa.timestamp("us", tz="Europe/Paris")),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("label", pa.dictionary(pa.int8(), pa.large_string())),
        pa.field("tags", pa.list_(pa.string()), metadata={"note": "free text"}),
    ], metadata={"source": "crm"})
    folder = save_bundle(tmp_path / "model", fitted, input_schema=schema, training_rows=0, fingerprint="sha256:0")
    loaded = load_bundle(folder).input_schema
    assert loaded.equals(pa.schema([f.remove_metadata() for f in schema]), check_metadata=True)
    assert not loaded[1].type.equals(pa.timestamp("us"))
    listed = json.loads((folder / "manifest.json").read_text())["input_schema"]
    assert listed[:2] == [{"name": "id", "type": "int32"}, {"name": "when", "type": "timestamp[us, tz=Europe/Paris]"}]


def test_input_with_every_column_in_a_compatible_type_passes(saved) -> None:
    bundle = load_bundle(saved)
    schema = pa.schema(
        [pa.field(c, pa.float32()) for c in FEATURES]
        + [pa.field("region", pa.large_string()), pa.field("channel", pa.dictionary(pa.int32(), pa.string()))]
        + [pa.field("customer", pa.int64())]
    )
    bundle.check_input(schema)


def test_input_missing_columns_or_holding_other_types_names_every_one(saved) -> None:
    bundle = load_bundle(saved)
    schema = pa.schema(
        [pa.field(c, pa.int64() if c == "x3" else pa.float64()) for c in FEATURES if c != "x7"]
        + [pa.field("region", pa.string())]
    )
    with pytest.raises(engine.DataError) as caught:
        bundle.check_input(schema, where="source 'customers'")
    message = str(caught.value)
    assert message.startswith(f"source 'customers' does not fit model bundle {saved}:")
    assert "column 'x7' (double) is missing" in message
    assert "column 'channel' (string) is missing" in message
    assert "column 'x3' is int64 where the bundle expects double" in message
    assert "cast them" in message
    assert "'x2'" not in message


def test_integer_widths_match_but_integers_are_not_strings(fitted, tmp_path) -> None:
    schema = pa.schema([pa.field("visits", pa.int64()), pa.field("code", pa.string())])
    bundle = load_bundle(save_bundle(tmp_path / "m", fitted, input_schema=schema, training_rows=1, fingerprint="f"))
    bundle.check_input(pa.schema([pa.field("visits", pa.uint16()), pa.field("code", pa.string_view())]))
    with pytest.raises(engine.DataError, match="column 'code' is int64 where the bundle expects string"):
        bundle.check_input(pa.schema([pa.field("visits", pa.int8()), pa.field("code", pa.int64())]))


def _set_step(step_id: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        entry = next(s for s in manifest["steps"] if s["id"] == step_id)
        entry.update(fields)

    return change


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda m: m.update(format_version=2), engine.StateError,
         r"format_version 2; this hookyard \(.*\) reads bundles up to 1\. Upgrade hookyard"),
        (_set_step("cate", name="dml-nowhere"), engine.PluginMissingError,
         r"step 'cate' needs cate 'dml-nowhere' from distribution 'hookyard' .*, but the installed hookyard .* "
         r"provides no cate plugin 'dml-nowhere'\. The manifest names a plugin that version does not have; refit it"),
        (_set_step("encode", distribution="acme-encoders"), engine.PluginMissingError,
         r"step 'encode' needs encoder 'onehot' from distribution 'acme-encoders' .*which is not installed\. "
         r"Install it: pip install 'acme-encoders>="),
        (_set_step("cate", plugin_version="999.1"), engine.StateError,
         r"cate 'dml' was fitted with hookyard 999\.1, but .* is installed\. "
         r"Upgrade it: pip install 'hookyard>=999\.1'"),
        (_set_step("cate", state_file="gone.json"), engine.StateError,
         r"step 'cate': its state file .*gone\.json is missing; the bundle is corrupt: refit it"),
        (_set_step("cate", state_file="encode.json"), engine.StateError,
         r"encode\.json holds encoder 'onehot', not cate 'dml'; the bundle is corrupt"),
        (lambda m: m["steps"][0].pop("options"), engine.StateError, r"step 1 lacks 'options' \(a dict\)"),
        (lambda m: m.update(format="hookyard.state"), engine.StateError, "is not a model bundle manifest"),
        (lambda m: m["input_schema"][0].update(type="int64"), engine.StateError,
         "the input schema is unreadable or disagrees with its column list"),
    ],
    ids=[
        "format-newer", "plugin-not-installed", "distribution-not-installed", "plugin-version-newer",
        "state-file-missing", "state-file-of-another-step", "step-field-missing", "not-a-bundle", "schema-edited",
    ],
)
def test_a_manifest_mismatch_gives_its_error_and_writes_nothing(saved, change, error, message) -> None:
    edit_manifest(saved, change)
    before = snapshot(saved)
    with pytest.raises(error, match=message):
        load_bundle(saved)
    assert snapshot(saved) == before


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda folder: (folder / "cate.json").write_text((folder / "cate.json").read_text()[:200]),
         r"step 'cate': .*cate\.json is not valid JSON .*the file is corrupt; refit it"),
        (lambda folder: (folder / "cate.json").unlink(), r"its state file .*cate\.json is missing"),
        (lambda folder: (folder / "encode.json").write_text(
            (folder / "encode.json").read_text().replace('"format_version": 1', '"format_version": 7')),
         r"step 'encode': .*encode\.json has format_version 7"),
        (lambda folder: (folder / "manifest.json").write_text("{\"format\": "), r"manifest\.json is not valid JSON"),
        (lambda folder: (folder / "manifest.json").unlink(), r"has no manifest\.json, so it is not a model bundle"),
    ],
    ids=["state-corrupt", "state-deleted", "state-format-newer", "manifest-corrupt", "manifest-missing"],
)
def test_a_damaged_file_gives_its_error_and_writes_nothing(saved, mangle, message) -> None:
    mangle(saved)
    before = snapshot(saved)
    with pytest.raises(engine.StateError, match=message):
        load_bundle(saved)
    assert snapshot(saved) == before


def test_a_third_party_plugin_round_trips_and_an_older_release_without_it_says_which_to_install(site, tmp_path) -> None:
    site("acme-encoders", {"acme": ACME, "acme_impl": ENCODER_IMPL}, {"acme": "acme"}, version="1.4")
    table = pa.table({"c": ["a", "b"]})
    upper = engine.encoder("acme-upper", suffix="_u").fit(table)
    folder = save_bundle(tmp_path / "model", [(Step("encoder", "acme-upper", id="upper"), upper)],
                         input_schema=table.schema, training_rows=2, fingerprint=fingerprint(table))
    bundle = load_bundle(folder)
    assert bundle.step("upper").distribution == "acme-encoders"
    assert bundle.plugins["upper"].transform(table).equals(upper.transform(table))
    edit_manifest(folder, _set_step("upper", name="acme-lower", plugin_version="2.0"))
    with pytest.raises(
        engine.PluginMissingError,
        match=r"the installed acme-encoders 1\.4 provides no encoder plugin 'acme-lower'\. "
              r"Install the version that fitted it: pip install 'acme-encoders==2\.0'",
    ):
        load_bundle(folder)


def test_a_folder_that_does_not_exist_is_no_bundle(tmp_path) -> None:
    with pytest.raises(engine.StateError, match=r"no model bundle at .*nowhere: it does not exist"):
        load_bundle(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_that_is_not_a_bundle_is_not_replaced(fitted, training, tmp_path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    before = snapshot(folder)
    with pytest.raises(engine.ConfigError, match="is not empty and is not a model bundle, so it is left alone"):
        save(fitted, training, folder)
    assert snapshot(folder) == before
    (tmp_path / "model.txt").write_text("a file")
    with pytest.raises(engine.ConfigError, match="exists and is not a folder"):
        save(fitted, training, tmp_path / "model.txt")
    assert (tmp_path / "model.txt").read_text() == "a file"


def test_a_bundle_holding_other_files_is_not_replaced(fitted, training, saved) -> None:
    (saved / "scores.parquet").write_bytes(b"PAR1")
    before = snapshot(saved)
    with pytest.raises(engine.ConfigError, match="holds a model bundle and also scores.parquet"):
        save(fitted, training, saved)
    assert snapshot(saved) == before


def test_an_earlier_bundle_or_an_empty_folder_is_replaced(fitted, training, tmp_path) -> None:
    folder = tmp_path / "model"
    (_, encoder), second = fitted
    save_bundle(folder, [(Step("encoder", "onehot", id="old-encoder"), encoder)], input_schema=pa.schema([]),
                training_rows=10, fingerprint="sha256:old")
    save(fitted, training, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in folder.iterdir()) == ["cate.json", "encode.json", "manifest.json"]
    assert [s.id for s in load_bundle(folder).steps] == ["encode", "cate"]
    empty = tmp_path / "empty"
    empty.mkdir()
    save(fitted, training, empty)
    assert load_bundle(empty).manifest["training_rows"] == 3000


def test_bundle_files_get_the_usual_permissions(fitted, training, tmp_path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        folder = save(fitted, training, tmp_path / "model")
    finally:
        os.umask(mask)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert (folder / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_econml_estimators_are_refused_before_fitting_and_native_ones_pass() -> None:
    with pytest.raises(engine.StateError) as caught:
        require_persistable("cate", "econml-linear-dml")
    message = str(caught.value)
    assert "cate 'econml-linear-dml' (distribution 'hookyard') cannot go in a model bundle" in message
    assert "only pickle could store, and hookyard never pickles" in message
    assert "Use a cate plugin that saves as JSON (dml)" in message
    assert "`hookyard run`" in message
    require_persistable("cate", "dml")
    require_persistable("cate", "linear-dml")
    require_persistable("encoder", "onehot")
    with pytest.raises(engine.StateError, match="cannot go in a model bundle"):
        require_persistable("encoder", "sklearn-onehot")


def test_a_plugin_that_cannot_be_saved_writes_nothing(fitted, training, tmp_path) -> None:
    folder = tmp_path / "model"
    econml = engine.cate("econml-linear-dml")
    with pytest.raises(engine.StateError, match="econml-linear-dml.*cannot go in a model bundle"):
        save(fitted + [(Step("cate", "econml-linear-dml", id="econml"), econml)], training, folder)
    source = engine.source("memory", data={"a": [1]})
    with pytest.raises(engine.StateError, match="source 'memory'.*cannot go in a model bundle"):
        save([(Step("source", "memory", id="source"), source)], training, folder)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_the_earlier_bundle_and_no_temporary_folder(site, fitted, training, saved) -> None:
    site("acme-broken", {"acme_broken": BROKEN, "acme_broken_impl": BROKEN_IMPL}, {"broken": "acme_broken"})
    broken = engine.encoder("acme-broken").fit(training)
    before = snapshot(saved)
    raised = r"step 'broken' .* its to_state\(\) raised RuntimeError: the levels went missing"
    with pytest.raises(engine.StateError, match=raised):
        save([*fitted, (Step("encoder", "acme-broken", id="broken"), broken)], training, saved)
    assert snapshot(saved) == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model", "site"]


def test_options_that_are_not_plain_data_write_nothing(fitted, training, tmp_path) -> None:
    (encode, encoder), _ = fitted
    odd = Step("encoder", "onehot", {"columns": CATEGORIES, "dtype": np.dtype("float64")}, id="encode")
    with pytest.raises(engine.StateError, match="manifest .* is not plain JSON data"):
        save([(odd, encoder)], training, tmp_path / "model")
    with pytest.raises(engine.ConfigError, match="step id '../escape' cannot name a state file"):
        save([(Step("encoder", "onehot", id="../escape"), encoder)], training, tmp_path / "model")
    with pytest.raises(engine.ConfigError, match="step id 'encode' is used twice"):
        save([(encode, encoder), (encode, encoder)], training, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_the_fingerprint_follows_values_and_schema_not_chunks_or_metadata(training) -> None:
    digest = fingerprint(training)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    rechunked = pa.Table.from_batches(training.to_batches(max_chunksize=7))
    assert rechunked.column(0).num_chunks > 1
    assert fingerprint(rechunked) == digest
    assert fingerprint(training.replace_schema_metadata({"note": "other"})) == digest
    changed = training.set_column(0, "x0", pa.array([0.5, *training["x0"].to_pylist()[1:]]))
    assert fingerprint(changed) != digest
    assert fingerprint(training.cast(training.schema.set(13, pa.field("y", pa.float32())))) != digest
    assert fingerprint(training.slice(0, 0)) != fingerprint(training.slice(0, 1))
