"""The `onehot` encoder: the seed article's problem, outputs, unseen and missing values, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import scipy.sparse as sp

import engine
from engine.testing.encoder import dense

COLOURS = ["color_1_", "color_2_"]


def onehot(**options):
    return engine.encoder("onehot", **{"columns": COLOURS, **options})


def test_seed_article_inference_has_exactly_the_training_columns(training, inference):
    encoder = onehot(output="pandas")
    trained = encoder.fit_transform(training)
    inferred = encoder.transform(inference)
    assert list(inferred.columns) == list(trained.columns)
    assert list(trained.columns) == [
        "numerical_1",
        "color_1__black", "color_1__blue", "color_1__green", "color_1__red",
        "color_2__black", "color_2__blue", "color_2__pink", "color_2__purple",
    ]
    for absent in ["color_1__red", "color_2__pink", "color_2__blue", "color_2__purple"]:
        assert (inferred[absent] == 0).all()
    assert not [c for c in inferred.columns if "orange" in c]
    assert inferred["numerical_1"].tolist() == list(range(11, 19))
    assert inferred["color_2__black"].tolist() == [0, 0, 1, 0, 1, 0, 0, 0]
    assert inferred.iloc[:, 1:].sum(axis=1).tolist() == [1, 1, 2, 1, 2, 1, 1, 1]


def test_seed_article_drift_report_names_orange_with_its_count(training, inference):
    encoder = onehot().fit(training)
    encoder.transform(inference)
    report = encoder.drift_report_
    assert report.drifted and report.rows == 8
    orange = report.column("color_2_").unseen
    assert [(u.level, u.count, u.share) for u in orange] == [("orange", 6, 0.75)]
    assert report.column("color_1_").absent == ("red",)
    assert report.column("color_2_").absent == ("blue", "pink", "purple")
    assert report.to_dict()["columns"][1]["unseen"][0]["level"] == "orange"


def test_fitting_on_training_data_reports_no_drift(training):
    encoder = onehot()
    encoder.fit_transform(training)
    assert not encoder.drift_report_.drifted


@pytest.mark.parametrize("form", ["sparse", "dense", "arrow", "pandas", "polars"])
def test_every_output_form_holds_the_same_values(training, inference, form):
    reference = dense(onehot(output="dense").fit(training).transform(inference))
    out = onehot(output=form).fit(training).transform(inference)
    kinds = {"sparse": sp.csr_matrix, "dense": np.ndarray, "arrow": pa.Table, "pandas": pd.DataFrame, "polars": pl.DataFrame}
    assert isinstance(out, kinds[form])
    assert (dense(out) == reference).all()


def test_dense_dtype_and_set_output_follow_scikit_learn(training):
    encoder = onehot(output="dense", dtype="uint8", remainder="drop")
    assert encoder.fit_transform(training).dtype == np.uint8
    assert isinstance(encoder.set_output(transform="pandas").transform(training), pd.DataFrame)
    assert isinstance(encoder.set_output(transform="default").transform(training), np.ndarray)


def test_pandas_output_keeps_the_index(training):
    frame = training.set_index(pd.Index(list("abcdefgh")))
    assert list(onehot(output="pandas").fit_transform(frame).index) == list("abcdefgh")


def test_inputs_of_every_kind_give_the_same_encoding(training):
    expected = dense(onehot().fit_transform(training))
    for data in (pa.Table.from_pandas(training), pl.from_pandas(training), training.to_dict("list")):
        assert (dense(onehot().fit_transform(data)) == expected).all()


def test_streamed_fit_accumulates_counts_like_a_whole_fit(training):
    table = pa.Table.from_pandas(training)
    source = engine.source("memory", data=table)
    streamed = onehot(min_frequency=2).fit(source.scan(batch_size=3))
    whole = onehot(min_frequency=2).fit(table)
    assert list(streamed.get_feature_names_out()) == list(whole.get_feature_names_out())
    assert streamed.to_state() == whole.to_state()
    assert (dense(streamed.transform(table)) == dense(whole.transform(table))).all()
    assert onehot().fit(source).to_state()["levels"] == onehot().fit(table).to_state()["levels"]


def test_a_generator_of_batches_is_a_stream(training):
    table = pa.Table.from_pandas(training)
    fitted = onehot().fit(batch for batch in table.to_batches(max_chunksize=2))
    assert fitted.to_state()["levels"] == onehot().fit(table).to_state()["levels"]


def test_unknown_error_names_the_column_the_level_and_the_rows(training, inference):
    encoder = onehot(handle_unknown="error").fit(training)
    with pytest.raises(engine.DataError, match=r"'color_2_'.*'orange' in 6 row"):
        encoder.transform(inference)


def test_unknown_warn_and_infrequent_use_the_infrequent_column(training, inference):
    inference = inference.assign(color_1_=["white"] + list(inference["color_1_"][1:]))
    for mode in ("infrequent", "warn"):
        encoder = onehot(handle_unknown=mode, min_frequency=2, output="pandas").fit(training)
        if mode == "warn":
            with pytest.warns(UserWarning) as caught:
                out = encoder.transform(inference)
            messages = " ".join(str(w.message) for w in caught)
            assert len(caught) == 1 and "Found unknown categories in columns [0, 1] during transform" in messages
            assert "'color_1_' has level(s) not seen in fit: 'white' in 1 row(s), encoded as the infrequent column" in messages
            assert "'orange' in 6 row(s), encoded as all zeros" in messages
        else:
            out = encoder.transform(inference)
        assert out["color_1__infrequent"].tolist() == [1, 1, 0, 0, 0, 0, 0, 1]
        assert "color_2__infrequent" not in out.columns
        assert out.filter(like="color_2_").sum(axis=1).tolist() == [0, 0, 1, 0, 1, 0, 0, 0]


def test_unknown_ignore_gives_all_zeros(training, inference):
    out = onehot(output="pandas").fit(training).transform(inference)
    colour_2 = out[[c for c in out.columns if c.startswith("color_2_")]]
    assert colour_2.sum(axis=1).tolist() == [0, 0, 1, 0, 1, 0, 0, 0]


@pytest.mark.parametrize(
    "missing",
    [None, np.nan, pd.NA],
    ids=["None", "NaN", "pd.NA"],
)
def test_missing_values_are_a_level_of_their_own(missing):
    frame = pd.DataFrame({"c": pd.Series(["a", missing, "b", missing], dtype=object)})
    encoder = engine.encoder("onehot", output="pandas")
    out = encoder.fit_transform(frame)
    assert list(out.columns) == ["c_a", "c_b", "c_nan"]
    assert out["c_nan"].tolist() == [0, 1, 0, 1]


def test_arrow_and_polars_nulls_are_missing_too():
    for data in (pa.table({"c": ["a", None, "b"]}), pl.DataFrame({"c": ["a", None, "b"]})):
        out = engine.encoder("onehot", output="arrow").fit_transform(data)
        assert out.column_names == ["c_a", "c_b", "c_nan"]
        assert out["c_nan"].to_pylist() == [0, 1, 0]


def test_handle_missing_zeros_and_error():
    table = pa.table({"c": ["a", None, "b"]})
    zeros = engine.encoder("onehot", handle_missing="zeros", output="dense")
    assert zeros.fit_transform(table).tolist() == [[1, 0], [0, 0], [0, 1]]
    with pytest.raises(engine.DataError, match="'c' has 1 missing"):
        engine.encoder("onehot", handle_missing="error").fit(table)
    strict = engine.encoder("onehot", handle_missing="error").fit(pa.table({"c": ["a", "b"]}))
    with pytest.raises(engine.DataError, match="missing"):
        strict.transform(table)


def test_integer_boolean_and_categorical_columns():
    frame = pd.DataFrame({
        "n": [3, 1, 3, 2],
        "flag": [True, False, True, True],
        "cat": pd.Categorical(["x", "y", "x", None]),
        "whole": [1.0, 2.0, np.nan, 1.0],
    })
    out = engine.encoder("onehot", output="pandas").fit_transform(frame)
    assert list(out.columns) == [
        "n_1", "n_2", "n_3", "flag_False", "flag_True", "cat_x", "cat_y", "cat_nan", "whole_1", "whole_2", "whole_nan",
    ]
    assert out["n_3"].tolist() == [1, 0, 1, 0]
    assert out["whole_nan"].tolist() == [0, 0, 1, 0]


def test_later_data_is_cast_to_the_fitted_type():
    encoder = engine.encoder("onehot", output="dense").fit(pa.table({"c": ["1", "2"]}))
    assert encoder.transform(pa.table({"c": [2, 1, 3]})).tolist() == [[0, 1], [1, 0], [0, 0]]
    numbers = engine.encoder("onehot").fit(pa.table({"c": [1, 2]}))
    with pytest.raises(engine.DataError, match="'c' was fitted with integer levels"):
        numbers.transform(pa.table({"c": ["one"]}))


def test_columns_arriving_in_another_order_give_the_fitted_order(training, inference):
    encoder = onehot(output="pandas").fit(training)
    shuffled = inference[["color_2_", "numerical_1", "color_1_"]]
    assert list(encoder.transform(shuffled).columns) == list(encoder.get_feature_names_out())


def test_separator_and_infrequent_name():
    table = pa.table({"c": ["a", "a", "b", "c"]})
    encoder = engine.encoder("onehot", separator="=", min_frequency=2, infrequent_name="rare").fit(table)
    assert list(encoder.get_feature_names_out()) == ["c=a", "c=rare"]
    assert encoder.layouts_["c"].infrequent == ("b", "c")


def test_sparse_output_with_passthrough_zeros_stores_no_zeros():
    table = pa.table({"x": [0.0, 2.5, 0.0], "c": ["a", "b", "a"]})
    out = engine.encoder("onehot", columns=["c"]).fit_transform(table)
    assert out.nnz == 4
    assert out.toarray().tolist() == [[0, 1, 0], [2.5, 0, 1], [0, 1, 0]]


def test_inside_a_scikit_learn_pipeline_and_column_transformer(training, inference):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(onehot(), LinearRegression()).fit(training, training["numerical_1"])
    assert model.predict(inference).shape == (8,)
    columns = ColumnTransformer([("colours", engine.encoder("onehot", output="dense"), COLOURS)], remainder="passthrough")
    columns.set_output(transform="pandas")
    out = columns.fit(training).transform(inference)
    assert "colours__color_2__pink" in out.columns and "remainder__numerical_1" in out.columns
    assert out.shape == (8, 9)


def test_a_clone_has_the_same_parameters():
    from sklearn.base import clone

    encoder = onehot(min_frequency=0.25, drop="first")
    assert clone(encoder).get_params() == encoder.get_params()


def test_use_before_fit_is_a_clear_error():
    encoder = onehot()
    for call in (lambda: encoder.transform(pa.table({"c": ["a"]})), encoder.get_feature_names_out, encoder.to_state, encoder.to_sql):
        with pytest.raises(engine.NotFittedError, match="not fitted yet"):
            call()


def test_a_fitted_column_absent_at_inference_is_named(training, inference):
    encoder = onehot().fit(training)
    with pytest.raises(engine.DataError, match=r"lacks column\(s\) \['color_1_'\]"):
        encoder.transform(inference.drop(columns=["color_1_"]))
    with pytest.raises(engine.DataError, match=r"columns \['colour'\] are not in the data"):
        engine.encoder("onehot", columns=["colour"]).fit(training)


def test_fractional_numbers_are_levels_of_their_own():
    encoder = engine.encoder("onehot", output="dense").fit(pa.table({"price": [1.0, 2.5, 1.0]}))
    assert list(encoder.get_feature_names_out()) == ["price_1.0", "price_2.5"]
    assert encoder.transform(pa.table({"price": [2.5, 3.5, None]})).tolist() == [[0, 1], [0, 0], [0, 0]]
    whole = engine.encoder("onehot", output="dense", handle_unknown="error").fit(pa.table({"f": [1.0, 2.0]}))
    assert list(whole.get_feature_names_out()) == ["f_1", "f_2"]
    with pytest.raises(engine.DataError, match=r"Found unknown categories \[2.5\] in column 0"):
        whole.transform(pa.table({"f": [2.0, 2.5]}))


def test_columns_that_are_not_categorical_are_refused():
    with pytest.raises(engine.DataError, match="'tags' holds list<item: string> values, which are not categorical"):
        engine.encoder("onehot").fit(pa.table({"tags": [["a"], ["b"]]}))
    with pytest.raises(engine.DataError, match="'note' passes through but holds string values"):
        engine.encoder("onehot", columns=["c"]).fit_transform(pa.table({"c": ["a"], "note": ["x"]}))


def test_empty_frames(training):
    with pytest.raises(engine.DataError, match="cannot fit on empty data"):
        onehot().fit(training.iloc[:0])
    encoder = onehot(output="pandas").fit(training)
    out = encoder.transform(training.iloc[:0])
    assert out.shape == (0, 9)
    assert list(out.columns) == list(encoder.get_feature_names_out())
    assert encoder.transform(pa.Table.from_pandas(training).slice(0, 0)).shape == (0, 9)


def test_bad_options_are_named():
    with pytest.raises(engine.OptionError, match="min_frequency must be"):
        onehot(min_frequency=1.5).fit(pa.table({"color_1_": ["a"], "color_2_": ["b"]}))
    with pytest.raises(engine.OptionError, match="drop must be one of"):
        engine.encoder("onehot").set_params(drop="last").fit(pa.table({"c": ["a"]}))
    with pytest.raises(engine.OptionError, match="columns must be a list of str"):
        engine.encoder("onehot", columns=["c"]).set_params(columns="c").fit(pa.table({"c": ["a"]}))
