"""The `ray` executor on a real local Ray cluster (one per test session, two CPUs, shared by every
test here): the same rows, plans and facts as the `local` executor, a worker killed mid-run, and the
errors a user meets before anything runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine.config import load_pipeline
from engine.errors import ConfigError, StepError
from engine.kinds.solver import PartitionedProblem
from engine import registry as registry_module
from engine.testing import ExecutorContract
from tests.conftest import Endpoint, write_distribution
from tests.plugin_sources import LEDGER

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

pytestmark = pytest.mark.xdist_group("ray")
ROOT = Path(__file__).resolve().parents[1]
FIT = ROOT / "examples" / "uplift-fit.toml"
APPLY = ROOT / "examples" / "uplift-apply.toml"
LIGHT = ("source.n=300", 'cate.options.model_y="linear"', 'cate.options.model_t="linear"')


@pytest.fixture(scope="session")
def ledger_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A third party's installed distribution (acme-ledger: a source with the "parts" capability), on
    every worker's path through the cluster's runtime environment (a test puts it on the driver's)."""
    return write_distribution(tmp_path_factory.mktemp("site"), "acme-ledger", {"acme_ledger": LEDGER},
                              {"acme_ledger": "acme_ledger"})


@pytest.fixture(scope="session", autouse=True)
def cluster(ledger_site: Path):
    """One local Ray cluster for every test here; the executors find it running and use it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ledger_site)}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fitted bundle (model/) and a customer base of 6,000 rows in row groups of 1,000 (base.parquet)."""
    folder = tmp_path_factory.mktemp("ray")
    fitted = subprocess.run([sys.executable, "-m", "engine", "fit", str(FIT), "--model", "model",
                             *(a for s in LIGHT for a in ("--set", s))], capture_output=True, text=True, cwd=folder,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    base = engine.source("synthetic", n=6000, layout="multi-arm", categorical=True, seed=11, id_column="customer_id",
                         columns=["customer_id", *(f"x{j}" for j in range(10)), "region", "channel",
                                  "tau_T1", "tau_T2", "tau_T3"]).to_arrow()
    pq.write_table(base, folder / "base.parquet", row_group_size=1000)
    return folder


def apply(work: Path, executor: str, sink: str, *options: str) -> engine.RunResult:
    pipeline = load_pipeline(APPLY, [f'pipeline.model="{work / "model"}"', f'source.path="{work / "base.parquet"}"',
                                     "solver.params.budget=90", f'sink.path="{work / sink}"',
                                     f'pipeline.executor.name="{executor}"', *options])
    pipeline.report = None
    return pipeline.run(collect=0)


RAY = ("pipeline.executor.options.batch_size=500", "pipeline.executor.options.partition_rows=1500")


def test_the_apply_pipeline_gives_the_local_plan_and_rows(work: Path) -> None:
    local = apply(work, "local", "local.parquet", "pipeline.executor.options.partition_rows=1500")
    on_ray = apply(work, "ray", "ray.parquet", *RAY)
    assert pq.read_table(work / "ray.parquet").equals(pq.read_table(work / "local.parquet"))
    ours, theirs = on_ray.flow.facts["solver"], local.flow.facts["solver"]
    assert (ours["objective"], ours["bound"], ours["status"]) == (theirs["objective"], theirs["bound"], theirs["status"])
    rounds = on_ray.flow.facts["ray_mckp"]
    assert rounds["rounds"] >= 3 and rounds["bytes_exchanged"] > 0
    assert [(s.step, s.rows_in, s.rows_out) for s in on_ray.steps] == [(s.step, s.rows_in, s.rows_out) for s in local.steps]


def test_a_parquet_sink_written_by_the_cluster_is_a_whole_folder_of_the_same_rows(work: Path) -> None:
    local = apply(work, "local", "blocks-local.parquet")
    (work / "blocks").mkdir()
    pq.write_table(pa.table({"stale": [1]}), work / "blocks" / "part-99999.parquet")
    on_ray = apply(work, "ray", "blocks", *RAY, "pipeline.executor.options.sink_blocks=true")
    parts = sorted(p.name for p in (work / "blocks").iterdir())
    assert len(parts) > 1 and all(p.startswith("part-") for p in parts) and "part-99999.parquet" not in parts, \
        "an earlier folder of part files is replaced whole"
    whole = pa.concat_tables(pq.read_table(work / "blocks" / p) for p in parts)
    assert whole.equals(pq.read_table(work / "blocks-local.parquet"))
    assert on_ray.flow.facts["written"][-1].rows == local.flow.facts["written"][-1].rows == 6000
    assert not [p for p in work.iterdir() if p.name.startswith(".blocks")], "no temporary folder is left"


def test_a_parquet_source_is_read_in_parallel_with_its_projection_and_filter_in_order(work: Path) -> None:
    def read(executor: str) -> pa.Table:
        return engine.Pipeline([engine.Step("source", "duckdb", options={
            "path": str(work / "base*.parquet"), "columns": ["customer_id", "x0", "region"],
            "filters": [["x0", ">", 0.4], ["region", "!=", "north"]]})],
            executor={"name": executor}).run().table

    on_ray, local = read("ray"), read("local")
    assert on_ray.equals(local) and 0 < local.num_rows < 6000


def test_a_hive_folder_is_read_by_a_task_per_file_with_the_local_rows(tmp_path: Path) -> None:
    for year, month, first in ((2023, 1, 0), (2022, 10, 40), (2022, 2, 80)):
        (tmp_path / f"year={year}" / f"month={month}").mkdir(parents=True)
        part = pa.table({"id": list(range(first, first + 40)), "amount": [float(i % 7) for i in range(40)]})
        pq.write_table(part, tmp_path / f"year={year}" / f"month={month}" / "part.parquet", row_group_size=15)

    def read(executor: str, **options: object) -> engine.RunResult:
        return engine.Pipeline([engine.Step("source", "duckdb", options={"path": str(tmp_path), **options})],
                               executor={"name": executor, "options": {"batch_size": 16}}).run()

    for options in ({}, {"filters": [["year", "==", 2022], ["amount", ">", 2.0]]}, {"columns": ["month", "id"]}):
        on_ray, local = read("ray", **options), read("local", **options)
        assert on_ray.table.equals(local.table) and local.table.num_rows > 0, options
        assert on_ray.flow.facts["ray_read"] == {"by": "parts", "tasks": 3}
    assert on_ray.table.column("month").to_pylist()[:41] == [10] * 40 + [2], "files in DuckDB's order"


def test_a_glob_over_hive_named_folders_keeps_the_columns_their_names_give(tmp_path: Path) -> None:
    for year in (2022, 2023):
        (tmp_path / f"year={year}").mkdir()
        pq.write_table(pa.table({"id": list(range(year % 10, year % 10 + 30))}), tmp_path / f"year={year}" / "part.parquet")

    def read(executor: str) -> engine.RunResult:
        return engine.Pipeline([engine.Step("source", "duckdb", options={"path": str(tmp_path / "*" / "part.parquet")})],
                               executor={"name": executor}).run()

    on_ray, local = read("ray"), read("local")
    assert local.table.column_names == ["id", "year"] and on_ray.table.equals(local.table)
    assert on_ray.flow.facts["ray_read"] == {"by": "parts", "tasks": 2}, "the files' own columns lack the year"


def test_a_parquet_glob_on_s3_is_read_on_the_cluster_with_the_local_rows(s3: Endpoint, httpfs_directory: Path) -> None:
    options = {"path": "s3://lake/hive", "filters": [["year", "==", 2023]], "storage_options": s3.options(),
               "s3": "httpfs", "extension_directory": str(httpfs_directory)}

    def read(executor: str) -> engine.RunResult:
        return engine.Pipeline([engine.Step("source", "duckdb", options=options)], executor={"name": executor}).run()

    on_ray, local = read("ray"), read("local")
    assert on_ray.table.equals(local.table) and on_ray.table.column("id").to_pylist() == list(range(30, 60))
    assert on_ray.flow.facts["ray_read"] == {"by": "parts", "tasks": 2}, "a task per object, on the cluster"


def test_a_third_party_source_that_says_its_parts_is_read_a_task_per_part(
        ledger_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ledger_site))
    registry_module.reset()
    try:
        def read(executor: str) -> engine.RunResult:
            return engine.Pipeline([engine.Step("source", "ledger", options={
                "days": [3, 1, 2], "filters": [["amount", ">", 1.0]], "columns": ["amount", "day"]})],
                executor={"name": executor, "options": {"batch_size": 8}}).run()

        on_ray, local = read("ray"), read("local")
        assert on_ray.table.equals(local.table) and 0 < local.table.num_rows < 60
        assert on_ray.flow.facts["ray_read"] == {"by": "parts", "tasks": 3}, "a task per day, built on a worker"
        assert on_ray.table.column("day").to_pylist()[0] == 3, "the parts in the source's order"
    finally:
        registry_module.reset()


def test_fitting_and_scoring_in_one_run_gives_the_local_effects() -> None:
    """The fit pipeline fits on the driver, then streams the experiment's rows through Ray actors built
    from the fitted JSON states."""
    local = load_pipeline(FIT, list(LIGHT)).run()
    on_ray = load_pipeline(FIT, [*LIGHT, 'pipeline.executor.name="ray"', "pipeline.executor.options.batch_size=200"]).run()
    assert on_ray.table.equals(local.table)
    assert on_ray.flow.facts["effects"] == local.flow.facts["effects"]
    assert on_ray.flow.facts["drift"] == local.flow.facts["drift"], "the blocks' drift merged in their order"


def test_dml_fits_its_folds_as_ray_tasks_with_the_local_estimates(tmp_path: Path) -> None:
    """Under the `ray` executor's task map every fold's first-stage fit runs in a Ray worker (the
    models' own record of the processes that fitted them says so) and the effects are the local ones."""
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    from engine.tasks import mapping
    from plugins.executors.ray_tasks import on_ray

    class Recorded(RegressorMixin, BaseEstimator):
        """Histogram gradient boosting that notes the pid of every process that fits it."""

        def __init__(self, log: str = "") -> None:
            self.log = log

        def fit(self, X, y):
            with open(self.log, "a") as out:
                out.write(f"{os.getpid()}\n")
            self.model_ = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)
            return self

        def predict(self, X):
            return self.model_.predict(X)

    data = engine.source("synthetic", n=1500, layout="multi-arm", seed=4).to_arrow()
    X = np.column_stack([data.column(f"x{j}").to_numpy() for j in range(5)])
    Y, T = data.column("y").to_numpy(), data.column("t").to_numpy(zero_copy_only=False)

    def effects(log: Path) -> np.ndarray:
        dml = engine.get("cate", "dml", model_y=Recorded(str(log)), model_t="linear", cv=3, random_state=7)
        return dml.fit(Y, T, X).effect(X)

    with threadpool_limits(limits=1):  # as in a Ray worker; OpenMP threads crawl on a busy machine
        local = effects(tmp_path / "local.log")
    with mapping(on_ray):
        distributed = effects(tmp_path / "ray.log")
    np.testing.assert_allclose(distributed, local, rtol=0, atol=1e-10)
    assert set((tmp_path / "local.log").read_text().split()) == {str(os.getpid())}
    fitted_in = (tmp_path / "ray.log").read_text().split()
    assert len(fitted_in) == 3 and str(os.getpid()) not in fitted_in, "every fold is fitted in a Ray worker"


def test_partitioned_mckp_on_actors_equals_the_local_partitioned_solve() -> None:
    from plugins.executors.ray_assign import OnRay
    from plugins.solvers.mckp import MCKPSolver

    rng = np.random.default_rng(5)
    for sense, parts in (("<=", 3), ("==", 7)):
        values = rng.gamma(2.0, 1.0, size=(4000, 3)) * rng.choice([-1, 1], size=(4000, 3), p=[0.2, 0.8])
        costs = rng.uniform(0.5, 2.0, size=(4000, 3))
        budget = float(costs.mean(axis=1).sum() * 0.3)
        problem = PartitionedProblem.from_arrays(values, costs, budget, parts=parts, budget_sense=sense)
        local = MCKPSolver(keep_units=1500).solve_partitioned(problem)
        solver = OnRay(MCKPSolver(keep_units=1500), actors=2)
        distributed = solver.solve_partitioned(problem)
        np.testing.assert_array_equal(distributed.assignment, local.assignment)
        assert (distributed.objective, distributed.bound, distributed.status) == (local.objective, local.bound, local.status)
        assert distributed.bound >= distributed.objective - 1e-9
        assert solver.workers.rounds >= 3


def test_a_generation_pipeline_gives_the_local_generations(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "decoders"))
    try:
        from tiny_models import write_gpt2
    finally:
        sys.path.remove(str(ROOT / "tests" / "decoders"))
    model = write_gpt2(tmp_path / "gpt2")
    prompts = pa.table({"id": list(range(120)), "prompt": [f"w{4 + i % 20} w{4 + (3 * i) % 20}" for i in range(120)]})
    pq.write_table(prompts, tmp_path / "prompts.parquet", row_group_size=37)

    def generate(executor: str) -> engine.RunResult:
        return engine.Pipeline([
            engine.Step("source", "duckdb", options={"path": str(tmp_path / "prompts.parquet")}),
            engine.Step("decoder", "greedy", options={"model": str(model), "max_new_tokens": 6}),
        ], executor={"name": executor, "options": {"batch_size": 5}}).run()

    on_ray, local = generate("ray"), generate("local")
    assert on_ray.table.equals(local.table)
    assert on_ray.table.column("generation").null_count == 0


def test_a_step_that_fails_on_the_cluster_is_its_own_clear_error(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    (tmp_path / "no-model").mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3], "prompt": ["w4", "w5", "w6"]}), tmp_path / "prompts.parquet")
    pipeline = engine.Pipeline([
        engine.Step("source", "duckdb", options={"path": str(tmp_path / "prompts.parquet")}),
        engine.Step("decoder", "greedy", options={"model": str(tmp_path / "no-model")}),
        engine.Step("sink", "parquet", options={"path": str(tmp_path / "out.parquet")}),
    ], executor={"name": "ray"})
    with pytest.raises(StepError, match=r"^step 2 .*decoder.* failed: DataError: could not load a model") as raised:
        pipeline.run()
    assert raised.value.step == 1 and "\n" not in str(raised.value), "the step's message alone, nothing Ray adds"
    assert "Traceback" not in capfd.readouterr().err, "Ray Data's log of the failed task stays in its log file"
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("sizes,batch,block,splits", [([2000], 32, 128, None), ([1000] * 6, 100, 200, 8),
                                                      ([10] * 600, 64, 256, 8), ([7, 1, 300, 45, 1000], 16, 64, 2),
                                                      ([1_000_000] * 20, 65_536, 1 << 20, 8)])
def test_read_tasks_cover_every_row_once_in_order_starting_where_a_local_batch_starts(
        sizes: list[int], batch: int, block: int, splits: int | None) -> None:
    from plugins.executors.ray_read import _tasks

    groups = [("f.parquet", g, rows) for g, rows in enumerate(sizes)]
    tasks = _tasks(groups, block, batch, splits)
    starts = np.cumsum([0, *sizes])
    covered = [int(starts[group]) + row for task in tasks for _, group, lo, hi in task for row in (lo, hi - 1)]
    assert covered[0] == 0 and covered[-1] == sum(sizes) - 1
    assert all(b == a + 1 for a, b in zip(covered[1::2], covered[2::2])), "the pieces follow each other"
    firsts = [int(starts[task[0][1]]) + task[0][2] for task in tasks]
    assert all(first % batch == 0 for first in firsts), "a task starts where the local stream starts a batch"
    assert all(2 * (b - a) >= block for a, b in zip(firsts, firsts[1:])), "a task holds half a block at least"


def test_a_worker_killed_mid_run_is_retried_and_the_output_is_whole(work: Path) -> None:
    expected = apply(work, "local", "whole-local.parquet")
    done: dict[str, object] = {}

    def run() -> None:
        try:
            done["result"] = apply(work, "ray", "whole-ray.parquet", "pipeline.executor.options.batch_size=100",
                                   "pipeline.executor.options.partition_rows=1500")
        except BaseException as exc:  # handed to the test's thread
            done["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        workers = _chain_workers()
        if workers:
            time.sleep(1.0)
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=300)
    assert killed is not None, "the run ended before a row-wise actor could be killed"
    assert "error" not in done, done.get("error")
    assert pq.read_table(work / "whole-ray.parquet").equals(pq.read_table(work / "whole-local.parquet"))
    assert done["result"].flow.facts["solver"]["objective"] == expected.flow.facts["solver"]["objective"]
    assert done["result"].flow.facts["drift"] == expected.flow.facts["drift"], \
        "a block done again replaces its figures in the drift instead of adding to them"
    assert done["result"].steps[1].rows_out == 6000


def _processes(marker: bytes) -> list[int]:
    """The pids of the processes whose command line holds `marker` (Ray names its processes there)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker in command:
                pids.append(int(entry))
    return pids


def _children(parent: int, marker: bytes) -> set[int]:
    """The pids of `parent`'s child processes whose command line holds `marker`."""
    found = set()
    for pid in _processes(marker):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.add(pid)
    return found


def _chain_workers() -> list[int]:
    """The pids of the Ray actor processes running row-wise chains."""
    return _processes(b"MapBatches(Chain)")


def test_ctrl_c_shuts_down_the_cluster_the_run_started(work: Path) -> None:
    script = (
        "from engine.config import load_pipeline\n"
        f"p = load_pipeline({str(APPLY)!r}, ['pipeline.model=\"{work / 'model'}\"', "
        f"'source.path=\"{work / 'base.parquet'}\"', 'sink.path=\"{work / 'interrupted.parquet'}\"', "
        "'pipeline.executor.name=\"ray\"', 'pipeline.executor.options.num_cpus=1', "
        "'pipeline.executor.options.batch_size=20'])\n"
        "p.report = None\n"
        "p.run(collect=0)\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**env, "OMP_NUM_THREADS": "1"}, text=True)
    deadline = time.monotonic() + 120
    started: set[int] = set()
    while time.monotonic() < deadline and child.poll() is None:
        started = _children(child.pid, b"raylet")  # not another process's cluster starting meanwhile
        if started and _chain_workers():
            break
        time.sleep(0.2)
    assert started and child.poll() is None, "the run should be streaming on a cluster of its own by now"
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode != 0 and "KeyboardInterrupt" in stderr
    deadline = time.monotonic() + 30
    while set(_processes(b"raylet")) & started and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(_processes(b"raylet")) & started, "the run's raylet is still running"
    assert not (work / "interrupted.parquet").exists()


def test_an_unreachable_address_is_a_clear_error_before_anything_runs(tmp_path: Path) -> None:
    pipeline = engine.Pipeline(
        [engine.Step("source", "memory", options={"data": {"a": [1, 2]}}),
         engine.Step("sink", "parquet", options={"path": str(tmp_path / "out.parquet")})],
        executor={"name": "ray", "options": {"address": "127.0.0.1:9"}})
    with pytest.raises(ConfigError, match="no Ray cluster answers at '127.0.0.1:9'.*ray start --head"):
        pipeline.run()
    assert not (tmp_path / "out.parquet").exists()


def test_without_an_address_a_run_joins_the_cluster_ray_address_names(work: Path) -> None:
    """RAY_ADDRESS (Ray's own variable; `ray job submit` sets it) names the cluster when the options do
    not: a `hookyard run` with `num_cpus` (the option of a cluster of its own) joins this session's
    cluster as one more job, and writes the local plan. Ray itself refused `num_cpus` there."""
    from ray._private import state

    address = ray.get_runtime_context().gcs_address
    sets = [f'pipeline.model="{work / "model"}"', f'source.path="{work / "base.parquet"}"',
            "solver.params.budget=90", f'sink.path="{work / "joined.parquet"}"',
            'pipeline.executor.name="ray"', "pipeline.executor.options.num_cpus=1", *RAY]
    jobs = len(state.jobs())
    done = subprocess.run([sys.executable, "-m", "engine", "run", str(APPLY), "--quiet", "--no-report",
                           *(a for s in sets for a in ("--set", s))], capture_output=True, text=True, cwd=work,
                          env={**os.environ, "RAY_ADDRESS": address, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(state.jobs()) == jobs + 1
    apply(work, "local", "joined-local.parquet")
    assert pq.read_table(work / "joined.parquet").equals(pq.read_table(work / "joined-local.parquet"))


def test_an_unreachable_ray_address_is_named_as_the_variable_to_unset(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.executors.ray_cluster import cluster_address, check_address

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"no Ray cluster answers at '127.0.0.1:9' \(the RAY_ADDRESS;.*unset RAY_ADDRESS"):
        check_address(*cluster_address(None))
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert cluster_address(None) == (None, "RAY_ADDRESS") and cluster_address("auto") == ("auto", "address")


class TestRayExecutorContract(ExecutorContract):
    name = "ray"


def test_a_sweep_runs_its_combinations_as_tasks_on_the_cluster_with_the_local_plans(tmp_path: Path) -> None:
    """`hookyard sweep --jobs 2` of a pipeline on the ray executor, in a subprocess joining this session's
    cluster: each combination a task there, each plan the one the local executor makes."""
    import json

    address = ray.get_runtime_context().gcs_address
    sets = [*LIGHT, "solver.params.budget=90", f'sink.path="{tmp_path / "plan.parquet"}"']
    on_ray = [*sets, 'pipeline.executor.name="ray"', f'pipeline.executor.options.address="{address}"',
              "pipeline.executor.options.batch_size=200"]
    done = subprocess.run([sys.executable, "-m", "engine", "sweep", str(ROOT / "examples" / "uplift.toml"),
                           *(a for s in on_ray for a in ("--set", s)), "--set", "solver.name=mckp,naive",
                           "--jobs", "2", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert data["ran"] == {"jobs": 2, "on": "ray"} and data["shared"]["steps"] == ["source", "encoder"]
    for row in data["runs"]:
        local = load_pipeline(ROOT / "examples" / "uplift.toml", [*sets, f"solver.name={row['values']['solver.name']}"])
        local.report = None
        facts = local.run().flow.facts["solver"]
        assert row["status"] == "ok" and row["figures"]["solver"]["status"] == facts["status"]
        assert row["figures"]["solver"]["objective"] == pytest.approx(facts["objective"], rel=1e-9)
        assert pq.read_table(tmp_path / "out" / row["outputs"][0]).equals(pq.read_table(tmp_path / "plan.parquet"))
        assert (tmp_path / "out" / row["report"]).is_file()
