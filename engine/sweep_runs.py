"""Running a sweep's combinations: each on the shared steps' table, in this process, in a pool of
processes or as tasks on the pipeline's Ray cluster, each writing its own report; a failing
combination is recorded, not raised."""

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
    "value_dr_per_row": "max", "lift_dr_pct": "max",
    "share_of_oracle_pct": "max", "pehe_mean": "min", "gap_rel": "min", "seconds": "min",
}
"""The figures a sweep compares combinations by, and whether more ("max") or less ("min") is better."""


def headline_metrics(figures: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A run report's headline figures, flat: plan values (estimated; doubly robust, as the mean net
    outcome per row; true), lifts over naive, PEHE, solver status and gap, seconds."""
    headline = figures.get("headline", {})
    optimised = headline.get("optimised", {})
    solver = figures.get("solver", {})
    evaluated = figures.get("policy_value", {})
    return {
        "value_estimated": optimised.get("estimated"),
        "value_dr_per_row": ((evaluated.get("plans") or {}).get("chosen") or {}).get("value", {}).get("value"),
        "value_true": optimised.get("true"),
        "lift_estimated_pct": headline.get("lift_estimated_pct"),
        "lift_dr_pct": (evaluated.get("lift_dr_pct") or {}).get("value"),
        "lift_true_pct": headline.get("lift_true_pct"),
        "share_of_oracle_pct": figures.get("oracle", {}).get("share_of_oracle_pct"),
        "pehe_mean": figures.get("cate", {}).get("pehe_mean"),
        "solver_status": solver.get("status"),
        "gap_rel": solver.get("gap_rel"),
        "seconds": seconds,
    }


GENERATIONS = 100
"""The most prompts a sweep of a generation pipeline shows side by side (its first rows)."""


def run_combination(plan: Plan, combination: Combination, table: Any, folder: Path,
                    shared_seconds: float = 0.0, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run one combination (on `table`, the shared steps' output, when there is one), its file sinks
    writing into `folder` and its report into `folder`/report, and return its row for the comparison;
    a failure becomes a row with its error. The shared steps' `facts` (an encoder's drift report) join
    the run's, so that its report is the one a whole run gives. Its outputs and report commit together
    when it ends, as `hookyard run`'s do, apart from the sweep's own commit (whose staged folder they
    are in), so that a failed combination leaves nothing there."""
    from engine import commit
    from engine.report import ROWS, build_report, outputs

    row: dict[str, Any] = {"index": combination.index, "values": combination.values}
    os.environ[ENV_VALUES] = json.dumps(combination.values)
    started = time.perf_counter()
    try:
        pipeline = plan.rest(combination, outputs=folder)
        with commit.apart(), commit.outputs():
            result = pipeline.run(data=table, collect=ROWS)
            result.flow.facts.update({k: v for k, v in (facts or {}).items() if k not in result.flow.facts})
            report = build_report(result, pipeline)
            report.write(folder / "report")
    except Exception as exc:  # a plugin may raise anything; the sweep records it and goes on
        return {**row, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - started}
    steps = [{"step": r.step, "name": r.name, "seconds": r.seconds, "rows_out": r.rows_out} for r in result.steps]
    row |= {"status": "ok", "run_id": result.run_id, "seconds": result.seconds, "steps": steps,
            "report": f"{folder.parent.name}/{folder.name}/report/report.html",
            "outputs": [_within(str(o["location"]), folder) for o in outputs(result.flow) if o.get("location")],
            "metrics": headline_metrics(report.figures, shared_seconds + result.seconds),
            "figures": report.figures}
    generations = _generations(result.flow, pipeline)
    return row if generations is None else {**row, "generations": generations}


def _within(location: str, folder: Path) -> str:
    """An output's location, relative to the sweep folder ("runs/001/assignment.parquet") when it lies in
    the combination's `folder` (which moves into the sweep folder at the end)."""
    path = Path(location)
    return f"{folder.parent.name}/{folder.name}/{path.name}" if path.parent == folder else location


def _generations(flow: Any, pipeline: Any) -> dict[str, Any] | None:
    """A generation run's first prompts with the best text and score of each (None for other runs)."""
    from engine.names import normalize

    column, scores = flow.facts.get("generations"), flow.facts.get("scores")
    if column is None or flow.table is None or column not in flow.table.column_names:
        return None
    step = next((s for s in pipeline.steps if normalize(str(s.kind)) == "decoder"), None)
    prompt = dict(step.params).get("prompt_column", "prompt") if step is not None else "prompt"
    rows = flow.table.slice(0, GENERATIONS)
    best = [v[0] if isinstance(v, list) and v else v for v in rows.column(column).to_pylist()]
    return {
        "prompt_column": prompt,
        "prompts": rows.column(prompt).to_pylist() if prompt in rows.column_names else [None] * len(best),
        "texts": best,
        "scores": ([v[0] if isinstance(v, list) and v else v for v in rows.column(scores).to_pylist()]
                   if scores and scores in rows.column_names else [None] * len(best)),
        "rows": flow.table.num_rows,
    }


def run_all(plan: Plan, table: Any, out: Path, *, jobs: int = 1, fail_fast: bool = False,
            shared_seconds: float = 0.0, facts: Mapping[str, Any] | None = None,
            on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every combination's row, in order; with `fail_fast`, none after the first failure (those not
    run are rows with status "not run"). `jobs` > 1 runs them in that many processes, which read the
    shared table from an Arrow file in `out`; a pipeline on the `ray` executor runs them, `jobs` at a
    time, as tasks on its cluster (`engine.sweep_ray`)."""
    rows: dict[int, dict[str, Any]] = {}
    for row in _rows(plan, table, out, jobs, shared_seconds, dict(facts or {})):
        rows[row["index"]] = row
        if on_row is not None:
            on_row(row)
        if fail_fast and row["status"] == "failed":
            break
    return [rows.get(c.index) or {"index": c.index, "values": c.values, "status": "not run"}
            for c in plan.combinations]


def run_folder(out: Path, combination: Combination) -> Path:
    """Where a combination's outputs and report go inside the sweep folder."""
    return out / "runs" / f"{combination.index + 1:03d}"


def _rows(plan: Plan, table: Any, out: Path, jobs: int, shared_seconds: float,
          facts: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from engine.sweep_ray import on_ray, rows_on_ray

    if on_ray(plan):
        yield from rows_on_ray(plan, table, out, jobs, shared_seconds, facts)
        return
    if jobs <= 1:
        for combination in plan.combinations:
            yield run_combination(plan, combination, table, run_folder(out, combination), shared_seconds, facts)
        return
    shared = None
    if table is not None:
        shared = out / ".shared.arrow"
        _write_arrow(table, shared)
    try:
        # spawn, not fork: a fork of a process whose libraries run threads (Arrow, OpenMP) can hang
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_in_worker, plan, c, None if shared is None else str(shared),
                                   str(run_folder(out, c)), shared_seconds, facts) for c in plan.combinations]
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
                   shared_seconds: float, facts: dict[str, Any]) -> dict[str, Any]:
    """A worker process's combination: the shared table read (memory-mapped) from its Arrow file."""
    from engine import progress

    progress.set_quiet(True)
    table = None if shared is None else _read_arrow(shared)
    return run_combination(plan, combination, table, Path(folder), shared_seconds, facts)


def _write_arrow(table: Any, path: Path) -> None:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_arrow(path: str) -> Any:
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
