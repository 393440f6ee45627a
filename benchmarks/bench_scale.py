"""Fit once, apply at any size: the apply pipeline (onehot -> dml effect -> mckp -> parquet) over a
customer base of 100,000,000 rows (5,000,000 with --quick), run as a whole `hookyard run` process.

Writes the base once (cached under the temp folder) with DuckDB: an id, ten uniform features, a
region and a channel. Fits examples/uplift-fit.toml's encoder and estimator on its 30,000-row
experiment into a bundle, then times `hookyard run` of examples/uplift-apply.toml pointed at the base
(no report) and reads the process's peak RSS. At 1,000,000 rows it also checks the streamed run's
plan and objective against the in-memory path: the bundle's encoder and estimator on the whole table
at once, then `mckp.solve` on one AssignmentProblem.

Prints the figures and a final JSON line: apply_100m_s (wall), peak_rss_gb, rows_per_s and
same_as_in_memory. Goals on a 2-core machine: under 240 s and under 6 GB at 100M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from engine.atomic import atomic_path

ROOT = Path(__file__).resolve().parents[1]
FIT = ROOT / "examples" / "uplift-fit.toml"
APPLY = ROOT / "examples" / "uplift-apply.toml"
BUDGET_PER_ROW = 0.1
"""The experiment's spend per customer (3,000 over 30,000), so the budget binds at any size."""
GOALS = {"apply_100m_s": 240.0, "peak_rss_gb": 6.0}
FEATURES = ", ".join(f"(hash(i * 16 + {j}) % 1000000007) / 1000000007.0 AS x{j}" for j in range(10))


def base(rows: int) -> Path:
    """`rows` customers written once and reused: customer_id, x0..x9 uniform in [0, 1), region, channel."""
    path = Path(tempfile.gettempdir()) / "hookyard-bench" / f"customers-{rows}.parquet"
    if path.exists():
        return path
    print(f"writing {rows:,} customers to {path} (once)", flush=True)
    with atomic_path(path) as tmp:
        duckdb.connect().execute(
            f"COPY (SELECT i AS customer_id, {FEATURES}, "
            "['north', 'south', 'east', 'west'][(hash(i * 16 + 10) % 4)::BIGINT + 1] AS region, "
            "['web', 'store', 'app'][(hash(i * 16 + 11) % 3)::BIGINT + 1] AS channel "
            f"FROM range({rows}) t(i)) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    return path


def hookyard(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"hookyard {' '.join(args)} failed:\n{done.stderr}")
    return seconds, done


def apply_file(folder: Path, rows: int, path: Path, model: Path, out: Path) -> Path:
    """examples/uplift-apply.toml pointed at the base, the bundle and `out`, without the synthetic truth."""
    from engine.config import dumps_pipeline, load_pipeline

    pipeline = load_pipeline(APPLY, [f'source.path="{path}"', f'pipeline.model="{model}"', f'sink.path="{out}"',
                                     f"solver.params.budget={BUDGET_PER_ROW * rows}"])
    pipeline.step("cate").params.pop("true_effects")
    pipeline.report = None
    target = folder / f"apply-{rows}.toml"
    target.write_text(dumps_pipeline(pipeline))
    return target


def peak_rss_gb() -> float:
    """The largest resident set of any child process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def in_memory_plan(path: Path, model: Path, rows: int) -> tuple[np.ndarray, float]:
    """The bundle's steps on the whole table at once, then one in-memory `mckp.solve`."""
    import engine
    from engine.kinds.solver import AssignmentProblem

    bundle = engine.load_bundle(model)
    table = pq.read_table(path)
    encoder, cate = bundle.plugins["encoder"], bundle.plugins["cate"]
    encoder.set_output(transform="arrow")
    encoded = encoder.transform(table)
    X = np.column_stack([encoded.column(c).to_numpy() for c in bundle.step("cate").params["features"]]).astype(float)
    problem = AssignmentProblem(cate.effect(X), [0.1, 0.2, 0.3], BUDGET_PER_ROW * rows, "<=")
    result = engine.solver("mckp").solve(problem)
    return np.asarray(result.assignment), result.objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5,000,000 rows instead of 100,000,000")
    parser.add_argument("--rows", type=int, help="any other number of rows")
    args = parser.parse_args()
    rows = args.rows or (5_000_000 if args.quick else 100_000_000)
    work = Path(tempfile.mkdtemp(prefix="hookyard-bench-scale-"))
    model = work / "model"
    fit_s, _ = hookyard("fit", str(FIT), "--model", str(model), "--quiet")
    print(f"fit on the 30,000-row experiment: {fit_s:.1f} s (bundle {model})")

    check_rows = 1_000_000
    check_path = base(check_rows)
    out = work / "check.parquet"
    hookyard("run", str(apply_file(work, check_rows, check_path, model, out)), "--quiet")
    streamed = pq.read_table(out)
    plan, objective = in_memory_plan(check_path, model, check_rows)
    chosen = streamed.column("assignment").to_numpy()
    effects = np.column_stack([streamed.column(f"cate_T{k}").to_numpy() for k in (1, 2, 3)])
    rows_i = np.flatnonzero(chosen >= 0)
    streamed_objective = float((effects[rows_i, chosen[rows_i]] - np.array([0.1, 0.2, 0.3])[chosen[rows_i]]).sum())
    same = bool(np.array_equal(chosen, plan) and abs(streamed_objective - objective) <= 1e-9 * max(1.0, abs(objective)))
    print(f"at {check_rows:,} rows the streamed plan {'equals' if same else 'DIFFERS from'} the in-memory one "
          f"(objective {streamed_objective:,.6f} against {objective:,.6f})")

    path = base(rows)
    out = work / "assignment.parquet"
    rss_before = peak_rss_gb()
    seconds, done = hookyard("run", str(apply_file(work, rows, path, model, out)), "--quiet")
    rss = peak_rss_gb()
    written = pq.ParquetFile(out).metadata.num_rows
    if written != rows:
        raise SystemExit(f"the apply run wrote {written:,} rows, not {rows:,}")
    print(f"apply {rows:,} rows: {seconds:.1f} s wall, {rows / seconds:,.0f} rows/s, peak RSS {rss:.2f} GB"
          + ("" if rss > rss_before else " (the largest child so far was an earlier one)"))
    for key, goal in GOALS.items():
        value = seconds if key == "apply_100m_s" else rss
        print(f"  {key}: {value:.2f} (goal < {goal})" + ("" if rows == 100_000_000 else f" at {rows:,} rows"))
    os.remove(out)
    print(json.dumps({"rows": rows, "apply_100m_s": round(seconds, 2), "peak_rss_gb": round(rss, 3),
                      "rows_per_s": round(rows / seconds), "same_as_in_memory": same}))


if __name__ == "__main__":
    main()
