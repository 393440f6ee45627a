"""The `ray` executor against the `local` one on this machine: the apply pipeline, batch generation and
the partitioned `mckp` dual on actors.

1. ray_vs_local: examples/uplift-apply.toml (onehot -> dml effect -> mckp -> parquet) over a customer
   base of 20,000,000 rows (2,000,000 with --quick), each run as a whole `hookyard run` process: the
   wall time on a running local Ray cluster of 2 CPUs (started here, given one untimed run of
   WARM_UP_ROWS first as a cluster in use has had, the run joining it by its address) over the local
   executor's (with no cluster running); ray_vs_local_cold is the same for a run that starts a
   cluster of its own and shuts it down (Ray's start and stop, 5-6 s, included). 3 rounds of the
   three runs, the median of each round's ratios (this machine's speed drifts by tens of percent
   over minutes, and a round shares its moment; the rounds alternate whether the local run goes
   first or last, and a Ray run's processes are given SETTLE_S to go before the next run), and
   whether all wrote the same plan.
2. generation_scaling: 2,000 prompts (400 with --quick) through `greedy` on a randomly initialised
   GPT-2-shaped model (4 layers, 256 wide, a 1,000-word vocabulary, saved with save_pretrained): the
   throughput of 2 Ray model actors over one in-process decoder, one torch thread each, on a running
   cluster: the prompts over the decoder step's own seconds, the model loaded beforehand on both
   sides; in process, a fresh process without Ray for each run; on Ray the actors' batches' seconds
   over the 2 actors (their first calls included, their start and Ray Data's dispatch between blocks
   not), after one untimed run of 64 prompts that starts Ray Data's helper actors as a running
   cluster has them; 9 pairs of runs, taken as the apply runs are, the median of the pairs' ratios.
   generation_end_to_end is the same of the whole runs' wall times, torch's import and the model
   load included on both sides.
3. mckp_rounds, mckp_bytes_exchanged: the partitioned dual at 20,000,000 units x 3 treatments
   (2,000,000 with --quick) in 10 partitions on 2 actors: the calls made to all workers, and the bytes
   their arguments and answers take (the final plan's share apart); the plan must equal the local
   partitioned solve's.

Prints the figures and a final JSON line. Goals: ray_vs_local <= 1.2, generation_scaling >= 1.7, the
same plan as local.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import FIT, apply_file, base, hookyard  # noqa: E402

GOALS = {"ray_vs_local": 1.2, "generation_scaling": 1.7}
CPUS = 2
ACTORS = 2
REPEATS = 3
"""Rounds of apply runs (see `in_rounds`) whose ratios' median counts: a round shares the machine's moment."""

WARM_UP_ROWS = 100_000
"""Rows of the untimed run a new cluster is given before the timed one: Ray Data's helper actors (its
stats, autoscaling and actor-location actors, detached: they outlive a job) are then up, as on a
cluster in use."""

OPTIONS = {"max_new_tokens": 16}
"""The decoder's options besides its model."""

WARM_UP_PROMPTS = 64
"""Prompts of one untimed Ray run first: the cluster then runs as a running one does, with Ray Data's
helper actors (its stats, autoscaling and actor-location actors, about 4 s of CPU to start) up."""

GENERATION_REPEATS = 9
"""Rounds of generation runs, a pair each, as REPEATS (a pair takes about 25 s): their ratios spread from
1.4 to 2.0 in one morning, wider than the apply runs', so more of them."""

SETTLE_S = 3.0
"""Seconds a Ray run's actors and processes are given to go before the next run starts."""


def paired(local: list[float], ray: list[float]) -> float:
    """The median of the rounds' ratios, Ray's time over the local one's."""
    return statistics.median(r / l for l, r in zip(local, ray, strict=True))


def in_rounds(repeats: int, run: dict[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    """`repeats` rounds of one run of each side ("local" and the Ray ones), in `run`'s order and reversed
    from round to round (local first, then last, ...), each Ray run followed by SETTLE_S seconds;
    every run's result."""
    results: dict[str, list[Any]] = {side: [] for side in run}
    for round_ in range(repeats):
        for side in list(run) if round_ % 2 == 0 else list(run)[::-1]:
            results[side].append(run[side]())
            if side != "local":
                time.sleep(SETTLE_S)
    return results


@contextlib.contextmanager
def local_cluster() -> Iterator[str]:
    """A new local Ray cluster of CPUS CPUs held by this process (never one already running on the
    machine), its address given, shut down after."""
    import ray

    ray.init(address="local", num_cpus=CPUS, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def first_rows(path: Path, rows: int, target: Path) -> Path:
    """The first `rows` rows of the Parquet file `path`, written to `target`."""
    pq.write_table(pa.Table.from_batches([next(pq.ParquetFile(path).iter_batches(batch_size=rows))]), target)
    return target


def ray_vs_local(work: Path, rows: int) -> tuple[dict[str, float], bool]:
    """The wall time of the apply pipeline as a whole process on a running cluster and on a cluster of
    its own, each over the local executor's (see the module's 1.), and whether the plans agree."""
    model = work / "model"
    fit_s, _ = hookyard("fit", str(FIT), "--model", str(model), "--quiet")
    print(f"fit on the 30,000-row experiment: {fit_s:.1f} s")
    path = base(rows)
    warm_up = apply_file(work, WARM_UP_ROWS, first_rows(path, WARM_UP_ROWS, work / "warm-up-base.parquet"), model,
                         work / "warm-up.parquet")

    def run(side: str, pipeline: Path | None = None, address: str | None = None) -> float:
        out = work / f"{side}.parquet"
        settings = [] if side == "local" else ["--set", 'pipeline.executor.name="ray"', "--set",
                                               f'pipeline.executor.options.address="{address}"' if address else
                                               f"pipeline.executor.options.num_cpus={CPUS}"]
        return hookyard("run", str(pipeline or apply_file(work, rows, path, model, out)), "--quiet", *settings)[0]

    def on_running_cluster() -> float:
        with local_cluster() as address:
            run("warm-up", warm_up, address)
            time.sleep(SETTLE_S)
            return run("ray", address=address)

    timed = in_rounds(REPEATS, {"local": lambda: run("local"), "ray": on_running_cluster, "cold": lambda: run("cold")})
    for side, runs in timed.items():
        print(f"apply {rows:,} rows, {SIDES[side]}: {', '.join(f'{s:.1f}' for s in runs)} s "
              f"(median {statistics.median(runs):.1f} s)")
    ratios = {}
    for side, key in (("ray", "ray_vs_local"), ("cold", "ray_vs_local_cold")):
        ratios[key] = paired(timed["local"], timed[side])
        print(f"{SIDES[side]} over local, the rounds' ratios "
              f"{', '.join(f'{r / l:.3f}' for l, r in zip(timed['local'], timed[side]))}: median {ratios[key]:.3f} "
              f"(ratio of the medians {statistics.median(timed[side]) / statistics.median(timed['local']):.3f})")
    plans = [pq.read_table(work / f"{side}.parquet", columns=["assignment"]) for side in timed]
    return ratios, all(plan.equals(plans[0]) for plan in plans)


SIDES = {"local": "local executor", "ray": "on a running 2-CPU cluster",
         "cold": "on a 2-CPU cluster of its own (its start and stop included)"}


def tiny_gpt2(folder: Path) -> Path:
    """A GPT-2-shaped model with random weights and a word-level tokenizer (nothing downloaded)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(997)]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    torch.manual_seed(0)
    config = GPT2Config(n_layer=4, n_embd=256, n_head=4, vocab_size=len(words), eos_token_id=1, pad_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>").save_pretrained(folder)
    return folder


def generation_run(work: Path, executor: str, decoder: object, settings: dict, prompts: str = "prompts"
                   ) -> tuple[float, float, pa.Table]:
    """One run of the prompts file `prompts` through `decoder` (a name, built with OPTIONS over the model in
    `work`, or a loaded plugin): its wall time, the decoder step's seconds and its rows."""
    import engine

    options = {"model": str(work / "gpt2"), **OPTIONS}
    pipeline = engine.Pipeline([
        engine.Step("source", "duckdb", options={"path": str(work / f"{prompts}.parquet")}),
        engine.Step("decoder", decoder, options=options if isinstance(decoder, str) else {}),
    ], executor={"name": executor, "options": {"batch_size": 32, **settings}})
    started = time.perf_counter()
    result = pipeline.run()
    return time.perf_counter() - started, result.steps[1].seconds, result.table


def in_process(work: str) -> tuple[float, float, str]:
    """One local run in a fresh process, one torch thread, no Ray in it: the decoder loaded, then given to
    the run. Its wall time with the load, the decoder step's seconds, and the file of its rows."""
    import torch

    from engine.registry import default_registry

    torch.set_num_threads(1)
    started = time.perf_counter()
    loaded = default_registry().build("decoder", "greedy", model=str(Path(work) / "gpt2"), **OPTIONS).load()
    _, step_s, table = generation_run(Path(work), "local", loaded, {})
    rows = Path(work) / "in-process.parquet"
    pq.write_table(table, rows)
    return time.perf_counter() - started, step_s, str(rows)


def local_generation(work: Path) -> tuple[float, float, pa.Table]:
    """`in_process` in a process of its own (spawned: nothing of this one's Ray in it)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        wall, step_s, rows = pool.submit(in_process, str(work)).result()
    return wall, step_s, pq.read_table(rows)


def generation_scaling(work: Path, prompts: int) -> dict:
    """The throughput of 2 model actors over 1 in-process decoder, and whether the generations agree.

    The throughput is the prompts over the time the decoder step spent on them, its model loaded
    beforehand on both sides (each Ray actor loads it as it starts; in process, the decoder is loaded
    and then given to the step): in process, the step's own seconds, in a fresh process without Ray;
    on Ray, the seconds the actors' batches took (the tally's), over the 2 actors that share them.
    Each side's first calls are in it; the actors' start and Ray Data's dispatch between blocks are
    not. The end-to-end ratio compares the two runs' wall times, everything included: on both sides
    importing torch and transformers and loading the model (the actors as they start)."""
    tiny_gpt2(work / "gpt2")
    rng = np.random.default_rng(0)
    table = pa.table({"id": np.arange(prompts), "prompt": [" ".join(f"w{w}" for w in rng.integers(0, 997, 8))
                                                           for _ in range(prompts)]})
    pq.write_table(table, work / "prompts.parquet")
    pq.write_table(table.slice(0, WARM_UP_PROMPTS), work / "warm-up.parquet")
    with local_cluster():
        generation_run(work, "ray", "greedy", {"concurrency": ACTORS}, "warm-up")
        time.sleep(SETTLE_S)
        runs = in_rounds(GENERATION_REPEATS, {"local": lambda: local_generation(work),
                                             "ray": lambda: generation_run(work, "ray", "greedy",
                                                                           {"concurrency": ACTORS})})
    local, on_ray = runs["local"], runs["ray"]
    scaling = 1 / paired([r[1] for r in local], [r[1] / ACTORS for r in on_ray])
    end_to_end = 1 / paired([r[0] for r in local], [r[0] for r in on_ray])
    print(f"generation of {prompts:,} prompts, {GENERATION_REPEATS} pairs of runs: one in-process decoder "
          f"{', '.join(f'{r[1]:.1f}' for r in local)} s in the step, 2 Ray actors "
          f"{', '.join(f'{r[1]:.1f}' for r in on_ray)} s between them: throughput x{scaling:.2f} (the median of "
          f"the pairs' {', '.join(f'{l[1] / (r[1] / ACTORS):.2f}' for l, r in zip(local, on_ray))}); whole runs "
          f"{', '.join(f'{r[0]:.1f}' for r in local)} s (the model load included) and "
          f"{', '.join(f'{r[0]:.1f}' for r in on_ray)} s (end to end x{end_to_end:.2f})")
    return {"generation_scaling": round(scaling, 3), "generation_end_to_end": round(end_to_end, 3),
            "same_generations": all(r[2].equals(local[0][2]) for r in [*local, *on_ray])}


def mckp_on_actors(units: int) -> dict:
    """The partitioned dual on 2 actors against the local partitioned solve of the same problem."""
    from engine.kinds.solver import PartitionedProblem
    from plugins.executors.ray_assign import OnRay
    from plugins.solvers.mckp import MCKPSolver

    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 0.05, size=(units, 3)) - 0.02
    problem = PartitionedProblem.from_arrays(values, np.array([0.1, 0.2, 0.3]), 0.1 * units * 0.3, parts=10)
    started = time.perf_counter()
    local = MCKPSolver().solve_partitioned(problem)
    local_s = time.perf_counter() - started
    with local_cluster():
        solver = OnRay(MCKPSolver(), actors=2)
        started = time.perf_counter()
        distributed = solver.solve_partitioned(problem)
        ray_s = time.perf_counter() - started
    workers = solver.workers
    same = bool(np.array_equal(distributed.assignment, local.assignment) and distributed.objective == local.objective
                and distributed.bound == local.bound)
    print(f"mckp at {units:,} x 3 in 10 partitions: local {local_s:.1f} s, 2 actors {ray_s:.1f} s, "
          f"{workers.rounds} rounds, {workers.exchanged - workers.plan_bytes:,} bytes exchanged before the plan "
          f"(+{workers.plan_bytes:,} for the plan), gap {distributed.gap_abs:.3g}, same plan: {same}")
    return {"mckp_rounds": workers.rounds, "mckp_bytes_exchanged": workers.exchanged - workers.plan_bytes,
            "mckp_plan_bytes": workers.plan_bytes, "mckp_same_plan": same, "mckp_local_s": round(local_s, 2),
            "mckp_ray_s": round(ray_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000,000 rows and units, 400 prompts")
    args = parser.parse_args()
    rows = 2_000_000 if args.quick else 20_000_000
    prompts = 400 if args.quick else 2_000
    work = Path(tempfile.mkdtemp(prefix="hookyard-bench-ray-"))
    ratios, same_plan = ray_vs_local(work, rows)
    generation = generation_scaling(work, prompts)
    mckp = mckp_on_actors(rows)
    figures = {"rows": rows, **{key: round(ratio, 3) for key, ratio in ratios.items()},
               "same_plan_as_local": same_plan, **generation, "prompts": prompts, **mckp}
    for key, goal in GOALS.items():
        print(f"  {key}: {figures[key]:.3f} (goal {'<=' if key == 'ray_vs_local' else '>='} {goal})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
