"""`to_sql()` run in DuckDB computes exactly what `transform` does, in both of its forms (the select
list, and the whole query over a table name), raising where transform raises."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import engine

TRAIN = pa.table({
    "n": [1, 2, 3, 4, 5, 6, 7, 8],
    "colour": ["black", "black", "red", "green", None, "black", "it's", "blue"],
    "size": [1, 1, 2, 2, 3, 3, 3, 1],
    "flag": [True, False, True, True, False, True, True, True],
})
LATER = pa.table({
    "n": [11, 12, 13, 14, 15],
    "colour": ["black", "orange", None, "it's", "red"],
    "size": [1, 4, 2, None, 3],
    "flag": [False, True, None, True, True],
})
FORMS = ["select_list", "query"]


def run_sql(encoder, data, form, name="later"):
    connection = duckdb.connect()
    connection.register(name, data)
    sql = f"SELECT {encoder.to_sql()} FROM {name}" if form == "select_list" else encoder.to_sql(name)
    return connection.sql(sql).to_arrow_table()


def assert_same(encoder, data, form):
    ours = encoder.transform(data)
    theirs = run_sql(encoder, data, form)
    assert theirs.column_names == ours.column_names == list(encoder.get_feature_names_out())
    for name in ours.column_names:
        assert theirs[name].to_pylist() == ours[name].to_pylist(), name
    assert theirs.schema.types == ours.schema.types


@pytest.mark.filterwarnings("ignore:Found unknown categories")
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"min_frequency": 2, "handle_unknown": "infrequent"},
        {"max_categories": 2, "drop": "first"},
        {"drop": "if_binary", "handle_missing": "zeros", "dtype": "uint8"},
        {"columns": ["colour"], "min_frequency": 3, "handle_unknown": "infrequent", "dtype": "float32"},
        {"drop": [1, "black", 1, True], "dtype": "int32"},
    ],
)
def test_duckdb_computes_the_same_output(options, form):
    encoder = engine.encoder("onehot", output="arrow", **options).fit(TRAIN)
    assert_same(encoder, LATER, form)


@pytest.mark.parametrize("form", FORMS)
def test_unseen_levels_raise_in_duckdb_where_the_encoder_raises(form):
    encoder = engine.encoder("onehot", columns=["colour"], handle_unknown="error").fit(TRAIN)
    with pytest.raises(duckdb.Error, match="column colour has a level not seen in fit"):
        run_sql(encoder, LATER, form)
    with pytest.raises(engine.DataError, match="'orange'"):
        encoder.transform(LATER)


@pytest.mark.parametrize("form", FORMS)
def test_a_fractional_number_is_an_unseen_level_in_sql_too(form):
    train = pa.table({"f": [1.0, 2.0, 2.0]})
    later = pa.table({"f": [2.0, 2.5, None]})
    strict = engine.encoder("onehot", output="arrow", handle_unknown="error", handle_missing="zeros").fit(train)
    with pytest.raises(engine.DataError, match=r"Found unknown categories \[2.5\]"):
        strict.transform(later)
    with pytest.raises(duckdb.Error, match="column f has a level not seen in fit"):
        run_sql(strict, later, form)
    assert_same(engine.encoder("onehot", output="arrow").fit(train), later, form)


@pytest.mark.parametrize("form", FORMS)
def test_nan_in_arrow_and_polars_float_columns_is_the_missing_level(form):
    train = pa.table({"f": [1.0, np.nan, 2.0, None], "g": [0.5, 1.5, np.nan, 0.5]})
    encoder = engine.encoder("onehot", output="arrow").fit(train)
    assert "f_nan" in encoder.get_feature_names_out() and "g_nan" in encoder.get_feature_names_out()
    assert_same(encoder, train, form)
    frame = pl.from_arrow(train)
    assert run_sql(encoder, frame, form).equals(run_sql(encoder, train, form))


@pytest.mark.parametrize("form", FORMS)
def test_a_column_without_output_columns_still_raises(form):
    encoder = engine.encoder("onehot", drop="first", handle_unknown="error", output="arrow")
    encoder.fit(pa.table({"one": ["a", "a"], "two": ["x", "y"]}))
    assert list(encoder.get_feature_names_out()) == ["two_y"]
    with pytest.raises(duckdb.Error, match="column one has a level not seen in fit"):
        run_sql(encoder, pa.table({"one": ["b"], "two": ["x"]}), form)


def test_many_levels_give_the_same_output():
    train = pa.table({"c": [f"level {i}" for i in range(3000)], "d": np.arange(3000) % 7})
    later = pa.table({"c": ["level 5", "nope", "level 2999", None], "d": [1, 8, 6, 0]})
    encoder = engine.encoder("onehot", output="arrow", max_categories=2000, handle_unknown="infrequent").fit(train)
    for form in FORMS:
        assert_same(encoder, later, form)


def test_the_table_name_is_quoted():
    encoder = engine.encoder("onehot", output="arrow").fit(pa.table({"c": ["a", "b"]}))
    connection = duckdb.connect()
    connection.register("my table", pa.table({"c": ["b"]}))
    for name in ("my table", '"my table"', 'main."my table"', ["main", "my table"]):
        assert connection.sql(encoder.to_sql(name)).fetchall() == [(0.0, 1.0)], name
    assert encoder.to_sql("t; DROP TABLE x").endswith('FROM "t; DROP TABLE x") AS __hookyard_read) AS __hookyard_input')
    with pytest.raises(duckdb.CatalogException):
        connection.sql(encoder.to_sql("x) UNION SELECT 1 --"))
    for bad in ("", "a..b", '"a"b', []):
        with pytest.raises(engine.OptionError, match="table"):
            encoder.to_sql(bad)


def test_a_nul_character_is_refused_clearly():
    encoder = engine.encoder("onehot").fit(pa.table({"c": ["a\x00b", "c"]}))
    with pytest.raises(engine.OptionError, match="NUL character"):
        encoder.to_sql("t")
