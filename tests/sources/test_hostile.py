"""The duckdb source against hostile or awkward input: parameter names that collide with the
filter's, SQL that tries to run a second statement, file names with glob characters, odd table names."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as csv
import pytest

import engine


@pytest.mark.parametrize("name", ["hookyard_filter_0", "hookyard_filter_1", "HOOKYARD_FILTER_1"])
def test_a_users_param_named_like_a_filter_param_is_not_overwritten(name: str) -> None:
    sql = f"SELECT * FROM range(10) AS t(id) WHERE id >= ${name}"
    with engine.source("duckdb", sql=sql, params={name: 4}, filters=[("id", "<", 7), ("id", "!=", 5)]) as source:
        assert source.to_arrow().column("id").to_pylist() == [4, 6]
        assert source.count() == 2
        assert source.scan().read_all().column("id").to_pylist() == [4, 6]


def test_filter_params_skip_every_taken_name() -> None:
    from engine.filters import parse, to_sql

    params = {"hookyard_filter_1": "mine", "hookyard_filter_2": "mine too"}
    text = to_sql(parse([("a", "in", [1, 2, 3])]), params)
    assert text == '"a" IN ($hookyard_filter_3, $hookyard_filter_4, $hookyard_filter_5)'
    assert params == {"hookyard_filter_1": "mine", "hookyard_filter_2": "mine too",
                      "hookyard_filter_3": 1, "hookyard_filter_4": 2, "hookyard_filter_5": 3}


def copy_attacks(target: Path) -> list[str]:
    copy = f"COPY (SELECT 42 AS x) TO '{target}' (FORMAT csv)"
    return [
        f"SELECT 1 AS x) AS source; {copy}; SELECT * FROM (SELECT 1 AS x",
        f"SELECT 1 AS x; {copy}",
        copy,
        f"{copy}; SELECT 1 AS x",
        f"WITH a AS (SELECT 1 AS x) SELECT * FROM a; {copy}",
    ]


@pytest.mark.parametrize("attack", range(5))
def test_sql_cannot_run_a_second_statement(tmp_path: Path, attack: int) -> None:
    target = tmp_path / "pwned.csv"
    sql = copy_attacks(target)[attack]
    with pytest.raises(engine.OptionError, match="sql must be exactly one query|sql does not parse"):
        source = engine.source("duckdb", sql=sql)
        source.to_arrow()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("sql", "kind"),
    [("CREATE TABLE t AS SELECT 1", "CREATE"), ("INSERT INTO t VALUES (1)", "INSERT"), ("EXPLAIN SELECT 1", "EXPLAIN"),
     ("ATTACH 'x.duckdb' AS x", "ATTACH"), ("", "no statement")],
)
def test_sql_that_is_not_a_query_is_refused_naming_what_it_is(sql: str, kind: str) -> None:
    with pytest.raises(engine.OptionError, match=f"got .*{kind}"):
        engine.source("duckdb", sql=sql)


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("SELECT 1 AS x UNION ALL SELECT 2", [1, 2]),
        ("WITH a AS (SELECT 3 AS x) SELECT x FROM a;", [3]),
        ("VALUES (4), (5)", [4, 5]),
        ("FROM (SELECT 6 AS x)", [6]),
        ("SELECT 7 AS x -- a trailing comment", [7]),
        ("SELECT 8 AS x WHERE $keep", [8]),
    ],
)
def test_one_query_of_any_form_reads(sql: str, rows: list[int]) -> None:
    params = {"keep": True} if "$keep" in sql else None
    with engine.source("duckdb", sql=sql, params=params) as source:
        table = source.to_arrow()
    assert table.column(0).to_pylist() == rows


def test_a_file_named_with_glob_characters_is_read_with_glob_false(tmp_path: Path) -> None:
    csv.write_csv(pa.table({"x": [1]}), tmp_path / "a[1].csv")
    csv.write_csv(pa.table({"x": [2]}), tmp_path / "a1.csv")
    csv.write_csv(pa.table({"x": [3]}), tmp_path / "b*.csv")
    csv.write_csv(pa.table({"x": [4]}), tmp_path / "bz.csv")
    for name, value in (("a[1].csv", 1), ("b*.csv", 3)):
        with engine.source("duckdb", path=str(tmp_path / name), glob=False) as source:
            assert source.to_arrow().column("x").to_pylist() == [value]
    with engine.source("duckdb", path=[str(tmp_path / "a[1].csv"), str(tmp_path / "a1.csv")], glob=False) as source:
        assert source.to_arrow().column("x").to_pylist() == [1, 2]


def test_a_pattern_that_is_also_a_file_name_is_refused_with_the_way_out(tmp_path: Path) -> None:
    csv.write_csv(pa.table({"x": [1]}), tmp_path / "a[1].csv")
    csv.write_csv(pa.table({"x": [2]}), tmp_path / "a1.csv")
    with pytest.raises(engine.DataError, match="pass glob=False to read that one"):
        engine.source("duckdb", path=str(tmp_path / "a[1].csv")).to_arrow()
    # Without the literal file, the same text is a pattern as before.
    (tmp_path / "a[1].csv").unlink()
    assert engine.source("duckdb", path=str(tmp_path / "a[1].csv")).to_arrow().column("x").to_pylist() == [2]


def test_a_folder_named_with_glob_characters_is_read_with_glob_false(tmp_path: Path) -> None:
    folder = tmp_path / "run[2024]"
    folder.mkdir()
    csv.write_csv(pa.table({"x": [1, 2]}), folder / "part.csv")
    with engine.source("duckdb", path=str(folder), glob=False) as source:
        assert source.to_arrow().column("x").to_pylist() == [1, 2]


def test_glob_false_without_a_literal_match_says_no_such_file(tmp_path: Path) -> None:
    csv.write_csv(pa.table({"x": [2]}), tmp_path / "a1.csv")
    with pytest.raises(engine.DataError, match="no such file"):
        engine.source("duckdb", path=str(tmp_path / "a[1].csv"), glob=False).to_arrow()


def test_glob_is_an_option_of_paths_only() -> None:
    with pytest.raises(engine.OptionError, match="only with path"):
        engine.source("duckdb", sql="SELECT 1", glob=False)


@pytest.mark.parametrize("table", ["a.b.c.d", "a..b", "", '"open', 'x"y'])
def test_a_malformed_table_name_is_an_option_error(tmp_path: Path, table: str) -> None:
    with pytest.raises(engine.OptionError, match="catalog.schema.table"):
        engine.source("duckdb", database=str(tmp_path / "x.duckdb"), table=table)


def test_quoted_and_qualified_table_names_read(data_dir: Path) -> None:
    database = str(data_dir / "sales.duckdb")
    for table, rows in (('"odd name"', 3), ('main."odd name"', 3), ("odd name", 3), ("sales.main.sales", 60)):
        with engine.source("duckdb", database=database, table=table) as source:
            assert source.count() == rows
