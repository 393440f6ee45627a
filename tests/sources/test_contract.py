"""Every built-in source passes the source contract suite from engine.testing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.errors import PluginError
from engine.kinds.source import parts_of
from engine.testing import SourceContract
from tests.sources.conftest import sales


class TestMemoryArrow(SourceContract):
    name = "memory"
    options = {"data": sales()}


class TestMemoryPandas(SourceContract):
    name = "memory"
    options = {"data": sales().to_pandas()}


class TestMemoryDictOfNumpy(SourceContract):
    name = "memory"
    options = {"data": {"id": np.arange(50), "score": np.linspace(0.0, 1.0, 50), "group": np.arange(50) % 3}}


class TestSynthetic(SourceContract):
    name = "synthetic"
    options = {"n": 200, "seed": 7, "categorical": True}


class DuckDBContract(SourceContract):
    name = "duckdb"
    where: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _point_at_data(self, data_dir: Path) -> None:
        self.options = {key: str(data_dir / value) if key in ("path", "database") else value
                        for key, value in self.where.items()}


class TestDuckDBParquet(DuckDBContract):
    where = {"path": "sales.parquet"}


class TestDuckDBCsv(DuckDBContract):
    where = {"path": "sales.csv"}


class TestDuckDBJson(DuckDBContract):
    where = {"path": "sales.jsonl"}


class TestDuckDBGlob(DuckDBContract):
    where = {"path": "parts/part-*.parquet"}


class TestDuckDBHiveFolder(DuckDBContract):
    where = {"path": "hive"}


class TestDuckDBTable(DuckDBContract):
    where = {"database": "sales.duckdb", "table": "sales"}


class TestDuckDBSql(DuckDBContract):
    where = {"database": "sales.duckdb", "sql": "SELECT id, amount * 2 AS doubled, region FROM sales WHERE id < $limit",
             "params": {"limit": 40}}


def test_a_source_whose_parts_are_not_option_sets_is_a_clear_error() -> None:
    class Odd:
        def parts(self) -> str:
            return "day=1"

    with pytest.raises(PluginError, match=r"Odd.parts\(\) must return a list of option dicts"):
        parts_of(Odd())
