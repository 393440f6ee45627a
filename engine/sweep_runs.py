"""Running a sweep's combinations: each on the shared steps' table, in this process or in a pool
of processes, each writing its own report; a failing combination is recorded, not raised."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from engine.sweep import Combination, Plan

ENV_SWEEP, ENV_VALUES = "HOOKYARD_SWEEP", "HOOKYARD_SWEEP_VALUES"
"""What an observer reads to tell a sweep's runs (the sweep's id) and a combination's swept values (JSON)."""

METRICS = {
    "value_estimated": "max", "value_true": "max", "lift_estimated_pct": "max", "lift_true_pct": "max",
    "share_of_oracle_pct": "max", "pehe_mean": "min", "gap_rel": "min", "seconds": "min",
}
"""The figures a sweep compares combinations by, and whether more ("max") or less ("min") is better."""


def headline_metrics(figures: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A run report's headline figures, flat: plan values, lifts, PEHE, solver status and gap, seconds."""
    headline = figures.get("headline", {})
    optimised = headline.get("optimised", {})
    solver = figures.get("solver", {})
    return {
        "value_estimated": optimised.get("estimated"),
        "value_true": optimised.get("true"),
        "lift_estimated_pct": headline.get("lift_estimated_pct"),
        "lift_true_pct": headline.get("lift_true_pct"),
        "share_of_oracle_pct": figures.get("oracle", {}).get("share_of_oracle_pct"),
        "pehe_mean": figures.get("cate", {}).get("pehe_mean"),
        "solver_status": solver.get("status"),
        "gap_rel": solver.get("gap_rel"),
        "seconds": seconds,
    }


def run_combination(plan: Plan, combination: Combination, table: Any, folder: Path,
                    shared_seconds: float = 0.0) -> dict[str, Any]:
    """Run one combination (on `table`, the shared steps' output, when there is one), write its report
    into `folder`, and return its row for the comparison; a failure becomes a row with its error."""
    from engine.report import ROWS, build_report

    row: dict[str, Any] = {"index": combination.index, "values": combination.values}
    os.environ[ENV_VALUES] = json.dumps(combination.values)
    started = time.perf_counter()
    try:
        pipeline = plan.rest(combination)
        result = pipeline.run(data=table, collect=ROWS)
        report = build_report(result, pipeline)
        report.write(folder)
    except Exception as exc:  # a plugin may raise anything; the sweep records it and goes on
        return {**row, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - started}
    steps = [{"step": r.step, "name": r.name, "seconds": r.seconds, "rows_out": r.rows_out} for r in result.steps]
    return {**row, "status": "ok", "run_id": result.run_id, "seconds": result.seconds, "steps": steps,
            "report": f"{folder.parent.name}/{folder.name}/report.html",
            "metrics": headline_metrics(report.figures, shared_seconds + result.seconds),
            "figures": report.figures}


def run_all(plan: Plan, table: Any, out: Path, *, jobs: int = 1, fail_fast: bool = False,
            shared_seconds: float = 0.0, on_row: Callable[[dict[str, Any]], None] | None = None,
            ) -> list[dict[str, Any]]:
    """Every combination's row, in order; with `fail_fast`, none after the first failure (those not
    run are rows with status "not run"). `jobs` > 1 runs them in that many processes, which read the
    shared table from an Arrow file in `out`."""
    rows: dict[int, dict[str, Any]] = {}
    for row in _rows(plan, table, out, jobs, shared_seconds):
        rows[row["index"]] = row
        if on_row is not None:
            on_row(row)
        if fail_fast and row["status"] == "failed":
            break
    return [rows.get(c.index) or {"index": c.index, "values": c.values, "status": "not run"}
            for c in plan.combinations]


def run_folder(out: Path, combination: Combination) -> Path:
    """Where a combination's report goes inside the sweep folder."""
    return out / "runs" / f"{combination.index + 1:03d}"


def _rows(plan: Plan, table: Any, out: Path, jobs: int, shared_seconds: float) -> Iterator[dict[str, Any]]:
    if jobs <= 1:
        for combination in plan.combinations:
            yield run_combination(plan, combination, table, run_folder(out, combination), shared_seconds)
        return
    shared = None
    if table is not None:
        shared = out / ".shared.arrow"
        _write_arrow(table, shared)
    try:
        # spawn, not fork: a fork of a process whose libraries run threads (Arrow, OpenMP) can hang
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_in_worker, plan, c, None if shared is None else str(shared),
                                   str(run_folder(out, c)), shared_seconds) for c in plan.combinations]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()
    finally:
        if shared is not None:
            shared.unlink(missing_ok=True)


def _run_in_worker(plan: Plan, combination: Combination, shared: str | None, folder: str,
                   shared_seconds: float) -> dict[str, Any]:
    """A worker process's combination: the shared table read (memory-mapped) from its Arrow file."""
    from engine import progress

    progress.set_quiet(True)
    table = None if shared is None else _read_arrow(shared)
    return run_combination(plan, combination, table, Path(folder), shared_seconds)


def _write_arrow(table: Any, path: Path) -> None:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_arrow(path: str) -> Any:
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
