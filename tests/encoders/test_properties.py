"""Properties of `onehot` over generated data: row order never changes the columns, a JSON round
trip never changes a transform, and with handle_unknown='ignore' no inference data breaks it."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from plugins.encoders.onehot import OneHotEncoder

level = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "é", "it's", ""]), st.text(max_size=3))
column = st.lists(level, min_size=1, max_size=30)
options = st.fixed_dictionaries({
    "min_frequency": st.one_of(st.none(), st.integers(1, 4), st.floats(0.05, 1.0)),
    "max_categories": st.one_of(st.none(), st.integers(1, 5)),
    "drop": st.sampled_from([None, "first", "if_binary"]),
    "handle_missing": st.sampled_from(["level", "zeros"]),
})
pytestmark = pytest.mark.filterwarnings("ignore:Found unknown categories")  # drop with unseen levels warns
quick = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(values=column, chosen=options, seed=st.integers(0, 2**16))
def test_shuffling_rows_never_changes_the_columns(values, chosen, seed):
    table = pa.table({"c": pa.array(values, pa.string()), "n": np.arange(len(values))})
    shuffled = table.take(np.random.default_rng(seed).permutation(len(values)))
    names = engine.encoder("onehot", columns=["c"], **chosen).fit(table).get_feature_names_out()
    assert list(engine.encoder("onehot", columns=["c"], **chosen).fit(shuffled).get_feature_names_out()) == list(names)


@quick
@given(train=column, later=column, chosen=options)
def test_a_json_round_trip_gives_identical_transforms(train, later, chosen):
    fitted = engine.encoder("onehot", output="dense", **chosen).fit(pa.table({"c": pa.array(train, pa.string())}))
    loaded = OneHotEncoder.from_state(json.loads(json.dumps(fitted.to_state())))
    data = pa.table({"c": pa.array(later, pa.string())})
    assert (loaded.transform(data) == fitted.transform(data)).all()
    assert list(loaded.get_feature_names_out()) == list(fitted.get_feature_names_out())


@quick
@given(train=column, later=st.lists(st.one_of(level, st.integers(-3, 3).map(str)), max_size=30), chosen=options)
def test_with_ignore_transform_never_fails(train, later, chosen):
    encoder = engine.encoder("onehot", handle_unknown="ignore", output="dense", **chosen)
    encoder.fit(pa.table({"c": pa.array(train, pa.string())}))
    out = encoder.transform(pa.table({"c": pa.array(later, pa.string())}))
    assert out.shape == (len(later), len(encoder.get_feature_names_out()))
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert (out.sum(axis=1) <= 1).all()
