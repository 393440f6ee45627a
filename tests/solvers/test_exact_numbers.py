"""Every backend on numbers with any decimals: the optimum brute force finds, a bound never below it.

CP-SAT scales each row exactly (2/3 by 3, 0.1 by 10) or refuses; it must never round a cost and
report a plan or a bound that the rounding made up.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.kinds.solver import AssignmentProblem
from engine.testing.solver import FOUND, brute_force

BACKENDS = [("mckp", {}), ("ortools", {"backend": "scip"}), ("ortools", {"backend": "cp-sat", "threads": 1}),
            ("ortools", {"backend": "highs", "threads": 1}), ("pulp", {"backend": "highs"}),
            ("pulp", {"backend": "cbc"})]
"""The MILP backends run without mckp's warm start here, so that its plan and bound cover none of their errors."""
EXACT = {"ortools", "pulp"}

numbers = st.one_of(
    st.just(0.0),
    st.floats(1e-3, 3.0, allow_nan=False, allow_infinity=False),
    st.builds(lambda p, q: p / q, st.integers(0, 30), st.integers(1, 12)),
    st.builds(lambda v, d: round(v, d), st.floats(1e-3, 3.0), st.integers(3, 9)),
)
"""0, or at least 1e-3 (so that no plan is feasible only within the 1e-6 tolerance): any float, p/q, or decimals."""


@st.composite
def problems(draw: st.DrawFn) -> AssignmentProblem:
    n, k = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    values = np.array(draw(st.lists(numbers, min_size=n * k, max_size=n * k))).reshape(n, k)
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n * k, max_size=n * k))).reshape(n, k)
    costs = np.array(draw(st.lists(numbers, min_size=n * k, max_size=n * k))).reshape(n, k)
    sense = draw(st.sampled_from(["<=", "=="]))
    if draw(st.booleans()):
        plan = np.array(draw(st.lists(st.integers(-1, k - 1), min_size=n, max_size=n)))
        budget = float(costs[plan >= 0, plan[plan >= 0]].sum())
    else:
        budget = draw(numbers)
    return AssignmentProblem(values * signs, costs, budget, budget_sense=sense,
                             objective=draw(st.sampled_from(["net", "value"])))


def strict_optimum(problem: AssignmentProblem) -> float:
    """The best objective over plans that meet the budget to 1e-12 (not the 1e-6 that `violations` allows),
    or NaN: a plan feasible only within the tolerance may be found or not, but no bound may fall below this."""
    n, k = problem.shape
    best = -math.inf
    for plan in itertools.product(range(-1, k), repeat=n):
        plan = np.array(plan)
        objective, spent = problem.evaluate(plan)
        slack = 1e-12 * max(1.0, problem.budget)
        if spent <= problem.budget + slack and (problem.budget_sense == "<=" or spent >= problem.budget - slack):
            best = max(best, objective)
    return best if math.isfinite(best) else math.nan


@pytest.mark.parametrize(("name", "options"), BACKENDS, ids=[f"{n}-{o.get('backend', '')}" for n, o in BACKENDS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_no_backend_reports_a_plan_or_bound_its_numbers_do_not_back(name: str, options: dict,
                                                                     problem: AssignmentProblem) -> None:
    solver = engine.solver(name, **options, **({"warm_start": False} if name in EXACT else {}))
    try:
        result = solver.solve(problem)
    except engine.DataError as exc:
        assert options.get("backend") == "cp-sat" and "scaled exactly" in str(exc)
        return
    best, strict = brute_force(problem), strict_optimum(problem)
    tol = 1e-6 * max(1.0, abs(best)) if math.isfinite(best) else 0.0
    if math.isnan(best):
        assert result.status not in FOUND
        return
    if result.status in FOUND:
        assert problem.violations(result.assignment) == []
        assert result.objective <= best + tol
    if not math.isnan(result.bound) and not math.isnan(strict):
        assert result.bound >= strict - tol
    if name in EXACT and not math.isnan(strict):
        assert result.status == "optimal", result.message
        assert strict - tol <= result.objective <= best + tol


def test_cbc_meets_an_exact_budget_that_a_plan_spends_to_the_last_bit() -> None:
    """CBC called this infeasible with the budget row as one equality (1.981223673809933 + 1.0 is the budget)."""
    problem = AssignmentProblem(np.zeros((2, 2)), [[0.0, 1.981223673809933], [1.5, 1.0]], 2.981223673809933,
                                budget_sense="==")
    result = engine.solver("pulp", backend="cbc", warm_start=False).solve(problem)
    assert (result.status, result.objective) == ("optimal", pytest.approx(-2.981223673809933))


def test_cp_sat_scales_thirds_exactly_and_refuses_costs_no_small_denominator_holds() -> None:
    cp_sat = engine.solver("ortools", backend="cp-sat", threads=1, warm_start=False)
    thirds = cp_sat.solve(AssignmentProblem(np.ones((3, 1)), [2 / 3], 2.0, budget_sense="=="))
    assert (thirds.status, thirds.objective) == ("optimal", pytest.approx(1.0))
    long_costs = AssignmentProblem(np.full((2, 2), 5.0), [1.8342317515235003, 1.9010652739343745],
                                   3.6684635030470005, objective="value")
    with pytest.raises(engine.DataError, match="scaled exactly"):
        cp_sat.solve(long_costs)
    scip = engine.solver("ortools", backend="scip", warm_start=False)
    assert scip.solve(long_costs).objective == pytest.approx(10.0)
