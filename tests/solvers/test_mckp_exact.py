"""`mckp` under an exact budget: where its greedy fill misses the budget, the repair over the units
cheapest to move spends it exactly; the partitioned solve gives the same plan."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.kinds.solver import AssignmentProblem, PartitionedProblem

FOUND = ("optimal", "feasible")


def feasible_exact_problem(seed: int, most_units: int = 3000) -> AssignmentProblem:
    """Costs on a grid of 0.05, per unit or per treatment, and a budget some random plan spends exactly."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(20, most_units)), int(rng.integers(1, 5))
    grid = np.array([0.1, 0.2, 0.3, 0.25, 0.5, 1.0, 0.05])[: int(rng.integers(2, 8))]
    costs = rng.choice(grid, size=(n, k) if rng.random() < 0.5 else (k,))
    plan = rng.integers(-1, k, n)
    paid = np.broadcast_to(costs, (n, k))[plan >= 0, plan[plan >= 0]]
    return AssignmentProblem(rng.normal(0.5, 0.5, (n, k)), costs, round(float(paid.sum()), 2), budget_sense="==",
                             objective="net" if rng.random() < 0.5 else "value")


def test_mckp_finds_a_plan_for_nearly_every_feasible_exact_budget() -> None:
    results = [engine.solver("mckp").solve(feasible_exact_problem(seed)) for seed in range(120)]
    assert sum(r.status in FOUND for r in results) / len(results) >= 0.99
    for seed, result in enumerate(results):
        if result.status in FOUND:
            assert feasible_exact_problem(seed).violations(result.assignment) == []


GREEDY_MISSES = [50, 113]
"""Seeds whose budget the greedy fill alone misses (4 of the first 120 do: 50, 53, 57, 113)."""


@pytest.mark.parametrize("seed", GREEDY_MISSES)
def test_a_repaired_plan_is_feasible_and_no_better_than_the_optimum_its_bound_covers(seed: int) -> None:
    problem = feasible_exact_problem(seed)
    repaired = engine.solver("mckp").solve(problem)
    exact = engine.solver("ortools", backend="scip", warm_start=False).solve(problem)
    assert repaired.status in FOUND and problem.violations(repaired.assignment) == []
    assert exact.status == "optimal"
    assert repaired.objective <= exact.objective + 1e-9 and repaired.bound >= exact.objective - 1e-6
    assert repaired.gap_rel < 1e-3


@pytest.mark.parametrize("parts", [1, 4])
def test_partitioned_solve_gives_the_repaired_plan_too(parts: int) -> None:
    problem = feasible_exact_problem(GREEDY_MISSES[0])
    split = PartitionedProblem.from_arrays(problem.values, problem.costs, problem.budget, parts=parts,
                                           budget_sense="==", objective=problem.objective)
    whole, partitioned = engine.solver("mckp").solve(problem), engine.solver("mckp").solve_partitioned(split)
    assert partitioned.status == whole.status and np.array_equal(partitioned.assignment, whole.assignment)
    assert partitioned.bound == pytest.approx(whole.bound)
