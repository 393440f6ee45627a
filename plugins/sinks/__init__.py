"""Built-in sink plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_sinks() -> list[Registration]:
    return [
        Registration(
            kind="sink",
            name="parquet",
            factory="plugins.sinks.files:ParquetSink",
            summary="a Parquet file, streamed batch by batch and renamed into place when whole",
            requires=("pyarrow",),
        ),
        Registration(
            kind="sink",
            name="csv",
            factory="plugins.sinks.files:CSVSink",
            summary="a CSV file with a header row, streamed and renamed into place when whole",
            requires=("pyarrow",),
        ),
        Registration(
            kind="sink",
            name="duckdb",
            aliases=("duckdb-table",),
            factory="plugins.sinks.duckdb_table:DuckDBTableSink",
            summary="a table in a DuckDB database file, replaced or appended to in one transaction",
            requires=("duckdb",),
            extra="sources",
        ),
    ]
