"""The `ray` executor against the `local` one on this machine: the apply pipeline, batch generation and
the partitioned `mckp` dual on actors.

1. ray_vs_local: examples/uplift-apply.toml (onehot -> dml effect -> mckp -> parquet) over a customer
   base of 20,000,000 rows (2,000,000 with --quick), each run as a whole `hookyard run` process: the
   wall time on a new local Ray cluster of 2 CPUs (its start included) over the local executor's,
   medians of 3 runs each, taken in turn, and whether both wrote the same plan.
2. generation_scaling: 2,000 prompts (400 with --quick) through `greedy` on a randomly initialised
   GPT-2-shaped model (4 layers, 256 wide, a 1,000-word vocabulary, saved with save_pretrained): the
   throughput of 2 Ray model actors over one in-process decoder, one torch thread each, on a running
   cluster: the prompts over the decoder step's own seconds, the model loaded beforehand on both
   sides; on Ray the actors' batches' seconds over the 2 actors (their first calls included, their
   start and Ray Data's dispatch between blocks not), medians of 3 runs each. generation_end_to_end
   is the ratio of the whole runs' wall times, everything included.
3. mckp_rounds, mckp_bytes_exchanged: the partitioned dual at 20,000,000 units x 3 treatments
   (2,000,000 with --quick) in 10 partitions on 2 actors: the calls made to all workers, and the bytes
   their arguments and answers take (the final plan's share apart); the plan must equal the local
   partitioned solve's.

Prints the figures and a final JSON line. Goals: ray_vs_local <= 1.2, generation_scaling >= 1.7, the
same plan as local.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import FIT, apply_file, base, hookyard  # noqa: E402

GOALS = {"ray_vs_local": 1.2, "generation_scaling": 1.7}
CPUS = 2
ACTORS = 2
REPEATS = 3
"""Runs of each side whose median counts: on a shared 2-core machine one run moves 10% from the next."""


def ray_vs_local(work: Path, rows: int) -> tuple[float, bool]:
    """Both executors' wall time for the apply pipeline as a whole process, and whether the plans agree."""
    model = work / "model"
    fit_s, _ = hookyard("fit", str(FIT), "--model", str(model), "--quiet")
    print(f"fit on the 30,000-row experiment: {fit_s:.1f} s")
    path = base(rows)
    timed: dict[str, list[float]] = {"local": [], "ray": []}
    for _ in range(REPEATS):
        for executor in ("local", "ray"):
            out = work / f"{executor}.parquet"
            settings = [] if executor == "local" else ["--set", 'pipeline.executor.name="ray"',
                                                       "--set", f"pipeline.executor.options.num_cpus={CPUS}"]
            seconds, _ = hookyard("run", str(apply_file(work, rows, path, model, out)), "--quiet", *settings)
            timed[executor].append(seconds)
    for executor, runs in timed.items():
        print(f"apply {rows:,} rows on {executor}: {', '.join(f'{s:.1f}' for s in runs)} s "
              f"(median {statistics.median(runs):.1f} s)")
    same = pq.read_table(work / "ray.parquet", columns=["assignment"]).equals(
        pq.read_table(work / "local.parquet", columns=["assignment"]))
    return statistics.median(timed["ray"]) / statistics.median(timed["local"]), same


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


def generation_scaling(work: Path, prompts: int) -> dict:
    """The throughput of 2 model actors over 1 in-process decoder, and whether the generations agree.

    The throughput is the prompts over the time the decoder step spent on them, its model loaded
    beforehand on both sides (each Ray actor loads it as it starts; in process, the decoder is loaded
    and then given to the step): in process, the step's own seconds; on Ray, the seconds the actors'
    batches took (the tally's), over the 2 actors that share them. Each side's first calls are in it;
    the actors' start and Ray Data's dispatch between blocks are not. The end-to-end ratio compares
    the two runs' wall times, everything included (the model load too)."""
    import ray
    import torch

    import engine
    from engine.registry import default_registry

    model = tiny_gpt2(work / "gpt2")
    rng = np.random.default_rng(0)
    table = pa.table({"id": np.arange(prompts), "prompt": [" ".join(f"w{w}" for w in rng.integers(0, 997, 8))
                                                           for _ in range(prompts)]})
    pq.write_table(table, work / "prompts.parquet")
    options = {"model": str(model), "max_new_tokens": 16}

    def run(executor: str, decoder: object, settings: dict) -> tuple[float, float, pa.Table]:
        pipeline = engine.Pipeline([
            engine.Step("source", "duckdb", options={"path": str(work / "prompts.parquet")}),
            engine.Step("decoder", decoder, options=options if isinstance(decoder, str) else {}),
        ], executor={"name": executor, "options": {"batch_size": 32, **settings}})
        started = time.perf_counter()
        result = pipeline.run()
        return time.perf_counter() - started, result.steps[1].seconds, result.table

    torch.set_num_threads(1)
    started = time.perf_counter()
    loaded = default_registry().build("decoder", "greedy", **options).load()
    load_s = time.perf_counter() - started
    local = [run("local", loaded, {}) for _ in range(REPEATS)]
    ray.init(num_cpus=CPUS, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        on_ray = [run("ray", "greedy", {"concurrency": ACTORS}) for _ in range(REPEATS)]
    finally:
        ray.shutdown()
    local_s, local_decoder_s = (statistics.median(r[i] for r in local) for i in (0, 1))
    ray_s, actors_s = (statistics.median(r[i] for r in on_ray) for i in (0, 1))
    scaling = local_decoder_s / (actors_s / ACTORS)
    print(f"generation of {prompts:,} prompts, medians of {REPEATS} runs: one in-process decoder "
          f"{local_decoder_s:.1f} s in the step ({', '.join(f'{r[1]:.1f}' for r in local)}), 2 Ray actors "
          f"{actors_s:.1f} s between them ({', '.join(f'{r[1]:.1f}' for r in on_ray)}; {actors_s / ACTORS:.1f} s "
          f"each): throughput x{scaling:.2f}; whole runs {local_s + load_s:.1f} s (the model load included) and "
          f"{ray_s:.1f} s (end to end x{(local_s + load_s) / ray_s:.2f})")
    return {"generation_scaling": round(scaling, 3), "generation_end_to_end": round((local_s + load_s) / ray_s, 3),
            "same_generations": all(r[2].equals(local[0][2]) for r in [*local, *on_ray])}


def mckp_on_actors(units: int) -> dict:
    """The partitioned dual on 2 actors against the local partitioned solve of the same problem."""
    import ray

    from engine.kinds.solver import PartitionedProblem
    from plugins.executors.ray_assign import OnRay
    from plugins.solvers.mckp import MCKPSolver

    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 0.05, size=(units, 3)) - 0.02
    problem = PartitionedProblem.from_arrays(values, np.array([0.1, 0.2, 0.3]), 0.1 * units * 0.3, parts=10)
    started = time.perf_counter()
    local = MCKPSolver().solve_partitioned(problem)
    local_s = time.perf_counter() - started
    ray.init(num_cpus=CPUS, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        solver = OnRay(MCKPSolver(), actors=2)
        started = time.perf_counter()
        distributed = solver.solve_partitioned(problem)
        ray_s = time.perf_counter() - started
    finally:
        ray.shutdown()
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
    ratio, same_plan = ray_vs_local(work, rows)
    generation = generation_scaling(work, prompts)
    mckp = mckp_on_actors(rows)
    figures = {"rows": rows, "ray_vs_local": round(ratio, 3), "same_plan_as_local": same_plan, **generation,
               "prompts": prompts, **mckp}
    for key, goal in GOALS.items():
        print(f"  {key}: {figures[key]:.3f} (goal {'<=' if key == 'ray_vs_local' else '>='} {goal})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
