"""The `duckdb` source on real files and databases: pushdown, pruning, bound parameters, settings, errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import engine
from engine import progress
from engine.filters import col
from tests.sources.conftest import sales


def scan_operator(plan: str) -> str:
    """The text of the READ_PARQUET / SEQ_SCAN box of a DuckDB plan, where pushed-down work shows:
    borders dropped and lines joined, as DuckDB 1.5 (┌ boxes) and 2.0 (╭ boxes) draw plans apart."""
    boxes = re.split(r"[╭┌]─", plan)
    box = next(box for box in boxes if re.search("READ_PARQUET|SEQ_SCAN|Seq Scan", box))
    return " ".join(re.sub("[│─┬┴╮╯╰┐┘└]", " ", box).split())


def test_projection_and_filter_reach_the_parquet_reader(data_dir: Path) -> None:
    source = engine.source("duckdb", path=str(data_dir / "sales.parquet"), columns=["region", "id"],
                           filters=[("amount", ">=", 30.0), ("region", "in", ["north", "east"])])
    scan = scan_operator(source.explain())
    assert re.search(r"Projections:.*\bid\b", scan) and "region" in scan
    assert "amount>=30.0" in scan.replace(" ", "") and "north" in scan
    expected = sales().filter((pc.field("amount") >= 30.0) & pc.field("region").isin(["north", "east"]))
    assert source.to_arrow().equals(expected.select(["region", "id"]))


def test_filter_values_are_bound_never_pasted(data_dir: Path) -> None:
    attack = "north' OR '1'='1"
    source = engine.source("duckdb", path=str(data_dir / "sales.parquet"), filters=[("region", "==", attack)])
    assert source.count() == 0
    sql_line = next(line for line in source.explain().splitlines() if line.startswith("SQL:"))
    assert attack not in sql_line and "$hookyard_filter_" in sql_line


def test_identifiers_are_quoted(tmp_path: Path) -> None:
    odd = 'we"ird name'
    pq.write_table(pa.table({odd: [1, 2, 3], "select": ["a", "b", "c"]}), tmp_path / "odd.parquet")
    source = engine.source("duckdb", path=str(tmp_path / "odd.parquet"), columns=["select"], filters=[(odd, ">", 1)])
    assert source.to_arrow().column("select").to_pylist() == ["b", "c"]


def test_table_with_a_space_in_its_name(data_dir: Path) -> None:
    with engine.source("duckdb", database=str(data_dir / "sales.duckdb"), table="odd name") as source:
        assert source.count() == 3


@pytest.fixture
def hive_with_a_broken_partition(tmp_path: Path) -> Path:
    """Three good year partitions and one whose file is not Parquet at all."""
    for year, offset in ((2022, 0), (2023, 30), (2024, 60)):
        (tmp_path / f"year={year}").mkdir()
        pq.write_table(sales(30, offset), tmp_path / f"year={year}" / "data.parquet")
    (tmp_path / "year=2099").mkdir()
    (tmp_path / "year=2099" / "data.parquet").write_bytes(b"not parquet")
    return tmp_path


def test_hive_partitions_are_pruned(hive_with_a_broken_partition: Path) -> None:
    source = engine.source("duckdb", path=str(hive_with_a_broken_partition), filters=[("year", "==", 2023)])
    scan = scan_operator(source.explain())
    assert "File Filters" in scan and re.search(r"Scanning Files: 1/4", scan)
    table = source.to_arrow()
    assert table.column("id").to_pylist() == list(range(30, 60))
    assert set(table.column("year").to_pylist()) == {2023}
    with pytest.raises(engine.DataError, match="year=2099"):
        engine.source("duckdb", path=str(hive_with_a_broken_partition)).to_arrow()


def test_a_list_of_files(data_dir: Path) -> None:
    paths = [str(data_dir / "parts" / f"part-{k}.parquet") for k in (2, 0)]
    table = engine.source("duckdb", path=paths, columns=["id"]).to_arrow()
    assert sorted(table.column("id").to_pylist()) == list(range(20)) + list(range(40, 60))


def test_sql_over_files_with_named_parameters(data_dir: Path) -> None:
    source = engine.source(
        "duckdb",
        sql="SELECT region, count(*) AS n FROM read_parquet($file) GROUP BY region",
        params={"file": str(data_dir / "sales.parquet")},
        filters=col("n") > 0,
    )
    assert dict(zip(*source.to_pandas().sort_values("region").to_dict("list").values())) == {
        "east": 15, "north": 15, "south": 15, "west": 15,
    }


def test_connection_settings(tmp_path: Path) -> None:
    source = engine.source(
        "duckdb",
        sql="SELECT current_setting('threads') AS threads, current_setting('temp_directory') AS spill",
        threads=1, memory_limit="256MB", temp_directory=str(tmp_path / "spill"),
    )
    assert source.to_arrow().to_pylist() == [{"threads": 1, "spill": str(tmp_path / "spill")}]


def test_to_numpy_is_a_matrix_of_the_projection(data_dir: Path) -> None:
    source = engine.source("duckdb", path=str(data_dir / "sales.parquet"), columns=["id", "amount"],
                           filters=[("id", "<", 4)])
    assert source.to_numpy().tolist() == [[0.0, 0.0], [1.0, 1.5], [2.0, 3.0], [3.0, 4.5]]


def test_a_scan_outlives_the_source(data_dir: Path) -> None:
    reader = engine.source("duckdb", path=str(data_dir / "sales.parquet")).scan(batch_size=16)
    import gc

    gc.collect()
    assert reader.read_all().num_rows == 60


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = engine.source("duckdb", path=str(data_dir / "sales.parquet"))
    quiet = source.scan(batch_size=8)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(progress, "_quiet", False)
    assert progress.enabled()
    assert source.scan(batch_size=8).read_all().num_rows == 60
    assert "rows" in terminal.getvalue()
    assert quiet.read_all().num_rows == 60


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "missing.parquet"}, "no such file: '.*missing.parquet'"),
        ({"path": "nowhere-*/part-*.parquet"}, "matches no files"),
        ({"database": "sales.duckdb", "table": "saels"}, "has the tables: main.odd name, main.sales"),
        ({"database": "absent.duckdb", "table": "sales"}, "cannot open the database"),
        ({"path": "sales.parquet", "filters": [("amout", ">", 1)]}, "'amout' \\(did you mean 'amount'\\?\\)"),
        ({"path": "sales.parquet", "columns": ["regoin"]}, "'regoin' \\(did you mean 'region'\\?\\)"),
        ({"path": "sales.parquet", "filters": [("region", ">", 3)]}, "Cannot compare values"),
        ({"path": "."}, "the files mix formats \\['csv', 'json', 'parquet'\\]; pass format="),
    ],
)
def test_clear_errors(data_dir: Path, monkeypatch: pytest.MonkeyPatch, options: dict, message: str) -> None:
    monkeypatch.chdir(data_dir)
    with pytest.raises(engine.DataError, match=message):
        engine.source("duckdb", **options).to_arrow()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of path=..., table=... or sql=...; got none"),
        ({"path": "a.parquet", "sql": "SELECT 1"}, "got path and sql"),
        ({"table": "sales"}, "needs database="),
        ({"path": "warehouse.duckdb"}, "looks like a DuckDB database"),
        ({"path": "a.parquet", "params": {"x": 1}}, "only with sql"),
        ({"path": "a.parquet", "filters": [("x", "=>", 1)]}, "unknown operator '=>'"),
        ({"path": "a.parquet", "format": "xlsx"}, "one of 'auto', 'parquet', 'csv', 'json'"),
        ({"sql": "SELEC id FROM sales"}, "does not parse"),
    ],
)
def test_option_errors_come_before_any_work(options: dict, message: str) -> None:
    with pytest.raises(engine.OptionError, match=re.escape(message) if "=>" in message else message):
        engine.source("duckdb", **options)
