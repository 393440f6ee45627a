"""Small real data files for the source tests: Parquet, CSV, JSON, a hive-partitioned folder and a DuckDB database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def sales(rows: int = 60, offset: int = 0) -> Any:
    """A small sales table with an integer, a float (one null), a string and a date column."""
    import datetime as dt

    import pyarrow as pa

    ids = range(offset, offset + rows)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "amount": pa.array([None if i % 17 == 5 else round(i * 1.5, 2) for i in ids], pa.float64()),
        "region": pa.array([("north", "south", "east", "west")[i % 4] for i in ids], pa.string()),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 30) for i in ids], pa.date32()),
    })


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sales.parquet / .csv / .jsonl, parts/part-{0,1,2}.parquet, a hive folder by year, sales.duckdb."""
    import duckdb
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("sources")
    table = sales()
    pq.write_table(table, root / "sales.parquet", row_group_size=10)
    csv.write_csv(table, root / "sales.csv")
    (root / "parts").mkdir()
    for k in range(3):
        pq.write_table(sales(20, offset=20 * k), root / "parts" / f"part-{k}.parquet")
    for year, offset in ((2022, 0), (2023, 30), (2024, 60)):
        folder = root / "hive" / f"year={year}"
        folder.mkdir(parents=True)
        pq.write_table(sales(30, offset=offset), folder / "data.parquet")
    con = duckdb.connect(str(root / "sales.duckdb"))
    con.register("incoming", table)
    con.execute("CREATE TABLE sales AS SELECT * FROM incoming")
    con.execute('CREATE TABLE "odd name" AS SELECT * FROM incoming LIMIT 3')
    con.close()
    with open(root / "sales.jsonl", "w") as handle:
        for row in table.to_pylist():
            import json

            handle.write(json.dumps({**row, "day": row["day"].isoformat()}) + "\n")
    return root
