"""MILP backends start from `mckp`'s plan and bound: a backend stopped early returns no worse a plan than
mckp's, says so, and reports the tighter of the two proven bounds."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.errors import OptionError
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


STARTED = [("ortools", {"backend": "scip"}), ("pulp", {"backend": "highs"}), ("pulp", {"backend": "cbc"})]
"""Backends that take mckp's plan as their start before they search (CP-SAT takes it as a hint to its search,
which a time limit this short can stop before it reads it; OR-Tools' HiGHS and GLOP get none)."""


@pytest.mark.parametrize(("name", "options"), STARTED, ids=[f"{n}-{o['backend']}" for n, o in STARTED])
def test_the_start_reaches_the_backend_which_returns_it_when_stopped_at_once(name: str, options: dict) -> None:
    problem = seed_shaped(2000)
    mckp = engine.solver("mckp").solve(problem)
    own = engine.solver(name, time_limit=0.001, warm_start="hint", **options).solve(problem)
    assert "mckp" not in own.message and own.backend.endswith(options["backend"])
    assert problem.violations(own.assignment) == []
    assert own.objective >= mckp.objective - 1e-9


@pytest.mark.parametrize(("name", "options"), BACKENDS[:2] + BACKENDS[4:], ids=IDS[:2] + IDS[4:])
def test_a_hinted_backend_runs_even_where_mckps_plan_is_proven(name: str, options: dict) -> None:
    problem = AssignmentProblem([[3.0, 1.0], [2.0, 5.0], [1.0, 1.5]], [1.0, 2.0], 3.0)
    shortcut = engine.solver(name, **options).solve(problem)
    own = engine.solver(name, warm_start="hint", **options).solve(problem)
    assert "was not run" in shortcut.message and "mckp" not in own.message
    assert own.status == shortcut.status == "optimal" and own.objective == pytest.approx(shortcut.objective)


def test_warm_start_takes_true_false_or_hint() -> None:
    with pytest.raises(OptionError, match="warm_start"):
        engine.solver("ortools", warm_start="always")


def test_pulps_highs_stopped_before_any_plan_says_so_rather_than_returning_zeros() -> None:
    problem = seed_shaped(2000)
    result = engine.solver("pulp", backend="highs", time_limit=0.001, warm_start=False).solve(problem)
    assert result.status in ("time_limit", "optimal")
    if np.isnan(result.objective):
        assert (result.assignment == -1).all() and "before a solution was found" in result.message
    else:
        assert problem.violations(result.assignment) == []


@pytest.mark.parametrize(("name", "options"), STARTED, ids=[f"{n}-{o['backend']}" for n, o in STARTED])
def test_a_plan_mckp_proves_optimal_is_not_searched_again_unless_a_smaller_gap_is_asked(name: str,
                                                                                       options: dict) -> None:
    problem = seed_shaped(2000)
    mckp = engine.solver("mckp").solve(problem)
    assert mckp.status == "optimal" and mckp.gap_rel > 1e-9
    shortcut = engine.solver(name, **options).solve(problem)
    asked_more = engine.solver(name, gap=1e-10, time_limit=0.5, **options).solve(problem)
    assert "was not run" in shortcut.message and shortcut.status == "optimal"
    assert np.array_equal(shortcut.assignment, mckp.assignment) and shortcut.bound == mckp.bound
    assert "was not run" not in asked_more.message and asked_more.objective >= mckp.objective - 1e-9
