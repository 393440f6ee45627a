"""The native solver's pieces against plain references: the LP bound against GLOP, the weighted selection
against a full sort, and the two cost layouts against each other."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import engine
from engine.kinds.solver import AssignmentProblem, tolerance
from plugins.solvers.mckp import SORT_BELOW, critical_slope


def sorted_reference(slope: np.ndarray, width: np.ndarray, room: float) -> float | None:
    if width.sum() <= room:
        return None
    order = np.argsort(-slope, kind="stable")
    return float(slope[order[np.searchsorted(np.cumsum(width[order]), room, side="right")]])


@pytest.mark.parametrize("size", [1, 50, SORT_BELOW + 1, 5 * SORT_BELOW])
@pytest.mark.parametrize("shape", ["distinct", "few values", "all equal"])
def test_critical_slope_matches_a_full_sort(size: int, shape: str) -> None:
    rng = np.random.default_rng(size)
    slope = {"distinct": rng.normal(size=size), "few values": rng.integers(0, 4, size).astype(float),
             "all equal": np.full(size, 0.7)}[shape]
    width = rng.uniform(0.05, 1.0, size)
    for fraction in (0.0, 0.013, 0.37, 0.9, 1.2):
        room = fraction * float(width.sum())
        assert critical_slope(slope, width, room) == sorted_reference(slope, width, room)


def tied_problem(seed: int, **settings) -> AssignmentProblem:
    """Per-unit costs and values on coarse grids, so that costs tie and hull points fall on one line."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 12, (200, 4)) / 10
    costs = rng.choice([0.0, 0.1, 0.2, 0.3], size=(200, 4))
    return AssignmentProblem(values, costs, settings.pop("budget", 12.0), **settings)


@pytest.mark.parametrize("settings", [{}, {"budget_sense": "=="}, {"allow_none": False, "budget": 30.0},
                                      {"objective": "value"}], ids=["<=", "==", "every-unit", "value"])
@pytest.mark.parametrize("seed", [0, 1])
def test_mckp_bound_is_the_lp_relaxation_value_within_the_budget_tolerance(seed: int, settings: dict) -> None:
    """The plan may spend within the feasibility tolerance of the budget, so its bound is the LP's at
    the budget moved by the tolerance (either way for an exact budget), which GLOP gives."""
    problem = tied_problem(seed, **settings)
    glop = engine.solver("ortools", backend="glop", warm_start=False)
    tol = tolerance(problem.budget)
    moves = (tol, -tol) if problem.budget_sense == "==" else (tol,)
    lp = max(glop.solve(attrs.evolve(problem, budget=problem.budget + move)).bound for move in moves)
    native = engine.solver("mckp").solve(problem)
    assert lp == pytest.approx(native.bound, rel=1e-9, abs=1e-9)
    assert glop.solve(problem).bound <= native.bound
    assert native.status in ("optimal", "feasible") and not problem.violations(native.assignment)


def test_costs_per_treatment_and_per_unit_give_the_same_plan() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(1.0, 0.5, (5_000, 5))
    costs = np.array([0.3, 0.1, 0.5, 0.2, 0.4])
    shared = engine.solver("mckp").solve(AssignmentProblem(values, costs, 700.0, budget_sense="=="))
    per_unit = engine.solver("mckp").solve(AssignmentProblem(values, np.tile(costs, (5_000, 1)), 700.0,
                                                             budget_sense="=="))
    assert shared.status == per_unit.status == "optimal"
    assert shared.bound == pytest.approx(per_unit.bound, rel=1e-12)
    np.testing.assert_array_equal(shared.assignment, per_unit.assignment)
