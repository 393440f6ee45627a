"""Built-in source plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_sources() -> list[Registration]:
    return [
        Registration(
            kind="source",
            name="duckdb",
            factory="plugins.sources.duckdb_source:DuckDBSource",
            summary="Parquet, CSV or JSON files, globs, hive folders and S3, DuckDB tables or SQL, with pushdown",
            requires=("duckdb",),
            extra="sources",
            capabilities=("projection", "filters", "s3", "parts"),
        ),
        Registration(
            kind="source",
            name="memory",
            aliases=("in-memory",),
            factory="plugins.sources.memory:MemorySource",
            summary="pandas, polars or pyarrow tables and dicts of columns as a source, with projection and filters",
            requires=("pyarrow",),
            capabilities=("projection", "filters"),
        ),
        Registration(
            kind="source",
            name="synthetic",
            factory="plugins.sources.synthetic:SyntheticSource",
            summary="the seed article's seeded uplift data with the true effect of every treatment",
            requires=("numpy", "pyarrow"),
        ),
    ]
