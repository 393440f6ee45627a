"""`onehot` as a drop-in for scikit-learn's OneHotEncoder: fitted attributes, inverse_transform,
per-column drop, output dtypes, array input read by position, and clear errors for bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import scipy.sparse as sp

import engine

SKEWED = pa.table({"c": ["a"] * 5 + ["b"] * 20 + ["c"] * 10 + ["d"] * 3, "n": list(range(38))})


def onehot(**options):
    return engine.encoder("onehot", **options)


def test_fitted_attributes_follow_scikit_learn():
    encoder = onehot(columns=["c"], max_categories=3, drop="first").fit(SKEWED)
    assert [list(c) for c in encoder.categories_] == [["a", "b", "c", "d"]]
    assert encoder.categories_[0].dtype == object
    assert [list(c) for c in encoder.infrequent_categories_] == [["a", "d"]]
    assert encoder.drop_idx_.tolist() == [1] and encoder.drop_idx_.dtype == object
    assert onehot().fit(SKEWED).drop_idx_ is None
    numbers = onehot().fit(pd.DataFrame({"i": [3, 1], "f": [2.0, np.nan]}))
    assert numbers.categories_[0].dtype == np.int64 and numbers.categories_[0].tolist() == [1, 3]
    assert numbers.categories_[1].dtype == np.float64 and np.isnan(numbers.categories_[1][-1])
    assert numbers.infrequent_categories_ == [None, None]
    with pytest.raises(engine.NotFittedError):
        onehot().categories_  # noqa: B018


@pytest.mark.parametrize("output", ["sparse", "dense", "arrow", "pandas"])
def test_inverse_transform_gives_back_the_levels(output):
    encoder = onehot(columns=["c"], min_frequency=6, handle_unknown="infrequent", output=output).fit(SKEWED)
    later = pa.table({"c": ["b", "a", "c", "zzz"], "n": [1, 2, 3, 4]})
    back = encoder.inverse_transform(encoder.transform(later))
    assert back.dtype == object
    assert back[:, 0].tolist() == ["b", "infrequent", "c", "infrequent"]
    assert back[:, 1].tolist() == [1, 2, 3, 4]


def test_inverse_transform_all_zero_rows():
    table = pa.table({"c": ["x", "y", None, "y"]})
    dropped = onehot(drop="first", output="dense").fit(table)
    assert dropped.inverse_transform(dropped.transform(table))[:, 0].tolist()[:2] == ["x", "y"]
    assert np.isnan(dropped.inverse_transform(dropped.transform(table))[2, 0])
    ignoring = onehot(output="dense").fit(table)
    assert ignoring.inverse_transform(np.zeros((1, 3)))[0, 0] is None
    strict = onehot(handle_unknown="error", output="dense").fit(table)
    with pytest.raises(engine.DataError, match=r"Samples \[1\] can not be inverted"):
        strict.inverse_transform(np.array([[1, 0, 0], [0, 0, 0]]))
    with pytest.raises(engine.DataError, match="Expected 3 columns, got 2"):
        strict.inverse_transform(np.zeros((1, 2)))


def test_drop_as_a_level_per_column():
    table = pa.table({"a": ["x", "y", "z"], "b": [1, 2, 2], "c": ["p", None, "q"]})
    by_list = onehot(drop=["y", 2, None], output="pandas").fit(table)
    assert list(by_list.get_feature_names_out()) == ["a_x", "a_z", "b_1", "c_p", "c_q"]
    assert by_list.drop_idx_.tolist() == [1, 1, 2]
    by_mapping = onehot(drop={"a": "y"}).fit(table)
    assert list(by_mapping.get_feature_names_out())[:2] == ["a_x", "a_z"]
    assert by_mapping.drop_idx_.tolist() == [1, None, None]
    with pytest.raises(engine.DataError, match="`drop` should have length equal to the number of features"):
        onehot(drop=["y"]).fit(table)
    with pytest.raises(engine.DataError, match="supposed to be dropped, but were not found"):
        onehot(drop=["w", 2, None]).fit(table)
    with pytest.raises(engine.DataError, match="Unable to drop category 'a' from feature 0 because it is infrequent"):
        onehot(columns=["c"], max_categories=2, drop=["a"]).fit(SKEWED)
    with pytest.raises(engine.DataError, match="not encoded"):
        onehot(drop={"nope": 1}).fit(table)


@pytest.mark.parametrize("handle_unknown", ["ignore", "infrequent"])
def test_unknown_levels_under_drop_warn_once(handle_unknown):
    encoder = onehot(drop="first", handle_unknown=handle_unknown, output="dense").fit(pa.table({"a": ["x", "y"], "b": [1, 2]}))
    target = "all zeros" if handle_unknown == "ignore" else "the infrequent category"
    expected = rf"Found unknown categories in columns \[0, 1\] during transform\. These unknown categories will be encoded as {target}"
    with pytest.warns(UserWarning, match=expected) as caught:
        assert encoder.transform(pa.table({"a": ["w"], "b": [3]})).tolist() == [[0, 0]]
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        onehot(handle_unknown=handle_unknown).fit(pa.table({"a": ["x"]})).transform(pa.table({"a": ["w"]}))


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.float32, "int64", "bool", np.uint16])
def test_numeric_output_dtypes(dtype):
    table = pa.table({"c": ["a", "b", "a"]})
    expected = np.dtype(dtype)
    assert onehot(dtype=dtype).fit_transform(table).dtype == expected
    assert onehot(dtype=dtype, output="dense").fit_transform(table).dtype == expected
    assert onehot(dtype=dtype, output="arrow").fit_transform(table).schema.types == [pa.from_numpy_dtype(expected)] * 2


def test_a_non_numeric_dtype_is_refused():
    with pytest.raises(engine.OptionError, match="dtype must be a numeric dtype"):
        onehot(dtype="U3").fit(pa.table({"c": ["a"]}))
    with pytest.raises(engine.OptionError, match="dtype must be a numeric dtype"):
        onehot(dtype="no such type").fit(pa.table({"c": ["a"]}))


def test_array_input_is_read_by_position():
    encoder = onehot(output="dense").fit(np.array([["a", 1], ["b", 2]], dtype=object))
    assert not hasattr(encoder, "feature_names_in_") and encoder.n_features_in_ == 2
    assert list(encoder.get_feature_names_out()) == ["x0_a", "x0_b", "x1_1", "x1_2"]
    assert list(encoder.get_feature_names_out(["p", "q"])) == ["p_a", "p_b", "q_1", "q_2"]
    with pytest.raises(engine.DataError, match="input_features should have length equal to number of features"):
        encoder.get_feature_names_out(["p"])
    assert encoder.transform([["b", 1]]).tolist() == [[0, 1, 1, 0]]
    with pytest.raises(engine.DataError, match="X has 3 features, but OneHotEncoder is expecting 2 features"):
        encoder.transform(np.array([["a", 1, 5]], dtype=object))
    with pytest.raises(engine.DataError, match="X has 1 features"):
        encoder.transform(np.array([["a"]], dtype=object))
    named = onehot(output="dense").fit(pd.DataFrame({"p": ["a", "b"]}))
    assert named.transform(np.array([["b"]], dtype=object)).tolist() == [[0, 1]]
    with pytest.raises(engine.DataError, match="input_features is not equal to feature_names_in_"):
        named.get_feature_names_out(["q"])


def test_object_columns_with_nan_are_the_missing_level():
    array = np.array([["a", 1], [np.nan, 2], ["b", np.nan], [None, 1]], dtype=object)
    frame = pd.DataFrame(array, columns=["x0", "x1"])
    from_array = onehot(output="dense").fit_transform(array)
    assert from_array.tolist() == onehot(output="dense").fit_transform(frame.infer_objects()).tolist()
    assert from_array[:, 2].tolist() == [0, 1, 0, 1]
    with pytest.raises(engine.DataError, match="mixes number and string values"):
        onehot().fit(np.array([["a"], [1]], dtype=object))


def test_bad_input_gets_clear_errors():
    with pytest.raises(engine.DataError, match="Expected a 2-dimensional container but got <class 'pandas.Series'>"):
        onehot().fit(pd.Series(["a", "b"]))
    with pytest.raises(engine.DataError, match="Expected 2D array, got 1D array instead"):
        onehot().fit(np.array(["a", "b"]))
    for complex_data in (np.array([[1 + 2j]]), pd.DataFrame({"z": [1 + 2j]})):
        with pytest.raises(engine.DataError, match="Complex data not supported"):
            onehot().fit(complex_data)
    with pytest.raises(engine.DataError, match=r"0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1 is required"):
        onehot().fit(np.zeros((3, 0)))
    with pytest.raises(engine.DataError, match="0 feature"):
        onehot().fit(pd.DataFrame(index=range(3)))
    with pytest.raises(engine.DataError, match="a sparse matrix cannot be one-hot encoded"):
        onehot().fit(sp.csr_matrix(np.eye(2)))


def test_two_arrow_columns_of_one_name_are_a_clear_error():
    table = pa.table([pa.array(["a"]), pa.array(["b"])], names=["x", "x"])
    with pytest.raises(engine.DataError, match="more than one column named 'x'"):
        onehot().fit(table)


@pytest.mark.parametrize("output", ["sparse", "polars"])
def test_colliding_output_names_are_refused_at_fit(output):
    table = pa.table({"a": ["b_c", "x"], "a_b": ["c", "y"]})
    with pytest.raises(engine.DataError, match=r"'a_b_c' from column 'a' level 'b_c' and column 'a_b' level 'c'.*separator='__'"):
        onehot(output=output).fit(table)
    assert "a__b_c" in onehot(separator="__").fit(table).get_feature_names_out()
    with pytest.raises(engine.DataError, match="passed-through column 'a_x'"):
        onehot(columns=["a"]).fit(pa.table({"a": ["x"], "a_x": [1]}))


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_frame_output_of_sparse_data_is_refused(kind):
    encoder = onehot().set_output(transform=kind)
    table = pa.table({"c": ["a", "b"]})
    with pytest.raises(engine.DataError, match=f"{kind.capitalize()} output does not support sparse data"):
        encoder.fit_transform(table)
    frame = onehot(output="dense").set_output(transform=kind).fit_transform(table)
    assert isinstance(frame, pd.DataFrame if kind == "pandas" else pl.DataFrame)
    assert onehot().set_output(transform="arrow").fit_transform(table).num_rows == 2


def test_scikit_learn_spelling_of_infrequent_is_accepted():
    theirs = onehot(columns=["c"], max_categories=2, handle_unknown="infrequent_if_exist").fit(SKEWED)
    ours = onehot(columns=["c"], max_categories=2, handle_unknown="infrequent").fit(SKEWED)
    later = pa.table({"c": ["new", "b"], "n": [0, 0]})
    assert (theirs.transform(later) != ours.transform(later)).nnz == 0


def test_state_keeps_numpy_dtype_and_drop_lists(tmp_path):
    table = pa.table({"a": ["x", "y", "z"], "b": [1, 2, np.nan]})
    encoder = onehot(dtype=np.int32, drop=[np.str_("y"), np.nan], output="dense").fit(table)
    loaded = engine.load(engine.save(encoder, tmp_path / "e.json"))
    assert loaded.get_params()["dtype"] == "int32" and loaded.get_params()["drop"] == ["y", None]
    assert (loaded.transform(table) == encoder.transform(table)).all()
    assert loaded.transform(table).dtype == np.int32


def test_given_categories_fix_the_columns_and_their_order():
    table = pa.table({"c": ["b", "a", "b", None], "n": [2, 1, 1, 2]})
    encoder = onehot(categories=[["b", "z", "a", None], [1, 2, 3]], output="dense").fit(table)
    assert list(encoder.get_feature_names_out()) == ["c_b", "c_z", "c_a", "c_nan", "n_1", "n_2", "n_3"]
    assert encoder.transform(table).tolist()[:2] == [[1, 0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0, 0]]
    assert encoder.categories_[0].tolist()[:3] == ["b", "z", "a"] and np.isnan(encoder.categories_[0][3])
    assert encoder.categories_[1].tolist() == [1, 2, 3]
    by_name = onehot(categories={"c": ["a", "b"]}, output="dense").fit(table)
    assert list(by_name.get_feature_names_out()) == ["c_a", "c_b", "n_1", "n_2"]
    assert by_name.transform(table).tolist()[3] == [0, 0, 0, 1]
    rare = onehot(categories=[["a", "b", "z"], [1, 2]], min_frequency=1, output="dense").fit(table)
    assert list(rare.get_feature_names_out())[:3] == ["c_a", "c_b", "c_infrequent"]


def test_levels_outside_given_categories_are_unseen():
    table = pa.table({"c": ["b", "a"]})
    with pytest.raises(engine.DataError, match=r"Found unknown categories \['b'\] in column 0 during fit"):
        onehot(categories=[["a"]], handle_unknown="error").fit(table)
    ignoring = onehot(categories=[["a"]], output="dense").fit(table)
    assert ignoring.transform(table).tolist() == [[0], [1]]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([["a", "a"]], "contain duplicate elements"),
        ([[None, "a"]], "Nan should be the last element"),
        ([[1, 2]], "are not string values"),
        ([["a"], ["b"]], "Shape mismatch"),
        ({"nope": ["a"]}, "not encoded"),
    ],
)
def test_bad_categories_are_named(given, message):
    with pytest.raises(engine.DataError, match=message):
        onehot(categories=given).fit(pa.table({"c": ["a"]}))


def test_numeric_categories_must_be_sorted():
    with pytest.raises(engine.DataError, match="Unsorted categories are not supported for numerical categories"):
        onehot(categories=[[2, 1]]).fit(pa.table({"n": [1, 2]}))


@pytest.mark.parametrize("form", ["select_list", "query"])
def test_given_categories_survive_state_and_sql(tmp_path, form):
    import duckdb

    table = pa.table({"c": ["b", "a", None], "n": [1.0, np.nan, 3.0]})
    encoder = onehot(categories=[["b", "y", "a"], [1, 3, np.nan]], output="arrow").fit(table)
    loaded = engine.load(engine.save(encoder, tmp_path / "e.json"))
    assert loaded.transform(table).equals(encoder.transform(table))
    connection = duckdb.connect()
    connection.register("t", table)
    sql = f"SELECT {encoder.to_sql()} FROM t" if form == "select_list" else encoder.to_sql("t")
    assert connection.sql(sql).to_arrow_table().to_pylist() == encoder.transform(table).to_pylist()


def test_inverse_of_a_dropped_infrequent_column_is_the_infrequent_name():
    encoder = onehot(columns=["c"], max_categories=1, drop="first", remainder="drop", output="dense").fit(SKEWED)
    assert list(encoder.get_feature_names_out()) == []
    assert encoder.inverse_transform(np.zeros((2, 0))).tolist() == [["infrequent"], ["infrequent"]]


def test_a_stream_turning_fractional_after_whole_numbers_is_a_clear_error():
    batches = iter([pa.table({"f": [1.0, 2.0]}), pa.table({"f": [2.5]})])
    with pytest.raises(engine.DataError, match="fractional numbers after whole ones"):
        onehot().fit(batches)


def test_half_floats_are_read_like_other_floats():
    halves = np.array([[1.5], [2], [np.nan]], dtype=np.float16)
    encoder = onehot(output="dense").fit(halves)
    assert list(encoder.get_feature_names_out()) == ["x0_1.5", "x0_2.0", "x0_nan"]
    assert encoder.transform(halves).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    whole = pa.table({"h": pa.array(np.array([1, 2], dtype=np.float16))})
    assert list(onehot().fit(whole).get_feature_names_out()) == ["h_1", "h_2"]
