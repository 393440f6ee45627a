"""Property: over random frames of every dtype `onehot` encodes (strings, large and dictionary
strings, integers of 8 and 64 bits, whole and fractional floats of 32 and 64 bits with NaN,
booleans; nulls in each), and random settings,
`to_sql()` run in DuckDB gives exactly what `transform` gives, or raises where it raises."""

from __future__ import annotations

import warnings

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

VALUES = {
    "string": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "it's", ""]), st.text(max_size=2)),
    "dictionary": st.one_of(st.none(), st.sampled_from(["x", "y", "z"])),
    "integer": st.one_of(st.none(), st.integers(-3, 3)),
    "whole_float": st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, float("nan")])),
    "float": st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.25, -1.5, float("nan")])),
    "boolean": st.one_of(st.none(), st.booleans()),
    "large_string": st.one_of(st.none(), st.sampled_from(["p", "q"])),
    "int8": st.one_of(st.none(), st.integers(-2, 2)),
    "float32": st.one_of(st.none(), st.sampled_from([0.5, 1.0, float("nan")])),
}
TYPES = {
    "string": pa.string(), "dictionary": pa.dictionary(pa.int32(), pa.string()), "integer": pa.int64(),
    "whole_float": pa.float64(), "float": pa.float64(), "boolean": pa.bool_(), "large_string": pa.large_string(),
    "int8": pa.int8(), "float32": pa.float32(),
}
OPTIONS = st.fixed_dictionaries({
    "handle_unknown": st.sampled_from(["ignore", "infrequent", "error"]),
    "handle_missing": st.sampled_from(["level", "zeros", "error"]),
    "min_frequency": st.one_of(st.none(), st.integers(1, 3)),
    "max_categories": st.one_of(st.none(), st.integers(1, 4)),
    "drop": st.sampled_from([None, "first", "if_binary"]),
    "dtype": st.sampled_from(["float64", "float32", "uint8", "int32", "bool"]),
})


@st.composite
def frames(draw):
    kinds = draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3, unique=True))
    rows = draw(st.integers(1, 12)), draw(st.integers(0, 12))
    tables = []
    for count in rows:
        columns = {kind: pa.array(draw(st.lists(VALUES[kind], min_size=count, max_size=count)), TYPES[kind]
                                  if kind != "dictionary" else pa.string()) for kind in kinds}
        columns = {k: (v.dictionary_encode() if k == "dictionary" else v) for k, v in columns.items()}
        tables.append(pa.table(columns))
    return tables


def outcome(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return function(), None
        except (engine.DataError, duckdb.Error) as exc:
            return None, exc


@pytest.mark.parametrize("form", ["select_list", "query"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=frames(), options=OPTIONS)
def test_to_sql_agrees_with_transform(form, data, options):
    train, later = data
    encoder = engine.encoder("onehot", output="arrow", **options)
    fitted, refused = outcome(lambda: encoder.fit(train))
    if refused is not None:
        return  # nothing to compare: fit itself refuses (missing values under handle_missing='error')
    if not len(encoder.get_feature_names_out()):
        with pytest.raises(engine.OptionError, match="no output columns"):
            encoder.to_sql()
        return
    if any("\x00" in str(level) for c in encoder.layouts_.values() for level in c.fitted.levels):
        with pytest.raises(engine.OptionError, match="NUL character"):
            encoder.to_sql()
        return  # DuckDB SQL cannot hold a NUL character
    ours, raised = outcome(lambda: encoder.transform(later))
    connection = duckdb.connect()
    connection.register("later", later)
    sql = f"SELECT {encoder.to_sql()} FROM later" if form == "select_list" else encoder.to_sql("later")
    theirs, sql_raised = outcome(lambda: connection.sql(sql).to_arrow_table())
    assert (raised is None) == (sql_raised is None), (raised, sql_raised)
    if raised is None:
        assert theirs.column_names == ours.column_names
        assert theirs.schema.types == ours.schema.types
        assert theirs.to_pylist() == ours.to_pylist()
