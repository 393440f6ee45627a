"""The sinks against bad targets, checked when the sink is built (before any step runs), and the
duckdb sink against odd table names."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import engine
from engine.testing.sink import sample_table
from plugins.sinks.duckdb_table import catalog_of


def bad_targets(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, what the error says), for targets no sink can write."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain.txt").write_text("a file, not a folder")
    return {
        "empty": ("", "is empty"),
        "blank": ("   ", "is empty"),
        "folder": (str(tmp_path / "folder"), "is a folder; give a file in it"),
        "parent is a file": (str(tmp_path / "plain.txt" / "out.bin"), "plain.txt' is a file, not a folder"),
        "grandparent is a file": (str(tmp_path / "plain.txt" / "deeper" / "out.bin"), "is a file, not a folder"),
        "device": ("/dev/null", "not a regular file"),
        "nul byte": (str(tmp_path / "a\0b"), "NUL byte"),
    }


CASES = ["empty", "blank", "folder", "parent is a file", "grandparent is a file", "device", "nul byte"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("sink", ["parquet", "csv", "duckdb"])
def test_a_target_no_sink_can_write_is_an_option_error_when_built(tmp_path: Path, sink: str, case: str) -> None:
    path, message = bad_targets(tmp_path)[case]
    options = {"database": path, "table": "t"} if sink == "duckdb" else {"path": path}
    with pytest.raises(engine.OptionError, match=message):
        engine.sink(sink, **options)


def test_a_bad_target_stops_the_run_before_any_step_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").mkdir()
    pipeline = engine.Pipeline([
        engine.Step("source", "memory", options={"data": {"n": [1, 2, 3]}}),
        engine.Step("sink", "csv", options={"path": "first.csv"}),
        engine.Step("sink", "parquet", options={"path": "taken"}),
    ])
    with pytest.raises(engine.StepError, match=r"step 3 .*OptionError: parquet sink: path 'taken' is a folder"):
        pipeline.run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_target_in_folders_yet_to_be_made_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "out.parquet"
    assert engine.sink("parquet", path=str(target)).write(sample_table(4)).rows == 4
    assert target.is_file()


@pytest.mark.parametrize("table", ["a.b.c.d", "a..b", ".t", "t.", "", '"open', 'x"y', '""'])
def test_a_malformed_table_name_is_an_option_error_when_built(tmp_path: Path, table: str) -> None:
    with pytest.raises(engine.OptionError, match="catalog.schema.table"):
        engine.sink("duckdb", database=str(tmp_path / "r.duckdb"), table=table)


def test_a_catalog_other_than_the_files_own_is_an_option_error(tmp_path: Path) -> None:
    with pytest.raises(engine.OptionError, match="whose catalog is 'results'"):
        engine.sink("duckdb", database=str(tmp_path / "results.duckdb"), table="elsewhere.main.runs")


def test_the_catalog_rule_is_duckdbs(tmp_path: Path) -> None:
    for name in ("results.duckdb", "a.b.duckdb", "plain", ".hidden.db"):
        con = duckdb.connect(str(tmp_path / name))
        try:
            assert con.sql("SELECT current_database()").fetchall()[0][0] == catalog_of(tmp_path / name)
        finally:
            con.close()


@pytest.mark.parametrize("new_file", [True, False])
def test_qualified_and_quoted_table_names_write_where_they_say(tmp_path: Path, new_file: bool) -> None:
    database = tmp_path / "results.duckdb"
    if not new_file:
        duckdb.connect(str(database)).close()
    names = {"runs": "runs", "analytics.runs": "runs", "results.analytics.daily": "daily", '"q1.sales"': "q1.sales",
             '"say ""hi"""': 'say "hi"'}
    for table in names:
        engine.sink("duckdb", database=str(database), table=table).write(pa.table({"a": [1, 2]}))
    con = duckdb.connect(str(database), read_only=True)
    try:
        found = sorted(con.sql("SELECT table_schema, table_name FROM information_schema.tables").fetchall())
    finally:
        con.close()
    assert found == [("analytics", "daily"), ("analytics", "runs"), ("main", "q1.sales"), ("main", "runs"),
                     ("main", 'say "hi"')]


def test_a_table_is_found_whatever_the_case_it_is_named_in(tmp_path: Path) -> None:
    database = str(tmp_path / "results.duckdb")
    engine.sink("duckdb", database=database, table='"Runs"').write(pa.table({"a": [1]}))
    with pytest.raises(engine.DataError, match="table 'runs' exists"):
        engine.sink("duckdb", database=database, table="runs", if_exists="error").write(pa.table({"a": [2]}))
    engine.sink("duckdb", database=database, table="RUNS", if_exists="append").write(pa.table({"a": [3]}))
    with engine.source("duckdb", database=database, table="runs") as source:
        assert source.to_arrow().column("a").to_pylist() == [1, 3]


def test_a_table_only_in_another_schema_does_not_count_as_existing(tmp_path: Path) -> None:
    database = str(tmp_path / "results.duckdb")
    engine.sink("duckdb", database=database, table="other.runs").write(pa.table({"a": [1]}))
    engine.sink("duckdb", database=database, table="runs", if_exists="append").write(pa.table({"a": [2]}))
    with engine.source("duckdb", database=database, table="main.runs") as source:
        assert source.to_arrow().column("a").to_pylist() == [2]


def test_an_append_duckdb_refuses_is_a_data_error(tmp_path: Path) -> None:
    database = str(tmp_path / "results.duckdb")
    engine.sink("duckdb", database=database, table="runs").write(pa.table({"a": [1]}))
    with pytest.raises(engine.DataError, match="duckdb sink: cannot write table 'runs'"):
        engine.sink("duckdb", database=database, table="runs", if_exists="append").write(pa.table({"b": ["x"]}))
