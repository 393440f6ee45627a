"""Solver behaviour beyond the contract: input checks, backends agreeing, the seed's shape, pipelines, the CLI."""

from __future__ import annotations

import gc
import json

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

import engine
from engine.cli import main
from engine.flow import Flow
from engine.kinds.solver import AssignmentProblem, MILPProblem, run_step
from plugins.solvers.formulation import presolve_for

EXACT = [(name, {**options, "warm_start": False}) for name, options in (
    ("ortools", {"backend": "scip"}), ("ortools", {"backend": "cp-sat", "threads": 1}),
    ("ortools", {"backend": "highs", "threads": 1}), ("pulp", {"backend": "highs"}), ("pulp", {"backend": "cbc"}))]
"""The exact backends on their own, without mckp's start, so that they are checked against it, not with it."""


def seed_shaped(n: int, seed: int = 0, sense: str = "==") -> AssignmentProblem:
    """Like the seed article: effects of three discounts, costs 0.1/0.2/0.3, budget n/10."""
    rng = np.random.default_rng(seed)
    values = rng.gamma(4.0, 0.25, (n, 1)) * [0.5, 0.75, 1.0] + rng.normal(0, 0.2, (n, 3))
    return AssignmentProblem(values, [0.1, 0.2, 0.3], n / 10, budget_sense=sense)


@pytest.mark.parametrize(("field", "bad", "match"), [
    ("values", np.array([[1.0, np.nan]]), "values has 1 NaN or infinite"),
    ("values", np.array([[1.0, np.inf]]), "values has 1 NaN or infinite"),
    ("costs", np.array([1.0, -np.inf]), "costs has 1 NaN"),
    ("budget", -1.0, "budget must be a finite number >= 0"),
    ("budget", float("nan"), "budget must be a finite number"),
    ("costs", np.array([1.0, 2.0, 3.0]), "costs must have shape"),
    ("budget_sense", ">=", "budget_sense '>=' is not known"),
    ("min_count", [1, -1], "min_count must not be negative"),
])
def test_bad_problems_are_rejected_with_a_clear_error(field, bad, match) -> None:
    fields = {"values": np.ones((2, 2)), "costs": np.ones(2), "budget": 1.0, field: bad}
    with pytest.raises(engine.DataError, match=match):
        AssignmentProblem(**fields)


def test_count_limits_a_rounding_error_away_from_a_whole_number_allow_it() -> None:
    """0.7 * 11370 is 7958.999999999999: such a maximum allows 7959 units, as a user means it."""
    below, above = np.nextafter(2.0, 0.0), np.nextafter(2.0, 3.0)
    problem = AssignmentProblem(np.ones((3, 1)), [0.0], 0.0, min_count=[above], max_count=[below])
    assert tuple(map(list, problem.count_range())) == ([2.0], [2.0])
    assert problem.violations(np.array([0, 0, -1])) == []
    assert problem.violations(np.array([0, 0, 0])) == ["treatment 0 is given 3 times; its maximum is 2"]
    assert problem.violations(np.array([0, -1, -1])) == ["treatment 0 is given 1 times; its minimum is 2"]
    for name in ("mckp", "ortools", "pulp"):
        assert (engine.solver(name).solve(problem).assignment >= 0).sum() == 2


@pytest.mark.parametrize("sense", ["<=", "=="])
@pytest.mark.parametrize("seed", [11, 12])
def test_exact_backends_agree_and_mckp_bounds_them(seed: int, sense: str) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-0.5, 2.0, (150, 4))
    costs = rng.choice([0.1, 0.2, 0.25, 0.5], size=(150, 4))
    problem = AssignmentProblem(values, costs, 15.0, budget_sense=sense)
    optima = [engine.solver(name, **options).solve(problem) for name, options in EXACT]
    assert all(r.status == "optimal" for r in optima), [r.summary() for r in optima]
    best = max(r.objective for r in optima)
    for r in optima:
        assert r.objective == pytest.approx(best, rel=1e-6)
    native = engine.solver("mckp").solve(problem)
    assert not problem.violations(native.assignment)
    assert native.bound >= best - 1e-9 and native.objective <= best + 1e-9
    assert native.gap_rel < 1e-2


@pytest.mark.parametrize("presolve", [True, False])
@pytest.mark.parametrize(("name", "options"), EXACT)
def test_presolve_on_or_off_reaches_the_same_optimum(name: str, options: dict, presolve: bool) -> None:
    problem = seed_shaped(200, seed=4)
    default = engine.solver(name, **options).solve(problem)
    chosen = engine.solver(name, presolve=presolve, **options).solve(problem)
    assert default.status == chosen.status == "optimal"
    assert chosen.objective == pytest.approx(default.objective, rel=1e-6)


def test_highs_presolves_assignment_models_only_when_asked() -> None:
    assert presolve_for("highs", None, assignment=True) is False
    assert presolve_for("highs", True, assignment=True) is True
    assert presolve_for("highs", None, assignment=False) is None
    assert presolve_for("scip", None, assignment=True) is None


def test_seed_shape_optimised_plan_beats_naive_with_a_tight_certificate() -> None:
    problem = seed_shaped(30_000)
    optimised = engine.solver("mckp").solve(problem)
    naive = engine.solver("naive").solve(problem)
    assert optimised.status in ("optimal", "feasible")
    assert optimised.total_cost == pytest.approx(3000.0)
    assert optimised.gap_rel <= 1e-6
    assert optimised.objective > naive.objective


def test_mckp_never_beats_its_own_bound_on_many_units_with_per_unit_costs() -> None:
    rng = np.random.default_rng(5)
    problem = AssignmentProblem(rng.normal(1, 1, (20_000, 5)), rng.uniform(0.05, 1, (20_000, 5)), 2_000.0)
    result = engine.solver("mckp").solve(problem)
    assert not problem.violations(result.assignment)
    assert 0 <= result.gap_abs and result.gap_rel < 1e-4


@pytest.mark.parametrize(("name", "options"), EXACT)
def test_sparse_milp_agrees_with_brute_force(name: str, options: dict) -> None:
    rng = np.random.default_rng(3)
    A = sp.random(4, 6, density=0.6, random_state=3, data_rvs=lambda k: rng.integers(1, 6, k)).tocsr()
    c = rng.integers(-3, 8, 6).astype(float)
    milp = MILPProblem(c=c, A_ub=A, b_ub=np.full(4, 7.0), lb=np.zeros(6), ub=np.full(6, 2.0),
                       integrality=np.ones(6, bool), maximize=True)
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 6, indexing="ij"), -1).reshape(-1, 6)
    feasible = (A @ grid.T <= 7 + 1e-9).all(axis=0)
    result = engine.solver(name, **options).solve_milp(milp)
    assert result.status == "optimal"
    assert result.objective == pytest.approx((grid[feasible] @ c).max())


def _flow() -> Flow:
    table = pa.table({"id": [1, 2, 3, 4], "cate_a": [1.0, 0.2, 0.9, 0.05], "cate_b": [1.6, 0.3, 0.1, 0.1],
                      "cost_cate_a": [0.5, 0.5, 0.5, 0.5], "cost_cate_b": [1.0, 1.0, 1.0, 1.0]})
    return Flow(table=table, facts={"effects": ("cate_a", "cate_b")})


@pytest.mark.parametrize("costs", [[0.5, 1.0], "cost_"])
def test_solver_step_adds_the_assignment_and_a_plain_summary(costs) -> None:
    out = run_step(engine.solver("mckp"), _flow(), budget=1.5, costs=costs)
    assert out.table.column("assignment").to_pylist() == [1, -1, 0, -1]
    assert out.facts["assignment"] == "assignment"
    summary = out.facts["solver"]
    json.dumps(summary, allow_nan=False)
    assert summary["objective"] == pytest.approx(0.6 + 0.4)
    assert summary["treatments"] == ["cate_a", "cate_b"]


def test_solver_step_names_missing_cost_columns() -> None:
    with pytest.raises(engine.DataError, match=r"cost columns \['price_cate_a', 'price_cate_b'\]"):
        run_step(engine.solver("mckp"), _flow(), budget=1.0, costs="price_")


def test_solver_step_runs_in_a_pipeline_with_validated_params() -> None:
    pipeline = engine.Pipeline([engine.Step("solver", "naive", params={"budget": 1.5, "cost": [1, 2]})])
    problems = pipeline.validate(with_input=True)
    assert any("no param 'cost'" in p and "costs" in p for p in problems)


def test_cli_compares_solvers_as_json(capsys) -> None:
    code = main(["solve", "--generate", "300", "3", "--budget-sense", "==", "--json",
                 "--solver", "mckp", "--solver", "naive", "--solver", "pulp:backend=highs"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {r["solver"]: r for r in report["results"]}
    assert report["units"] == 300 and report["budget"] == 30.0
    assert by_name["pulp:backend=highs"]["status"] == "optimal"
    assert by_name["mckp"]["bound"] >= by_name["pulp:backend=highs"]["objective"] - 1e-9
    assert by_name["naive"]["objective"] < by_name["pulp:backend=highs"]["objective"]


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_cli_reads_problem_files(tmp_path, capsys, suffix: str) -> None:
    values = [[1.0, 2.0], [0.5, 0.1], [2.0, 2.5]]
    path = tmp_path / f"problem{suffix}"
    if suffix == ".npz":
        np.savez(path, values=np.array(values), costs=np.array([1.0, 2.0]), budget=np.float64(3.0))
    else:
        path.write_text(json.dumps({"values": values, "costs": [1.0, 2.0], "budget": 3.0, "budget_sense": "=="}))
    assert main(["solve", str(path), "--solver", "ortools", "--solver", "mckp"]) == 0
    out = capsys.readouterr().out
    assert "3 units x 2 treatments" in out and out.count("optimal") == 2


def test_cli_compares_only_solvers_that_honour_the_count_limits_by_default(tmp_path, capsys) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / "limited.npz"
    np.savez(path, values=rng.uniform(0, 1, (40, 3)), costs=np.array([0.1, 0.2, 0.3]), budget=np.float64(4.0),
             min_count=np.array([np.nan, np.nan, 8.0]), max_count=np.array([10.0, np.nan, np.nan]))
    assert main(["solve", str(path), "--json"]) == 0
    rows = {r["solver"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert set(rows) == {"mckp", "ortools", "pulp"}
    assert rows["ortools"]["status"] == rows["pulp"]["status"] == "optimal"
    assert rows["mckp"]["bound"] >= rows["ortools"]["objective"] - 1e-9
    assert main(["solve", str(path), "--solver", "naive"]) == 1
    assert "does not handle per-treatment count limits" in capsys.readouterr().err


def test_cli_explains_a_bad_problem_file(tmp_path, capsys) -> None:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"values": [[1.0, np.nan]], "costs": [1, 1], "budget": 1}).replace("NaN", "NaN"))
    assert main(["solve", str(path)]) == 1
    assert "values has 1 NaN or infinite" in capsys.readouterr().err
    (tmp_path / "problem.csv").write_text("x")
    assert main(["solve", str(tmp_path / "problem.csv")]) == 1
    assert "problem files are .npz or .json" in capsys.readouterr().err


@pytest.mark.parametrize("enabled", [True, False])
def test_pulp_build_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    problem = seed_shaped(300, sense="<=")
    (gc.enable if enabled else gc.disable)()
    try:
        result = engine.solver("pulp", backend="highs", warm_start=False).solve(problem)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
    assert result.status == "optimal"


def test_ortools_highs_refuses_to_start_after_highspy_instead_of_crashing() -> None:
    import subprocess
    import sys

    code = (
        "import pulp, engine\n"
        "from engine.kinds.solver import AssignmentProblem\n"
        "try:\n"
        "    engine.solver('ortools', backend='highs', warm_start=False).solve(AssignmentProblem([[1.0]], [0.5], 1.0))\n"
        "except engine.OptionError as exc:\n"
        "    print('refused:', exc)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "refused: OR-Tools' HiGHS cannot start in a process that has already loaded highspy" in ran.stdout
