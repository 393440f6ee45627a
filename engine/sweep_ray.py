"""A sweep of a pipeline on the `ray` executor: its combinations run as tasks on the pipeline's Ray
cluster, `jobs` at a time, each a whole run there (its streams on the cluster as `hookyard run` would
put them); the shared table travels in the object store and each run's report comes back as files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.sweep import Combination, Plan

ENV_PREFIXES = ("HOOKYARD_", "MLFLOW_")
"""The driver's environment variables a combination's task sees too (observers read them)."""


def on_ray(plan: Plan) -> bool:
    """Whether the sweep's pipeline names the `ray` executor."""
    return str(plan.pipeline(plan.combinations[0]).executor.get("name", "local")) == "ray"


@contextlib.contextmanager
def cluster(plan: Plan) -> Iterator[None]:
    """The pipeline's Ray cluster held for the whole sweep (the shared steps and every combination
    then use this one connection), when it names the `ray` executor; else nothing."""
    if not on_ray(plan):
        yield
        return
    from plugins.executors.ray_cluster import connected

    options = plan.pipeline(plan.combinations[0]).executor.get("options", {})
    with connected(options.get("address"), options.get("num_cpus")):
        yield


def rows_on_ray(plan: Plan, table: Any, out: Path, jobs: int, shared_seconds: float,
                facts: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each combination's row as its task ends, at most `jobs` tasks running at once; the report files
    a task returns are written into the combination's folder under `out`."""
    import ray

    from engine.sweep_runs import run_folder

    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    # num_cpus=0: a task only drives its run; the run's own streams and fits claim the cluster's CPUs
    task = ray.remote(num_cpus=0, max_retries=0)(_run_task).options(runtime_env={"env_vars": env})
    shared = None if table is None else ray.put(table)
    waiting = list(plan.combinations)
    running: dict[Any, Combination] = {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                combination = waiting.pop(0)
                running[task.remote(plan, combination, shared, os.getcwd(), shared_seconds, facts)] = combination
            (done,), _ = ray.wait(list(running), num_returns=1)
            combination = running.pop(done)
            row, files = ray.get(done)
            _write_files(run_folder(out, combination), files)
            yield row
    finally:
        for ref in running:
            ray.cancel(ref)


def _run_task(plan: Plan, combination: Combination, table: Any, cwd: str, shared_seconds: float,
              facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """On a worker: the combination run (on the shared table, which Ray fetched from the object store)
    in the driver's folder when this node has it (relative paths in the pipeline mean the same there),
    its report written to a temporary folder and returned."""
    from engine import progress
    from engine.sweep_runs import run_combination, run_folder

    progress.set_quiet(True)
    if os.path.isdir(cwd):
        os.chdir(cwd)
    with tempfile.TemporaryDirectory(prefix="hookyard-sweep-") as scratch:
        folder = run_folder(Path(scratch), combination)
        row = run_combination(plan, combination, table, folder, shared_seconds, facts)
        files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return row, files


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
