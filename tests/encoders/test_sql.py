"""`to_sql()` run in DuckDB computes exactly what `transform` does."""

from __future__ import annotations

import duckdb
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


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"min_frequency": 2, "handle_unknown": "infrequent"},
        {"max_categories": 2, "drop": "first"},
        {"drop": "if_binary", "handle_missing": "zeros", "dtype": "uint8"},
        {"columns": ["colour"], "min_frequency": 3, "handle_unknown": "infrequent", "dtype": "float32"},
    ],
)
def test_duckdb_computes_the_same_output(options):
    encoder = engine.encoder("onehot", output="arrow", **options).fit(TRAIN)
    ours = encoder.transform(LATER)
    connection = duckdb.connect()
    connection.register("later", LATER)
    theirs = connection.sql(encoder.to_sql("later")).to_arrow_table()
    assert theirs.column_names == ours.column_names == list(encoder.get_feature_names_out())
    for name in ours.column_names:
        assert theirs[name].to_pylist() == ours[name].to_pylist(), name
    assert theirs.schema.types == ours.schema.types


def test_unseen_levels_raise_in_duckdb_where_the_encoder_raises():
    encoder = engine.encoder("onehot", columns=["colour"], handle_unknown="error").fit(TRAIN)
    connection = duckdb.connect()
    connection.register("later", LATER)
    with pytest.raises(duckdb.Error, match="column colour has a level not seen in fit"):
        connection.execute(encoder.to_sql("later")).fetchall()
    with pytest.raises(engine.DataError, match="'orange'"):
        encoder.transform(LATER)
