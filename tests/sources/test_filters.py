"""Filters as data: the accepted forms, the SQL they compile to, and the errors for bad ones."""

from __future__ import annotations

import pytest

from engine import OptionError
from engine.filters import And, Or, Predicate, col, columns, parse, to_sql


def test_forms_parse_to_one_expression() -> None:
    clause = ("year", ">=", 2020)
    assert parse(clause) == Predicate("year", ">=", 2020)
    assert parse([clause, ["region", "in", ["eu", "us"]]]) == And(
        (Predicate("year", ">=", 2020), Predicate("region", "in", ("eu", "us")))
    )
    assert parse([[clause], [("region", "is null")]]) == Or((Predicate("year", ">=", 2020), Predicate("region", "is null")))
    assert parse((col("year") >= 2020) | col("region").is_null()) == parse([[clause], [("region", "is null")]])
    assert parse(None) is None and parse([]) is None
    assert parse(("x", "=", 1)) == Predicate("x", "==", 1)


def test_sql_quotes_identifiers_and_binds_values() -> None:
    params: dict = {"path": "a.parquet"}
    text = to_sql(parse([('we"ird', "==", "x'; DROP TABLE t; --"), ("n", "not in", [1, 2])]), params)
    assert text == '("we""ird" = $hookyard_filter_1 AND "n" NOT IN ($hookyard_filter_2, $hookyard_filter_3))'
    assert params == {"path": "a.parquet", "hookyard_filter_1": "x'; DROP TABLE t; --",
                      "hookyard_filter_2": 1, "hookyard_filter_3": 2}
    assert to_sql(~col("a").isin([]), {}) == "(NOT FALSE)"


def test_columns_in_first_use_order() -> None:
    assert columns(parse([[("b", ">", 1), ("a", "<", 2)], [("b", "is null")]])) == ["b", "a"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (("x", "~", 1), "unknown operator '~'"),
        (("x", "==", None), "using 'is null'"),
        (("x", "in", "abc"), "give a list of values"),
        (("x",), "a filter clause is"),
        ("x > 1", "filters must be a clause"),
        ([(1, "==", 1)], "non-empty string"),
    ],
)
def test_bad_filters_are_option_errors(filters: object, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse(filters)


def test_combining_with_a_non_filter_is_refused() -> None:
    with pytest.raises(OptionError, match="combine a filter"):
        (col("a") > 1) & True  # noqa: B015
