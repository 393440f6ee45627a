"""The built-in sinks' own options, streaming from a source, and a whole TOML pipeline ending in a sink."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine.config import loads_pipeline
from engine.testing.sink import sample_table


@pytest.mark.parametrize("name", ["parquet", "csv"])
def test_file_sinks_refuse_to_replace_when_told(tmp_path: Path, name: str) -> None:
    target = tmp_path / f"out.{name}"
    engine.sink(name, path=str(target)).write(sample_table())
    with pytest.raises(engine.DataError, match="exists; remove it or pass if_exists='replace'"):
        engine.sink(name, path=str(target), if_exists="error").write(sample_table(3))


def test_parquet_compression_and_row_groups(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    engine.sink("parquet", path=str(target), compression="snappy", row_group_size=10).write(sample_table(25))
    metadata = pq.ParquetFile(target).metadata
    assert metadata.num_row_groups == 3
    assert metadata.row_group(0).column(0).compression == "SNAPPY"


def test_csv_delimiter_and_header(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    table = pa.table({"a": [1, 2], "b": ["x", "y"]})
    engine.sink("csv", path=str(target), delimiter=";", header=False).write(table)
    assert target.read_text().splitlines() == ['1;"x"', '2;"y"']


def test_duckdb_sink_appends_by_name_and_refuses_when_told(tmp_path: Path) -> None:
    database = str(tmp_path / "results.duckdb")
    engine.sink("duckdb", database=database, table="runs").write(pa.table({"a": [1], "b": ["x"]}))
    written = engine.sink("duckdb", database=database, table="runs", if_exists="append").write(
        pa.table({"b": ["y", "z"], "a": [2, 3]})
    )
    assert written.rows == 2
    with engine.source("duckdb", database=database, table="runs") as source:
        assert source.to_arrow().to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}]
    with pytest.raises(engine.DataError, match="table 'runs' exists"):
        engine.sink("duckdb", database=database, table="runs", if_exists="error").write(pa.table({"a": [9]}))


def test_a_source_streams_into_a_sink(tmp_path: Path) -> None:
    big = pa.table({"id": pa.array(range(5000), pa.int64()), "even": pa.array([i % 2 == 0 for i in range(5000)])})
    pq.write_table(big, tmp_path / "big.parquet")
    source = engine.source("duckdb", path=str(tmp_path / "big.parquet"), filters=[("even", "==", True)], columns=["id"])
    written = engine.sink("parquet", path=str(tmp_path / "even.parquet")).write(source)
    assert written.rows == 2500
    assert pq.read_table(tmp_path / "even.parquet").column("id").to_pylist() == list(range(0, 5000, 2))


def test_a_toml_pipeline_from_source_to_sink(tmp_path: Path) -> None:
    pq.write_table(sample_table(20), tmp_path / "in.parquet")
    text = f"""
[pipeline]
name = "copy the first rows"

[[steps]]
kind = "source"
name = "duckdb"
options = {{ path = "{tmp_path / 'in.parquet'}", columns = ["id", "label"], filters = [["id", "<", 5]] }}

[[steps]]
kind = "sink"
name = "csv"
options = {{ path = "{tmp_path / 'out.csv'}" }}
"""
    result = loads_pipeline(text).run()
    (written,) = result.flow.facts["written"]
    assert (written.rows, written.format) == (5, "csv")
    assert engine.source("duckdb", path=written.location).to_arrow().column("id").to_pylist() == [0, 1, 2, 3, 4]
