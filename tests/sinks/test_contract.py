"""Every built-in sink passes the sink contract suite from engine.testing; each is read back
through the `duckdb` source, as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import engine
from engine.testing import SinkContract


class TestParquetSink(SinkContract):
    name = "parquet"

    def target(self, folder: Path) -> dict[str, Any]:
        return {"path": str(folder / "result.parquet")}

    def read_back(self, written: Any) -> Any:
        return engine.source("duckdb", path=written.location).to_arrow()


class TestCsvSink(SinkContract):
    name = "csv"

    def target(self, folder: Path) -> dict[str, Any]:
        return {"path": str(folder / "result.csv")}

    def read_back(self, written: Any) -> Any:
        return engine.source("duckdb", path=written.location).to_arrow()


class TestDuckDBSink(SinkContract):
    name = "duckdb"

    def target(self, folder: Path) -> dict[str, Any]:
        return {"database": str(folder / "results.duckdb"), "table": "results"}

    def read_back(self, written: Any) -> Any:
        with engine.source("duckdb", database=written.location, table=written.table) as source:
            return source.to_arrow()
