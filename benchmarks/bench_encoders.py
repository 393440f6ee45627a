"""One-hot encoding side by side: `onehot` against scikit-learn's OneHotEncoder and polars' to_dummies.

Builds N rows x 5 string columns (cardinalities 5, 20, 100, 1000, 10000; 10M rows, or 1M with
--quick), then times fit + transform for `onehot` and for scikit-learn's
OneHotEncoder(handle_unknown="ignore"), both to a float64 CSR matrix of the same 11125 columns, each
on the same data in its own natural form (an Arrow table, a pandas frame), and measures `onehot`'s
peak memory above what was in use before it ran.

polars' to_dummies returns dense columns, and 10M rows x 11125 dummy columns would need 111 GB,
so polars is timed on the three columns whose dummies fit in memory (125 columns), against
`onehot` on the same three columns with uint8 values as polars gives (the same one-hot
information, as a CSR matrix).

`to_sql` at many levels (--sql-levels, default 10,000 and 100,000 levels of one column): the
seconds to write each form of the query (the select list, and the whole query that locates each
row's level once; median of 3) and the seconds DuckDB takes to run it on 20 rows, with the ratio between the
largest and smallest level counts (10 for linear growth at 10x the levels, 100 for quadratic).
`--sql-only` runs just this part.

Fairness: one process, the same data, each contender run once to warm up, then `--repeat` rounds
in which the contenders of a comparison run in turn (so a busy machine slows them alike); the
median of each counts. Both polars and `onehot` (through Arrow) use all the CPUs they see: the
thread counts and the machine's load average are printed. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

import engine

CARDINALITIES = (5, 20, 100, 1000, 10000)
POLARS_COLUMNS = 3


def make_table(rows: int, seed: int) -> pa.Table:
    """N rows of 5 plain string columns with uniformly drawn levels."""
    rng = np.random.default_rng(seed)
    columns = {}
    for j, cardinality in enumerate(CARDINALITIES):
        levels = pa.array([f"c{j}_level_{i}" for i in range(cardinality)])
        codes = pa.array(rng.integers(0, cardinality, rows, dtype=np.int32))
        columns[f"c{cardinality}"] = pa.DictionaryArray.from_arrays(codes, levels).dictionary_decode()
    return pa.table(columns)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of `function` takes, and its result."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def race(contenders: dict[str, Callable[[], Any]], repeat: int, warm_up: bool = True) -> dict[str, float]:
    """Median seconds of each contender over `repeat` rounds, after a warm-up round unless they
    already ran; in each round every contender runs once, in turn, so that a busy machine slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeat + warm_up):
        for name, function in contenders.items():
            seconds, result = timed(function)
            del result
            if round_ or not warm_up:
                times[name].append(seconds)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_above_baseline(function: Callable[[], Any]) -> tuple[float, str, Any]:
    """Run `function` once; the peak resident memory (MB) it added above what was resident before.

    Resets the kernel's high-water mark (Linux /proc/self/clear_refs) so that the peak is this
    run's; elsewhere falls back to the process's lifetime peak (an overestimate).
    """
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        method = "VmHWM after clear_refs"
    except OSError:
        method = "ru_maxrss (process lifetime)"
    before = _status_kb("VmRSS") or 0
    result = function()
    peak = _status_kb("VmHWM") if method.startswith("VmHWM") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(0, (peak or 0) - before) / 1024, method, result


def matrix_mb(matrix: Any) -> float:
    return (matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / 2**20


def sql_scaling(levels: list[int]) -> dict[str, Any]:
    """Seconds to write and to run (DuckDB, 20 rows) both forms of to_sql() at each level count."""
    import duckdb

    figures: dict[str, Any] = {}
    for count in levels:
        train = pa.table({"c": [f"level_{i}" for i in range(count)]})
        encoder = engine.encoder("onehot", output="arrow", handle_unknown="error").fit(train)
        writers = {"select_list": lambda: f"SELECT {encoder.to_sql()} FROM t", "query": lambda: encoder.to_sql("t")}
        for form, write in writers.items():
            write_seconds = statistics.median(timed(write)[0] for _ in range(3))
            sql = write()
            connection = duckdb.connect()
            connection.register("t", train.slice(0, 20))
            run_seconds, result = timed(lambda: connection.sql(sql).to_arrow_table())
            same = result.equals(encoder.transform(train.slice(0, 20)))
            figures[f"{form}_{count}"] = {"write_s": round(write_seconds, 3), "duckdb_s": round(run_seconds, 3), "same": same}
            print(f"to_sql {form:11} {count:>7,} levels: written in {write_seconds:7.3f} s, DuckDB runs it in "
                  f"{run_seconds:7.3f} s on 20 rows; same as transform: {same}", flush=True)
    low, high = min(levels), max(levels)
    if high > low:
        for form in ("select_list", "query"):
            ratio = figures[f"{form}_{high}"]["write_s"] / max(figures[f"{form}_{low}"]["write_s"], 1e-9)
            figures[f"{form}_write_ratio"] = round(ratio, 1)
            print(f"to_sql {form}: {high / low:.0f}x the levels took {ratio:.1f}x as long to write")
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M rows instead of 10M")
    parser.add_argument("--rows", type=int, help="rows to build (overrides --quick)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds after a warm-up; the median counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sql-levels", type=int, nargs="+", default=[10_000, 100_000], help="level counts for to_sql")
    parser.add_argument("--sql-only", action="store_true", help="only the to_sql figures")
    args = parser.parse_args(argv)
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    if args.sql_only:
        result = {"benchmark": "encoders-sql", "cpus": os.cpu_count(), "to_sql": sql_scaling(args.sql_levels)}
        print(json.dumps(result))
        return result

    import polars as pl
    from sklearn.preprocessing import OneHotEncoder

    table = make_table(rows, args.seed)
    frame = table.to_pandas()
    print(f"{rows:,} rows x {len(CARDINALITIES)} string columns, cardinalities {CARDINALITIES}")

    def ours() -> Any:
        return engine.encoder("onehot").fit_transform(table)

    peak_mb, peak_method, encoded = peak_above_baseline(ours)
    output_mb = matrix_mb(encoded)
    expected = OneHotEncoder(handle_unknown="ignore").fit_transform(frame)
    same = encoded.shape == expected.shape and (encoded != expected).nnz == 0
    del encoded, expected
    full = race(
        {"onehot": ours, "sklearn": lambda: OneHotEncoder(handle_unknown="ignore").fit_transform(frame)},
        args.repeat,
        warm_up=False,  # both just ran once
    )
    seconds_ours, seconds_sklearn = full["onehot"], full["sklearn"]
    print(f"onehot            {seconds_ours:8.3f} s  (peak {peak_mb:,.0f} MB above baseline; output {output_mb:,.0f} MB)")
    print(f"scikit-learn      {seconds_sklearn:8.3f} s  -> onehot is {seconds_sklearn / seconds_ours:5.1f}x faster; same output: {same}")

    subset = list(table.column_names[:POLARS_COLUMNS])
    polars_frame = pl.from_arrow(table.select(subset))
    subset_table = table.select(subset)
    dummy_columns = polars_frame.to_dummies(subset).width
    part = race(
        {
            "polars": lambda: polars_frame.to_dummies(subset),
            "onehot": lambda: engine.encoder("onehot", dtype="uint8").fit_transform(subset_table),
        },
        args.repeat,
    )
    seconds_polars, seconds_ours_subset = part["polars"], part["onehot"]
    print(
        f"polars to_dummies {seconds_polars:8.3f} s  on {subset} ({dummy_columns} dense columns); onehot on the same "
        f"{seconds_ours_subset:.3f} s -> {seconds_polars / seconds_ours_subset:5.1f}x faster"
    )
    threads = {"arrow": pa.cpu_count(), "polars": pl.thread_pool_size()}
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"threads {threads}; load average {load} (1, 5, 15 min) on {os.cpu_count()} CPUs; medians of {args.repeat} rounds")

    sql = sql_scaling(args.sql_levels)
    result = {
        "benchmark": "encoders",
        "rows": rows,
        "cpus": os.cpu_count(),
        "threads": threads,
        "load_average": load,
        "repeat": args.repeat,
        "seconds_onehot": round(seconds_ours, 4),
        "seconds_sklearn": round(seconds_sklearn, 4),
        "seconds_polars_subset": round(seconds_polars, 4),
        "seconds_onehot_subset": round(seconds_ours_subset, 4),
        "speedup_vs_sklearn": round(seconds_sklearn / seconds_ours, 2),
        "speedup_vs_polars": round(seconds_polars / seconds_ours_subset, 2),
        "peak_mb": round(peak_mb, 1),
        "output_mb": round(output_mb, 1),
        "peak_method": peak_method,
        "same_as_sklearn": bool(same),
        "to_sql": sql,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    warnings.simplefilter("ignore", FutureWarning)
    sys.exit(0 if main() else 1)
