"""The solver step's guards: an output column that already exists fails at the first batch, before the solve
and before anything is written; a '<=' budget above what any plan can spend (1e308, inf) does not bind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine.flow import Flow
from engine.kinds.solver import AssignmentProblem, run_step

PIPELINE = """
[pipeline]
name = "guards"

[[steps]]
id = "source"
kind = "source"
name = "synthetic"
options = { n = 300, layout = "per-treatment", seed = 123 }

[[steps]]
id = "cate"
kind = "cate"
name = "dml"
options = { model_y = "linear", model_t = "linear", featurizer = "linear", cv = 2, random_state = 0 }
params = { outcome = "y", treatment = "t", true_effects = ["tau_T1", "tau_T2", "tau_T3"] }

[[steps]]
id = "solver"
kind = "solver"
name = "mckp"
params = { budget = 90, costs = [0.1, 0.2, 0.3] }

[[steps]]
id = "sink"
kind = "sink"
name = "parquet"
options = { path = "plan.parquet" }
"""


def _flow() -> Flow:
    table = pa.table({"id": [1, 2, 3, 4], "cate_a": [1.0, 0.2, 0.9, -0.05], "cate_b": [1.6, 0.3, 0.1, 0.1]})
    return Flow(table=table, facts={"effects": ("cate_a", "cate_b")})


def hookyard(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "guards.toml").write_text(PIPELINE)
    return subprocess.run([sys.executable, "-m", "engine", "run", "guards.toml", *args], capture_output=True,
                          text=True, cwd=folder, env={**os.environ, "HOOKYARD_LOAD_PLUGINS": ""}, timeout=600)


def test_an_existing_output_column_fails_before_the_solve() -> None:
    """With a budget no plan can spend exactly, a check after the solve would report that instead."""
    with pytest.raises(engine.DataError, match=r"output column 'id' is already in the table; set the step param column"):
        run_step(engine.solver("mckp"), _flow(), budget=1e9, budget_sense="==", column="id")


def test_a_pipeline_whose_plan_column_exists_writes_nothing(tmp_path: Path) -> None:
    ran = hookyard(tmp_path, "--set", 'solver.params.column="y"', "--report", "report")
    assert ran.returncode == 1
    errors = [line for line in ran.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "output column 'y' is already in the table" in errors[0], ran.stderr
    assert "unexpected" not in ran.stderr and "Traceback" not in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guards.toml"]


@pytest.mark.parametrize("costs", [[0.5, 1.0], "cost_"])
def test_a_budget_above_every_plan_solves_as_no_budget(costs) -> None:
    flow = _flow()
    flow = flow.evolve(table=flow.table.append_column("cost_cate_a", pa.array([0.5] * 4))
                       .append_column("cost_cate_b", pa.array([1.0] * 4)))
    spend_all = 4 * 1.0
    plans = {budget: run_step(engine.solver("mckp"), flow, budget=budget, costs=costs)
             for budget in (spend_all, 1e308, float("inf"))}
    columns = {budget: out.table.column("assignment").to_pylist() for budget, out in plans.items()}
    assert columns[1e308] == columns[float("inf")] == columns[spend_all] == [1, -1, 0, -1]
    assert {out.facts["solver"]["status"] for out in plans.values()} == {"optimal"}
    assert AssignmentProblem(np.ones((4, 2)), [0.5, 1.0], float("inf")).budget == pytest.approx(4.0, abs=1e-5)
    unit_costs = [[-1.0, -2.0], [3.0, 1.0]]
    assert AssignmentProblem(np.ones((2, 2)), unit_costs, 1e308).budget == pytest.approx(0.0 + 3.0, abs=1e-5)
    forced = AssignmentProblem(np.ones((2, 2)), unit_costs, 1e308, allow_none=False)
    assert forced.budget == pytest.approx(-1.0 + 3.0, abs=1e-5)
    assert engine.solver("mckp").solve(forced).assignment.tolist() == [1, 1]
    with pytest.raises(engine.DataError, match="got inf with budget_sense '=='"):
        AssignmentProblem(np.ones((4, 2)), [0.5, 1.0], float("inf"), budget_sense="==")


def test_a_pipeline_with_a_budget_of_1e308_plans_and_reports(tmp_path: Path) -> None:
    """Every unit gets its best treatment by net effect, or none where no net effect is positive."""
    ran = hookyard(tmp_path, "--set", "solver.params.budget=1e308", "--set", 'solver.params.budget_sense="<="',
                   "--report", "report", "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "report" / "report.json").is_file()
    table = pq.read_table(tmp_path / "plan.parquet")
    net = np.column_stack([table.column(f"cate_T{j}").to_numpy() for j in (1, 2, 3)]) - [0.1, 0.2, 0.3]
    best = np.where(net.max(axis=1) > 0, net.argmax(axis=1), -1)
    assert table.column_names.count("assignment") == 1
    np.testing.assert_array_equal(table.column("assignment").to_numpy(), best)
