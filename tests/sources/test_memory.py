"""The `memory` source: every table-like input, and the same filter semantics as DuckDB's SQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import engine
from engine.filters import col
from tests.sources.conftest import sales

FILTERS = [
    [("amount", "!=", 3.0)],
    [("amount", "is null")],
    [("amount", "is not null"), ("region", "<", "south")],
    [("region", "not in", ["north", "west"])],
    [("region", "in", [])],
    [[("id", "<", 5)], [("amount", "is null")]],
    ~(col("amount") > 40.0),
    col("day") >= pd.Timestamp("2024-01-20").date(),
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_same_rows_as_duckdb_sql(data_dir: Path, filters: object) -> None:
    in_memory = engine.source("memory", data=sales(), filters=filters).to_arrow()
    on_disk = engine.source("duckdb", path=str(data_dir / "sales.parquet"), filters=filters).to_arrow()
    assert in_memory.equals(on_disk)


@pytest.mark.parametrize(
    "data",
    [
        sales().to_pandas(),
        pl.from_arrow(sales()),
        sales().to_batches()[0],
        pa.RecordBatchReader.from_batches(sales().schema, sales().to_batches()),
    ],
    ids=["pandas", "polars", "record-batch", "reader"],
)
def test_table_like_inputs(data: object) -> None:
    source = engine.source("memory", data=data, columns=["id", "region"], filters=[("id", "<", 3)])
    assert source.to_arrow().to_pylist() == [
        {"id": 0, "region": "north"}, {"id": 1, "region": "south"}, {"id": 2, "region": "east"},
    ]
    assert source.count() == 3


def test_dict_of_numpy_arrays_to_numpy() -> None:
    source = engine.source("memory", data={"a": np.arange(6), "b": np.arange(6) / 2}, filters=[("a", "in", [1, 4])])
    assert source.to_numpy().tolist() == [[1.0, 0.5], [4.0, 2.0]]


def test_explain_names_the_pushdown() -> None:
    plan = engine.source("memory", data=sales(), columns=["region"], filters=col("id") >= 7).explain()
    assert "Projection: region" in plan and 'Filters: "id" >= 7' in plan


def test_a_filter_of_the_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(engine.DataError, match="cannot apply the filter \"region\" > 3"):
        engine.source("memory", data=sales(), filters=[("region", ">", 3)]).to_arrow()


def test_not_a_table_is_a_clear_error() -> None:
    with pytest.raises(engine.DataError, match="cannot use a str as a table"):
        engine.source("memory", data="sales.csv").to_arrow()
