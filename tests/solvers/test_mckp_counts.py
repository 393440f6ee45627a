"""`mckp` with per-treatment count limits: feasible plans, bounds above the exact optimum (brute force on
tiny problems, SCIP on larger ones), and clear reasons where the limits cannot be met."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import engine
from engine.kinds.solver import AssignmentProblem
from engine.testing.solver import brute_force, random_problem

FOUND = ("optimal", "feasible")


def limits(rng: np.random.Generator, k: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Random minimums and maximums, each treatment's present or NaN at random."""
    low = np.where(rng.random(k) < 0.5, rng.integers(0, top, k).astype(float), np.nan)
    high = np.where(rng.random(k) < 0.5, rng.integers(0, top + 1, k).astype(float), np.nan)
    return low, high


def test_tiny_problems_against_brute_force() -> None:
    """Plans keep to every limit and never beat the optimum, the bound never falls below it, and an
    impossible problem never gets a plan."""
    rng = np.random.default_rng(0)
    solver = engine.solver("mckp")
    found = 0
    for _ in range(80):
        n, k = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        low, high = limits(rng, k, 3)
        settings = {"budget_sense": "=="} if rng.random() < 0.3 else {}
        problem = random_problem(int(rng.integers(1000)), n=n, k=k, min_count=low, max_count=high, **settings)
        result, best = solver.solve(problem), brute_force(problem)
        if math.isnan(best):
            assert result.status not in FOUND and result.message
            continue
        assert result.bound >= best - 1e-9
        if result.status in FOUND:
            found += 1
            assert problem.violations(result.assignment) == []
            assert result.objective <= best + 1e-9
    assert found >= 40


def medium_problem(seed: int, n: int, k: int, sense: str, per_unit: bool) -> tuple[AssignmentProblem, float]:
    """A problem whose limits bind: the treatment the unlimited plan gives most capped at 70% of that,
    the one it gives least floored at 130% and ten more. Returns it and the unlimited bound."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (n, k)) * np.linspace(1, 2, k)
    costs = rng.choice([0.1, 0.2, 0.3, 0.5], (n, k)) if per_unit else np.arange(1, k + 1) / 10
    budget = round(float(np.broadcast_to(costs, (n, k)).mean()) * n * 0.4, 1)
    free = engine.solver("mckp").solve(AssignmentProblem(values, costs, budget, budget_sense=sense))
    held = np.bincount(free.assignment[free.assignment >= 0], minlength=k)
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    high[held.argmax()], low[held.argmin()] = 0.7 * held.max(), 1.3 * held.min() + 10
    return AssignmentProblem(values, costs, budget, budget_sense=sense, min_count=low, max_count=high), free.bound


@pytest.mark.parametrize(("seed", "n", "k", "sense", "per_unit"), [
    (1, 1500, 3, "<=", False), (2, 1500, 4, "==", False), (3, 1500, 5, "<=", True), (4, 1000, 3, "==", True),
])
def test_within_a_small_certified_gap_of_scip(seed: int, n: int, k: int, sense: str, per_unit: bool) -> None:
    problem, unlimited_bound = medium_problem(seed, n, k, sense, per_unit)
    exact = engine.solver("ortools", backend="scip", warm_start=False).solve(problem)
    native = engine.solver("mckp").solve(problem)
    assert exact.status == "optimal"
    assert native.status in FOUND and problem.violations(native.assignment) == []
    tol = 1e-9 * abs(exact.objective)
    assert exact.objective * (1 - 1e-4) <= native.objective <= exact.objective + tol
    assert exact.objective - tol <= native.bound < unlimited_bound - 1.0
    assert native.gap_rel <= 2e-4


def test_limits_the_plan_already_meets_change_nothing() -> None:
    rng = np.random.default_rng(5)
    problem = AssignmentProblem(rng.uniform(0, 1, (2000, 4)), rng.choice([0.1, 0.2, 0.3], (2000, 4)), 150.0)
    plain = engine.solver("mckp").solve(problem)
    held = np.bincount(plain.assignment[plain.assignment >= 0], minlength=4).astype(float)
    limited = engine.solver("mckp").solve(AssignmentProblem(problem.values, problem.costs, problem.budget,
                                                            min_count=held - 5, max_count=held + 5))
    assert limited.objective == pytest.approx(plain.objective, rel=1e-12)
    assert limited.bound == pytest.approx(plain.bound, rel=1e-9)


def test_exact_counts_are_met() -> None:
    rng = np.random.default_rng(6)
    values, costs = rng.uniform(0, 1, (400, 3)), np.array([0.1, 0.2, 0.3])
    problem = AssignmentProblem(values, costs, 40.0, min_count=[50, 40, 30], max_count=[50, 40, 30])
    result = engine.solver("mckp").solve(problem)
    assert result.status in FOUND
    assert np.bincount(result.assignment[result.assignment >= 0], minlength=3).tolist() == [50, 40, 30]
    exact = engine.solver("ortools", backend="scip", warm_start=False).solve(problem)
    assert exact.objective - 1e-9 <= result.bound and result.objective <= exact.objective + 1e-9


@pytest.mark.parametrize(("settings", "reason"), [
    ({"min_count": [3, np.nan], "max_count": [2, np.nan]}, "treatment 0's min_count .3. is above its max_count .2."),
    ({"min_count": [4, 3]}, "min_count values add up to 7 units, more than the 6"),
    ({"max_count": [2, 3], "allow_none": False, "budget": 10.0}, "max_count values add up to 5, fewer than the 6"),
    ({"min_count": [2, 2]}, "meeting the min_count values costs at least 3, more than the budget 2"),
])
def test_limits_no_plan_can_meet_are_infeasible_with_the_reason(settings: dict, reason: str) -> None:
    budget = settings.pop("budget", 2.0)
    problem = AssignmentProblem(np.ones((6, 2)), [0.5, 1.0], budget, **settings)
    result = engine.solver("mckp").solve(problem)
    assert result.status == "infeasible"
    assert re.search(reason, result.message)
