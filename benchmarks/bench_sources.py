"""The `duckdb` source against raw DuckDB on one Parquet file of 100M rows (10M with --quick).

Writes the file once (cached under the temp folder), then times, in this process and alternating
the two, a group-by aggregate (`sql=` through the source vs the same query on a raw connection)
and a full Arrow stream of 3 columns (`scan()` through the source vs `to_arrow_reader` on a raw
connection). Prints `aggregate_overhead` and `stream_overhead` (ours / raw, best of the runs);
goal: both <= 1.10.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

import engine
from engine.atomic import atomic_path
from plugins.sources.duckdb_source import lazy_parameterised_sql

BATCH_SIZE = 131_072
GOAL = 1.10
AGGREGATE = "SELECT key, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM read_parquet($file) GROUP BY key"
STREAMED = ["id", "key", "amount"]


def parquet_file(rows: int) -> Path:
    """`rows` rows of id, key (1000 groups), amount and flag, written once and reused."""
    path = Path(tempfile.gettempdir()) / "hookyard-bench" / f"sources-{rows}.parquet"
    if path.exists():
        return path
    print(f"writing {rows:,} rows to {path} (once)")
    with atomic_path(path) as tmp:
        duckdb.connect().execute(
            f"COPY (SELECT i AS id, (i * 7919) % 1000 AS key, (i % 10007) * 0.25 AS amount, i % 3 = 0 AS flag "
            f"FROM range({rows}) t(i)) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    return path


def drain(reader: object) -> int:
    return sum(batch.num_rows for batch in reader)


def ours_aggregate(path: Path) -> int:
    return engine.source("duckdb", sql=AGGREGATE, params={"file": str(path)}).to_arrow().num_rows


def raw_result(query: str, params: dict[str, object]) -> object:
    """The query on a raw connection, read the way this DuckDB streams it: a lazy relation from 2.0
    on; before 2.0 `sql()` with parameters materialises the rows first, so a prepared `execute()`."""
    con = duckdb.connect()
    return con.sql(query, params=params) if lazy_parameterised_sql() else con.execute(query, params)


def raw_aggregate(path: Path) -> int:
    return raw_result(AGGREGATE, {"file": str(path)}).to_arrow_table().num_rows


def ours_stream(path: Path) -> int:
    return drain(engine.source("duckdb", path=str(path), columns=STREAMED).scan(batch_size=BATCH_SIZE))


def raw_stream(path: Path) -> int:
    query = f"SELECT {', '.join(STREAMED)} FROM read_parquet($file)"
    return drain(raw_result(query, {"file": str(path)}).to_arrow_reader(BATCH_SIZE))


def best_of(runs: int, ours: Callable[[Path], int], raw: Callable[[Path], int], path: Path) -> tuple[float, float]:
    """Best wall time of each over `runs` alternating runs (after one warm-up of each); the two must agree."""
    ours(path), raw(path)
    times: dict[str, list[float]] = {"ours": [], "raw": []}
    rows: dict[str, int] = {}
    for _ in range(runs):
        for label, run in (("ours", ours), ("raw", raw)):
            started = time.perf_counter()
            rows[label] = run(path)
            times[label].append(time.perf_counter() - started)
        assert rows["ours"] == rows["raw"], rows
    return min(times["ours"]), min(times["raw"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10M rows instead of 100M")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = 10_000_000 if args.quick else 100_000_000
    path = parquet_file(rows)
    agg_ours, agg_raw = best_of(args.runs, ours_aggregate, raw_aggregate, path)
    stream_ours, stream_raw = best_of(args.runs, ours_stream, raw_stream, path)
    aggregate_overhead = agg_ours / agg_raw
    stream_overhead = stream_ours / stream_raw
    print(f"rows                  {rows:>14,}")
    print(f"group-by aggregate    ours {agg_ours:7.3f} s   raw {agg_raw:7.3f} s   ratio {aggregate_overhead:.3f}")
    print(f"3-column Arrow stream ours {stream_ours:7.3f} s   raw {stream_raw:7.3f} s   ratio {stream_overhead:.3f}")
    print(json.dumps({
        "rows": rows,
        "aggregate_ours_s": round(agg_ours, 3), "aggregate_raw_s": round(agg_raw, 3),
        "aggregate_overhead": round(aggregate_overhead, 3),
        "stream_ours_s": round(stream_ours, 3), "stream_raw_s": round(stream_raw, 3),
        "stream_overhead": round(stream_overhead, 3),
        "goal": GOAL, "ok": aggregate_overhead <= GOAL and stream_overhead <= GOAL,
    }))


if __name__ == "__main__":
    main()
