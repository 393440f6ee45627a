"""Partitioned `mckp` against the in-memory one: the same plan, status, objective and bound at every
partition count, with the workers keeping their hulls or rebuilding them; and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.kinds.solver import AssignmentProblem, PartitionedProblem, tolerance
from engine.testing.solver import brute_force
from plugins.solvers.mckp import MCKPSolver, critical_slope, sorted_options, upper_hull
from plugins.solvers.mckp_partitions import critical_slope as partitioned_critical_slope
from plugins.solvers.mckp_partitions import local_workers, rebuilt_hull, solve

PARTS = {1: [2_000], 2: [1_999, 1], 3: [700, 1, 1_299], 7: [1, 400, 399, 1, 600, 298, 301],
         16: [1, 1] + [142] * 13 + [152]}
"""Uneven partitions of 2,000 units, some of a single unit."""


def problem_for(seed: int, n: int = 2_000, k: int = 3, per_unit: bool = False, grid: bool = False,
                **settings) -> AssignmentProblem:
    """Random values; on a coarse grid (with costs on one too) so that slopes tie, when `grid`."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 12, (n, k)) / 10 if grid else rng.normal(0.4, 0.4, (n, k))
    if per_unit:
        costs = rng.choice([0.1, 0.2, 0.3], size=(n, k)) if grid else rng.uniform(0.05, 0.5, (n, k))
    else:
        costs = np.array([0.1, 0.2, 0.3, 0.4, 0.5][:k])
    spend = float(np.broadcast_to(costs, (n, k)).max(axis=1).sum())
    budget = settings.pop("budget", round(spend * (0.8 if settings.get("allow_none") is False else 0.3), 1))
    return AssignmentProblem(values, costs, budget, **settings)


def split(problem: AssignmentProblem, parts) -> PartitionedProblem:
    return PartitionedProblem.from_arrays(problem.values, problem.costs, problem.budget, parts=parts,
                                          budget_sense=problem.budget_sense, min_count=problem.min_count,
                                          max_count=problem.max_count, objective=problem.objective,
                                          allow_none=problem.allow_none)


def assert_same(whole, partitioned) -> None:
    assert partitioned.status == whole.status, (whole.message, partitioned.message)
    np.testing.assert_array_equal(partitioned.assignment, whole.assignment)
    assert partitioned.assignment.dtype == np.int64
    assert partitioned.bound == pytest.approx(whole.bound, rel=1e-12, abs=1e-9, nan_ok=True)
    assert partitioned.objective == pytest.approx(whole.objective, rel=1e-12, abs=1e-9, nan_ok=True)
    assert partitioned.total_cost == pytest.approx(whole.total_cost, rel=1e-12, abs=1e-9, nan_ok=True)
    assert partitioned.message == whole.message


SETTINGS = {
    "<=": {},
    "==": {"budget_sense": "=="},
    "value": {"objective": "value"},
    "every-unit": {"allow_none": False},
    "every-unit==": {"allow_none": False, "budget_sense": "=="},
}


@pytest.mark.parametrize("parts", sorted(PARTS))
@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize(("per_unit", "grid"), [(False, False), (True, False), (False, True), (True, True)],
                         ids=["per-treatment", "per-unit", "per-treatment-ties", "per-unit-ties"])
def test_partitioned_equals_in_memory(parts: int, settings: dict, per_unit: bool, grid: bool) -> None:
    problem = problem_for(parts, per_unit=per_unit, grid=grid, **dict(settings))
    whole = MCKPSolver().solve(problem)
    for keep_units in (0, 10**9):
        assert_same(whole, MCKPSolver(keep_units=keep_units).solve_partitioned(split(problem, PARTS[parts])))


@pytest.mark.parametrize("sense", ["<=", "=="])
@pytest.mark.parametrize(("per_unit", "grid", "seed"), [(False, False, 5), (True, False, 5), (False, True, 5),
                                                        (False, True, 6), (True, True, 7)],
                         ids=["per-treatment", "per-unit", "ties-a", "ties-b", "per-unit-ties"])
def test_many_selection_rounds(sense: str, per_unit: bool, grid: bool, seed: int) -> None:
    """Enough segments (60,000) that the critical slope needs tallies before the band is gathered;
    with few distinct slopes, it has thousands of ties and is found without gathering."""
    problem = problem_for(seed, n=20_000, per_unit=per_unit, grid=grid, budget_sense=sense)
    partitioned = split(problem, [1, 9_000, 4_999, 6_000])
    assert_same(MCKPSolver().solve(problem), solve(partitioned, local_workers(partitioned, keep_units=0)))


@pytest.mark.parametrize("samples", [1, 40])
@pytest.mark.parametrize("grid", [False, True], ids=["distinct", "ties"])
def test_the_critical_slope_is_found_from_poor_samples(samples: int, grid: bool) -> None:
    """With a sample or forty per partition the pivots miss, and the band moves above or below them."""
    problem = problem_for(9, n=12_000, per_unit=True, grid=grid)
    options = sorted_options(problem)
    hull = upper_hull(options)
    usable = hull.slope > 0
    cheapest = float(options.cost[hull.first, np.arange(12_000)].sum())
    partitioned = split(problem, [5_000, 1, 6_999])
    for fraction in (0.0, 0.01, 0.3, 0.8, 0.999, 1.2):
        room = fraction * float(hull.width[usable].sum())
        workers = local_workers(partitioned, keep_units=0)
        band = (float(np.nextafter(0.0, 1.0)), np.inf)
        summaries = workers.each("summary", [(band, samples)] * 3)
        assert sum(s.cheapest for s in summaries) == pytest.approx(cheapest, rel=1e-12)
        found = partitioned_critical_slope(workers, [samples] * 3, summaries, band, room)[0]
        assert found == critical_slope(hull.slope[usable], hull.width[usable], room)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sense", ["<=", "=="])
def test_tiny_problems_against_brute_force(seed: int, sense: str) -> None:
    problem = problem_for(seed, n=5, k=2 + seed % 2, per_unit=seed % 3 == 0, grid=seed % 2 == 1, budget_sense=sense,
                          budget=round(0.25 + 0.2 * seed, 1))
    partitioned = MCKPSolver(keep_units=0).solve_partitioned(split(problem, [1, 3, 1]))
    assert_same(MCKPSolver().solve(problem), partitioned)
    best = brute_force(problem)
    if math.isnan(best):
        assert partitioned.status not in ("optimal", "feasible") and partitioned.message
        return
    assert partitioned.bound >= best - 1e-9
    if partitioned.status in ("optimal", "feasible"):
        assert problem.violations(partitioned.assignment) == []
        assert partitioned.objective <= best + 1e-9


@pytest.mark.parametrize(("units", "budget", "allow_none"), [(4, 2.5, True), (3, 7.0, True), (4, 3.0, False)],
                         ids=["exact-budget-off-the-cost-grid", "beyond-the-dearest-plan", "below-the-cheapest-plan"])
def test_unreachable_budgets_give_the_in_memory_reason(units: int, budget: float, allow_none: bool) -> None:
    problem = AssignmentProblem(np.ones((units, 2)), [1.0, 2.0], budget, budget_sense="==", allow_none=allow_none)
    partitioned = MCKPSolver().solve_partitioned(split(problem, [1, units - 2, 1]))
    assert_same(MCKPSolver().solve(problem), partitioned)
    assert partitioned.status == "infeasible" and partitioned.message


def test_count_limits_are_solved_on_the_whole_problem() -> None:
    problem = problem_for(3, n=300, min_count=[20, 0, np.nan], max_count=[80, 60, 50])
    assert_same(MCKPSolver().solve(problem), MCKPSolver().solve_partitioned(split(problem, [100, 1, 199])))


@pytest.mark.parametrize("per_unit", [False, True], ids=["per-treatment", "per-unit"])
def test_hulls_rebuilt_from_their_vertices_are_the_hulls(per_unit: bool) -> None:
    options = sorted_options(problem_for(8, n=3_000, k=4, per_unit=per_unit, grid=True))
    hull = upper_hull(options)
    vertex = np.isfinite(hull.slope)
    vertex[hull.first, np.arange(hull.first.size)] = True
    rebuilt = rebuilt_hull(options, vertex)
    np.testing.assert_array_equal(rebuilt.first, hull.first)
    np.testing.assert_array_equal(rebuilt.slope, hull.slope)
    finite = np.isfinite(hull.slope)
    np.testing.assert_array_equal(rebuilt.width[finite], hull.width[finite])


def test_the_registry_offers_partitions() -> None:
    assert "partitions" in engine.plugin_info("solver", "mckp").registration.capabilities
    problem = problem_for(2, n=50)
    assert_same(MCKPSolver().solve(problem), engine.solver("mckp").solve_partitioned(split(problem, 4)))


def test_partitioned_problem_parts_whole_and_evolve() -> None:
    problem = problem_for(4, n=10, per_unit=True)
    partitioned = split(problem, [3, 7])
    assert partitioned.shape == (10, 3)
    np.testing.assert_array_equal(partitioned.part(1).values, problem.values[3:])
    np.testing.assert_array_equal(partitioned.whole().costs, problem.costs)
    shared = PartitionedProblem.from_arrays(problem.values, [0.1, 0.2, 0.3], 1.0, parts=3)
    assert shared.whole().costs.shape == (3,) and shared.sizes == (4, 3, 3)
    other = partitioned.evolve(budget=2.0, budget_sense="eq")
    assert (other.budget, other.budget_sense, other.parts) == (2.0, "==", partitioned.parts)


def test_partitioned_problem_mistakes_are_data_errors() -> None:
    values = np.ones((5, 2))
    with pytest.raises(engine.DataError, match="add up to 4"):
        PartitionedProblem.from_arrays(values, [1.0, 2.0], 1.0, parts=[1, 3])
    with pytest.raises(engine.DataError, match="one size per partition"):
        PartitionedProblem((lambda: (values, [1.0, 2.0]),), (2, 3), 1.0)
    wrong = PartitionedProblem((lambda: (values, [1.0, 2.0]),), (4,), 1.0)
    with pytest.raises(engine.DataError, match="should hold 4 units"):
        wrong.part(0)
    with pytest.raises(engine.DataError, match="budget_sense"):
        PartitionedProblem.from_arrays(values, [1.0, 2.0], 1.0, budget_sense="<")


@pytest.mark.parametrize("sense", ["<=", "=="])
@pytest.mark.parametrize("parts", [None, [70, 60, 70]])
def test_a_plan_spending_within_the_tolerance_past_the_budget_stays_under_the_bound(sense: str, parts) -> None:
    """The budget falls 0.4 of the feasibility tolerance short of 100 units' cost: the fill may take
    the 100th unit (within the tolerance), and the bound must cover that plan too."""
    rng = np.random.default_rng(17)
    budget = 10.0 - 0.4 * tolerance(10.0)
    problem = AssignmentProblem(rng.uniform(1.0, 2.0, (200, 1)), [0.1], budget, budget_sense=sense)
    solver = MCKPSolver()
    result = solver.solve(problem) if parts is None else solver.solve_partitioned(split(problem, parts))
    assert result.total_cost <= budget + tolerance(budget) and not problem.violations(result.assignment)
    assert result.objective <= result.bound and result.status == "optimal"
    exact = engine.solver("ortools", backend="cp-sat", warm_start=False).solve(problem)
    assert exact.objective <= result.bound
