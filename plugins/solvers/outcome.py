"""What the built-in solvers share around a backend: refusing what they cannot do, and turning
what a backend found into an AssignmentResult whose status the plan itself backs up."""

from __future__ import annotations

import math

import numpy as np

from engine.errors import DataError
from engine.kinds.solver import AssignmentProblem, AssignmentResult

FOUND = ("optimal", "feasible", "time_limit")


def assignment_result(
    problem: AssignmentProblem,
    plan: np.ndarray | None,
    *,
    bound: float,
    status: str,
    backend: str,
    build_seconds: float,
    solve_seconds: float,
    message: str = "",
) -> AssignmentResult:
    """Score `plan` in floats and check it; a plan that breaks a constraint is reported, not passed on."""
    n = problem.shape[0]
    if plan is None or status not in FOUND:
        return AssignmentResult(
            np.full(n, -1, dtype=np.int64), math.nan, math.nan, bound, status, backend,
            build_seconds, solve_seconds, message or f"{backend} found no plan ({status})",
        )
    plan = np.asarray(plan, dtype=np.int64)
    objective, spent = problem.evaluate(plan)
    broken = problem.violations(plan)
    if broken:
        status, message = "not_solved", f"{backend} returned a plan that breaks constraints: " + "; ".join(broken)
    return AssignmentResult(plan, objective, spent, bound, status, backend, build_seconds, solve_seconds, message)


def refuse_count_limits(problem: AssignmentProblem, solver: str) -> None:
    """A clear error for a solver that cannot honour per-treatment count limits."""
    if problem.has_count_limits:
        raise DataError(f"the {solver} solver does not handle per-treatment count limits (min_count/max_count); "
                        "use the ortools or pulp solver, which do")
