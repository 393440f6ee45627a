"""What the built-in solvers share around a backend: refusing what they cannot do, and turning
what a backend found into an AssignmentResult whose status the plan itself backs up."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, Union

import numpy as np

from engine.errors import DataError
from engine.kinds.solver import AssignmentProblem, AssignmentResult, MILPProblem, MILPResult

FOUND = ("optimal", "feasible", "time_limit")
WarmStart = Union[bool, Literal["hint"]]
"""A MILP backend's `warm_start`: True starts it from `mckp`'s plan and returns no worse; "hint" only gives it
that plan as its start and returns the backend's own result (to see what the backend makes of it); False none."""
MCKP_PROOF = 1e-9
"""The relative gap within which `mckp`'s status "optimal" proves its plan among plans that keep to the budget."""


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


def infeasible_or_unbounded(solve: Callable[[MILPProblem], MILPResult], problem: MILPProblem,
                            said: str) -> tuple[str, str]:
    """Tell infeasible from unbounded for a backend that reported one without knowing which (`said`, its
    words): the same rows with a zero objective are feasible exactly when the model is unbounded."""
    import attrs

    if not problem.c.any():
        return "infeasible", ("no point meets every constraint (with no objective nothing is unbounded; "
                              f"the backend said: {said})")
    check = solve(attrs.evolve(problem, c=np.zeros(problem.num_variables)))
    if check.status in FOUND:
        return "unbounded", f"the objective can grow without limit (the backend said: {said})"
    if check.status == "infeasible":
        return "infeasible", f"no point meets every constraint (the backend said: {said})"
    return "infeasible_or_unbounded", f"the backend said: {said}; a check with a zero objective gave {check.status}"


def mckp_start(problem: AssignmentProblem) -> AssignmentResult | None:
    """`mckp`'s plan and LP bound, the start a MILP backend is given (None when mckp found no plan)."""
    from plugins.solvers.mckp import MCKPSolver

    start = MCKPSolver().solve(problem)
    return start if start.status in FOUND else None


def proven_start(start: AssignmentResult | None, gap: float, backend: str,
                 warm_start: WarmStart = True) -> AssignmentResult | None:
    """`start` as the backend's result when its own bound already proves it within the backend's `gap`, or
    mckp proved it optimal (within MCKP_PROOF of its bound at the budget itself, its reported bound being
    wider by the budget tolerance's worth) and `gap` asks no more: the backend could only confirm it, so it
    is not run (None otherwise, and always for `warm_start` "hint")."""
    import attrs

    if start is None or warm_start == "hint":
        return None
    if not (start.gap_rel <= gap or (start.status == "optimal" and gap >= MCKP_PROOF)):
        return None
    return attrs.evolve(start, backend=backend, status="optimal",
                        message=f"mckp's plan, the start, is within gap {max(gap, MCKP_PROOF):g} of its LP bound "
                                f"at the budget, which proves it (the bound reported also covers the budget's "
                                f"tolerance); {backend} was not run")


def start_x(problem: AssignmentProblem, start: AssignmentResult) -> np.ndarray:
    """The plan as the 0/1 x of `formulation.assignment_milp`."""
    n, k = problem.shape
    x = np.zeros((n, k))
    treated = np.flatnonzero(start.assignment >= 0)
    x[treated, start.assignment[treated]] = 1.0
    return x.ravel()


def no_worse_than(start: AssignmentResult | None, result: AssignmentResult,
                  warm_start: WarmStart = True) -> AssignmentResult:
    """The backend's result, or `start`'s plan where the backend returned none (an "infeasible" that the
    start's checked plan refutes included) or a worse one; the bound is the tighter of the two proven
    bounds, and the status and message say which plan this is. For `warm_start` "hint", the backend's own."""
    import attrs

    if start is None or warm_start == "hint":
        return result
    bounds = [b for b in (result.bound, start.bound) if math.isfinite(b)]
    bound = min(bounds) if bounds else math.nan
    found = result.status in FOUND and math.isfinite(result.objective)
    proven = start.status == "optimal"
    if found and result.objective >= start.objective:
        status = _certified(result.objective, bound, result.status, proven)
        message = result.message if status == result.status else "certified by mckp's LP bound"
        return attrs.evolve(result, bound=bound, status=status, message=message)
    if result.status == "unbounded":
        return result
    said = (f"its best plan scores {result.objective:.10g}" if found
            else f"it found no plan ({result.status}: {result.message or 'no message'}), though mckp's "
                 "plan meets every constraint")
    fallback = "time_limit" if result.status == "time_limit" or "time limit" in result.message else "feasible"
    return attrs.evolve(result, assignment=start.assignment, objective=start.objective, total_cost=start.total_cost,
                        bound=bound, status=_certified(start.objective, bound, fallback, proven),
                        message=f"{result.backend} did not improve on mckp's plan, its start: {said}")


def _certified(objective: float, bound: float, otherwise: str, start_optimal: bool) -> str:
    """"optimal" where the bound proves the objective optimal, or the plan is no worse than a start that
    mckp proved optimal (within its budget tolerance's worth, which its bound includes); `otherwise` else."""
    return "optimal" if start_optimal or bound - objective <= 1e-9 * max(1.0, abs(bound)) else otherwise
