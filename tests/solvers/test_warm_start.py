"""MILP backends start from `mckp`'s plan and bound: a backend stopped early returns no worse a plan than
mckp's, says so, and reports the tighter of the two proven bounds."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.kinds.solver import AssignmentProblem

BACKENDS = [("ortools", {"backend": "scip"}), ("ortools", {"backend": "cp-sat", "threads": 1}),
            ("ortools", {"backend": "highs", "threads": 1}), ("ortools", {"backend": "glop"}),
            ("pulp", {"backend": "highs"}), ("pulp", {"backend": "cbc"})]
IDS = [f"{n}-{o['backend']}" for n, o in BACKENDS]


def seed_shaped(n: int, seed: int = 0) -> AssignmentProblem:
    rng = np.random.default_rng(seed)
    values = rng.gamma(4.0, 0.25, (n, 1)) * [0.5, 0.75, 1.0] + rng.normal(0, 0.2, (n, 3))
    return AssignmentProblem(values, [0.1, 0.2, 0.3], n / 10, budget_sense="==")


@pytest.mark.parametrize(("name", "options"), BACKENDS, ids=IDS)
def test_a_backend_stopped_at_once_returns_mckps_plan_at_least(name: str, options: dict) -> None:
    problem = seed_shaped(2000)
    mckp = engine.solver("mckp").solve(problem)
    result = engine.solver(name, time_limit=0.001, **options).solve(problem)
    assert problem.violations(result.assignment) == []
    assert result.objective >= mckp.objective - 1e-9
    assert result.bound <= mckp.bound + 1e-9 and result.bound >= result.objective - 1e-6
    if result.objective == mckp.objective and np.array_equal(result.assignment, mckp.assignment):
        assert result.status == "optimal" or "did not improve on mckp's plan" in result.message


@pytest.mark.parametrize(("name", "options"), BACKENDS[:2] + BACKENDS[4:], ids=IDS[:2] + IDS[4:])
def test_with_time_the_backend_proves_the_optimum_mckp_only_bounds(name: str, options: dict) -> None:
    problem = seed_shaped(300, seed=3)
    mckp = engine.solver("mckp").solve(problem)
    cold = engine.solver(name, warm_start=False, **options).solve(problem)
    warm = engine.solver(name, **options).solve(problem)
    assert warm.status == cold.status == "optimal"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9) and warm.objective >= mckp.objective - 1e-9
