"""`onehot` gives scikit-learn's OneHotEncoder values in scikit-learn's column order over a grid
of settings (min_frequency, max_categories, drop, unseen levels, missing values)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder as SklearnOneHotEncoder

import engine


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    levels = np.array(["a", "b", "c", "d", "e", "f"])
    weights = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    train = pd.DataFrame({
        "skewed": rng.choice(levels, 200, p=weights),
        "with_missing": pd.Series(rng.choice(["x", "y", "z", None], 200, p=[0.5, 0.3, 0.15, 0.05])),
        "binary": rng.choice(["no", "yes"], 200, p=[0.7, 0.3]),
    })
    test = pd.DataFrame({
        "skewed": rng.choice(np.append(levels, "new"), 60),
        "with_missing": pd.Series(rng.choice(["x", "y", "z", None, "w"], 60)),
        "binary": rng.choice(["no", "yes", "maybe"], 60),
    })
    return train, test


GRID = list(itertools.product(
    [None, 5, 0.1],                  # min_frequency
    [None, 1, 2, 3],                 # max_categories
    [None, "first", "if_binary"],    # drop
    ["ignore", "infrequent"],        # handle_unknown
))


@pytest.mark.parametrize(("min_frequency", "max_categories", "drop", "handle_unknown"), GRID)
def test_same_values_and_column_order_as_scikit_learn(min_frequency, max_categories, drop, handle_unknown):
    train, test = frames()
    theirs = SklearnOneHotEncoder(
        min_frequency=min_frequency,
        max_categories=max_categories,
        drop=drop,
        handle_unknown="infrequent_if_exist" if handle_unknown == "infrequent" else handle_unknown,
    ).fit(train)
    ours = engine.encoder(
        "onehot",
        min_frequency=min_frequency,
        max_categories=max_categories,
        drop=drop,
        handle_unknown=handle_unknown,
        infrequent_name="infrequent_sklearn",
    ).fit(train)
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    expected_train = theirs.transform(train)
    assert (ours.transform(train) != expected_train).nnz == 0
    warned = {}
    for name, encoder in (("theirs", theirs), ("ours", ours)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warned[name] = (encoder.transform(test), [str(w.message).split(" (")[0] for w in caught])
    assert (warned["ours"][0] != warned["theirs"][0]).nnz == 0
    assert warned["ours"][1] == [m.rstrip(".") for m in warned["theirs"][1]]  # the same warning, or none


def test_unknown_error_raises_where_scikit_learn_raises():
    train, test = frames()
    with pytest.raises(ValueError, match="unknown categor"):
        SklearnOneHotEncoder(handle_unknown="error").fit(train).transform(test)
    with pytest.raises(engine.DataError, match="not seen in fit"):
        engine.encoder("onehot", handle_unknown="error").fit(train).transform(test)


def test_the_adapter_matches_scikit_learn_exactly():
    train, test = frames()
    theirs = SklearnOneHotEncoder(handle_unknown="ignore", min_frequency=5).fit(train)
    adapter = engine.encoder("sklearn-onehot", min_frequency=5).fit(train)
    assert list(adapter.get_feature_names_out()) == list(theirs.get_feature_names_out())
    assert (adapter.transform(test) != theirs.transform(test)).nnz == 0
