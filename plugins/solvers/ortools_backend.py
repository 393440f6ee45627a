"""OR-Tools through its model builder: the whole model filled from sparse arrays in one call.

`ModelBuilderHelper.fill_model_from_sparse_data` takes bounds, objective and a CSR constraint
matrix as numpy arrays, so no Python object is made per variable or constraint. OR-Tools 9.15
has no array call that marks existing variables integer, so integrality is set by mapping
the C++ setter over the integer columns (about 0.3 µs each, no Python-level model objects).
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from fractions import Fraction
from itertools import repeat
from typing import Literal

import numpy as np

from engine.errors import DataError, OptionError
from engine.kinds.solver import (FEASIBILITY_TOL, AssignmentProblem, AssignmentResult, MILPProblem, MILPResult,
                                 check_time_limit)
from plugins.solvers.formulation import assignment_milp, plan_from_x, presolve_for
from plugins.solvers.outcome import (
    WarmStart,
    assignment_result,
    infeasible_or_unbounded,
    mckp_start,
    no_worse_than,
    proven_start,
    start_x,
)

Backend = Literal["scip", "cp-sat", "glop", "highs"]

_STARTED: set[str] = set()
"""Backends that have solved in this process (OR-Tools' HiGHS must start before highspy loads)."""

NATIVE_NAMES = {"scip": "scip", "cp-sat": "sat", "glop": "glop", "highs": "highs"}
LP_ONLY = frozenset({"glop"})
PRESOLVE_PARAMETER = {
    "scip": {True: "presolving/maxrounds = -1", False: "presolving/maxrounds = 0"},
    "cp-sat": {True: "cp_model_presolve:true", False: "cp_model_presolve:false"},
    "glop": {True: "use_preprocessing:true", False: "use_preprocessing:false"},
    "highs": {True: "presolve=on", False: "presolve=off"},
}
"""Each backend's own parameter that turns presolve on or off."""
HINTED = frozenset({"scip", "cp-sat"})
"""Backends given mckp's plan as a hint: OR-Tools 9.15's HiGHS crashes the process (a segfault) on one."""
INFEASIBLE = "the backend proved that no plan meets every constraint"
MAX_EXACT_DIGITS = 9
"""The objective is scaled by a power of ten up to this many digits (and rounded, its bound widened)."""
MAX_DENOMINATOR = 10**9
"""CP-SAT needs integer rows: each is scaled by the common denominator of its numbers, each at most this."""
MAX_EXACT_INTEGER = 2.0**53
"""A scaled row's terms and bounds together stay below this, so they are exact in doubles and int64."""


class ORToolsSolver:
    """SCIP, CP-SAT, GLOP (the LP relaxation) or HiGHS, chosen by `backend`.

    `time_limit` in seconds (None: none), `gap` the relative gap at which a MIP backend may
    stop, `threads` for the backends that use several (CP-SAT, HiGHS), `presolve` on or off (None:
    the backend's default, except HiGHS on assignment problems, off). With `warm_start` an assignment
    problem is first solved by `mckp`, whose plan is the backend's hint and is returned where the backend
    finds none as good, its LP bound tightening the backend's; with "hint" the backend always runs from
    that hint and its own result is returned. CP-SAT gets the model
    scaled to integers and its objective re-scored in floats, its bound widened by the
    rounding so that it stays proven.
    """

    def __init__(self, backend: Backend = "scip", time_limit: float | None = None, gap: float = 1e-9,
                 threads: int | None = None, presolve: bool | None = None, warm_start: WarmStart = True) -> None:
        self.backend = backend
        self.time_limit = check_time_limit(time_limit)
        self.gap = gap
        self.threads = threads
        self.presolve = presolve
        self.warm_start = warm_start

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        started = time.perf_counter()
        start = mckp_start(problem) if self.warm_start else None
        proven = proven_start(start, self.gap, f"ortools-{self.backend}", self.warm_start)
        if proven is not None:
            return proven
        milp = assignment_milp(problem)
        formulated = time.perf_counter() - started
        hint = None if start is None else start_x(problem, start)
        return no_worse_than(start, self._solve_assignment(problem, milp, hint, formulated), self.warm_start)

    def _solve_assignment(self, problem: AssignmentProblem, milp: MILPProblem, hint: np.ndarray | None,
                          formulated: float) -> AssignmentResult:
        solved = self._solve_milp(milp, assignment=True, hint=hint)
        lp = self.backend in LP_ONLY
        plan = None if solved.x is None else plan_from_x(problem, solved.x, threshold=1 - 1e-6 if lp else 0.5)
        result = assignment_result(
            problem, plan, bound=solved.bound, status=solved.status, backend=f"ortools-{self.backend}",
            build_seconds=formulated + solved.build_seconds, solve_seconds=solved.solve_seconds,
            message=solved.message,
        )
        if lp and result.status == "optimal" and result.gap_rel > 1e-9:
            return _with_status(result, "feasible", "the LP relaxation's plan, fractional units left untreated")
        return result

    def solve_milp(self, problem: MILPProblem) -> MILPResult:
        if self.backend in LP_ONLY and problem.integrality is not None and problem.integrality.any():
            raise DataError(f"{self.backend} solves linear programs only, and this model has "
                            f"{int((problem.integrality != 0).sum())} integer variables: use backend 'scip', "
                            "'highs' or 'cp-sat', or give no integrality to solve the relaxation")
        return self._solve_milp(problem, assignment=False)

    def _solve_milp(self, problem: MILPProblem, assignment: bool, hint: np.ndarray | None = None) -> MILPResult:
        from ortools.linear_solver.python import model_builder_helper as mbh

        solver = mbh.ModelSolverHelper(NATIVE_NAMES[self.backend])
        if not solver.solver_is_supported():
            raise OptionError(f"the installed ortools wheel has no {self.backend} backend; "
                              f"choose another backend of {list(NATIVE_NAMES)}")
        if self.backend == "highs" and "highs" not in _STARTED and "highspy" in sys.modules:
            raise OptionError(
                "OR-Tools' HiGHS cannot start in a process that has already loaded highspy (PuLP's HiGHS): "
                "the two builds collide and crash the process. Use ortools backend 'scip' or 'cp-sat', or "
                "pulp's HiGHS, here; or use OR-Tools' HiGHS before PuLP in the process."
            )
        started = time.perf_counter()
        c, A, lo, hi, lb, ub, integral = problem.arrays()
        objective_scale, slack = 1.0, 0.0
        if self.backend == "cp-sat":
            A, lo, hi = _integer_rows(A, lo, hi, lb, ub, integral)
            c, objective_scale, slack = _integer_objective(c, lb, ub)
            reason = _unreachable_equality(A, lo, hi)
            if reason:
                return MILPResult(None, math.nan, math.nan, "infeasible", "ortools-cp-sat", problem.maximize,
                                  time.perf_counter() - started, 0.0, reason)
        model = mbh.ModelBuilderHelper()
        model.fill_model_from_sparse_data(lb, ub, c, lo, hi, A)
        if self.backend not in LP_ONLY:
            deque(map(model.set_var_integrality, np.flatnonzero(integral).tolist(), repeat(True)), maxlen=0)
            if hint is not None and self.backend in HINTED:
                deque(map(model.add_hint, range(hint.size), hint.tolist()), maxlen=0)
        model.set_maximize(problem.maximize)
        built = time.perf_counter()
        self._configure(solver, presolve_for(self.backend, self.presolve, assignment))
        solver.solve(model)
        _STARTED.add(self.backend)
        solved = time.perf_counter()
        status, message = _status(solver, mbh, self.time_limit is not None)
        if status == "infeasible" and (self.backend in LP_ONLY or "unbounded" in message.lower()):
            said = (message if message != INFEASIBLE
                    else f"{self.backend}: infeasible (it says so for unbounded models too)")
            status, message = infeasible_or_unbounded(lambda check: self._solve_milp(check, assignment), problem, said)
        x = np.asarray(solver.variable_values(), float) if solver.has_solution() else None
        objective = float(problem.c @ x) if x is not None else math.nan
        if self.backend in LP_ONLY:
            bound = objective if status == "optimal" else math.nan
        elif x is not None:
            bound = float(solver.best_objective_bound()) / objective_scale
            bound += slack if problem.maximize else -slack
        else:
            bound = math.nan
        return MILPResult(x, objective, bound, status, f"ortools-{self.backend}", problem.maximize,
                          built - started, solved - built, message)

    def _configure(self, solver: object, presolve: bool | None) -> None:
        if self.time_limit is not None:
            solver.set_time_limit_in_seconds(float(self.time_limit))
        params = {
            "scip": [f"limits/gap = {self.gap!r}"],
            "cp-sat": [f"relative_gap_limit:{self.gap!r}"] + ([f"num_workers:{self.threads}"] if self.threads else []),
            "highs": ["output_flag=false", f"mip_rel_gap={self.gap!r}"] + ([f"threads={self.threads}"] if self.threads else []),
            "glop": [],
        }[self.backend]
        if presolve is not None:
            params.append(PRESOLVE_PARAMETER[self.backend][presolve])
        if params:
            solver.set_solver_specific_parameters("\n".join(params))


def _status(solver: object, mbh: object, limited: bool) -> tuple[str, str]:
    code = solver.status()
    text = solver.status_string()
    if code == mbh.SolveStatus.OPTIMAL:
        return "optimal", ""
    if code == mbh.SolveStatus.FEASIBLE:
        return ("time_limit" if limited else "feasible"), text
    if code == mbh.SolveStatus.INFEASIBLE:
        return "infeasible", text or INFEASIBLE
    if code == mbh.SolveStatus.UNBOUNDED:
        return "unbounded", text or "the objective can grow without limit"
    if code == mbh.SolveStatus.NOT_SOLVED and limited:
        return "time_limit", text or "the time limit passed before a solution was found"
    return "not_solved", f"{code.name}: {text}".rstrip(": ")


def _with_status(result: AssignmentResult, status: str, message: str) -> AssignmentResult:
    import attrs

    return attrs.evolve(result, status=status, message=message)


def _denominators(values: np.ndarray) -> np.ndarray:
    """Per value, the smallest denominator q <= MAX_DENOMINATOR with p/q exactly that float; 0 when none.

    The float must be the double nearest p/q, so 0.1 is 1/10 and 2/3 is 2/3, but a value with more
    digits than a small denominator holds gets 0 and is refused, never rounded.
    """
    unique, inverse = np.unique(values, return_inverse=True)
    found = np.zeros(unique.size, dtype=np.int64)
    for i, v in enumerate(unique.tolist()):
        fraction = Fraction(v).limit_denominator(MAX_DENOMINATOR)
        found[i] = fraction.denominator if float(fraction) == v else 0
    return found[inverse.reshape(-1)].reshape(values.shape)


def _integer_rows(A, lo: np.ndarray, hi: np.ndarray, lb: np.ndarray, ub: np.ndarray,  # noqa: ANN001
                  integral: np.ndarray) -> tuple:
    """Each row times the least common denominator of its coefficients and finite bounds: exact integers.

    A row is refused when one of its numbers is no fraction with a denominator up to MAX_DENOMINATOR,
    or when its scaled terms could reach MAX_EXACT_INTEGER (no longer exact in doubles).
    """
    if not integral.all():
        raise DataError("cp-sat needs every variable integer; this model has continuous ones: "
                        "use backend 'scip' or 'highs'")
    m = A.shape[0]
    rows = np.repeat(np.arange(m), np.diff(A.indptr))
    reach = np.maximum(np.abs(lb), np.abs(ub))[A.indices]
    reach = np.where(np.isfinite(reach), np.maximum(reach, 1.0), 1.0)
    entries = [(rows, _denominators(A.data))]
    for bounds in (lo, hi):
        finite = np.flatnonzero(np.isfinite(bounds))
        entries.append((finite, _denominators(bounds[finite])))
    factor = np.ones(m, dtype=object)
    for where, denominators in entries:
        for r, q in zip(where.tolist(), denominators.tolist()):
            factor[r] = math.lcm(factor[r], q) if q else 0
    size = np.bincount(rows, weights=np.abs(A.data) * reach, minlength=m)
    for bounds in (lo, hi):
        size = size + np.where(np.isfinite(bounds), np.abs(bounds), 0.0)
    scaled = np.array([float(f) for f in factor]) * size
    unscalable = (factor == 0) | ~(scaled < MAX_EXACT_INTEGER)
    if unscalable.any():
        first = int(np.flatnonzero(unscalable)[0])
        raise DataError(f"cp-sat needs integer coefficients: each constraint row is scaled by the common "
                        f"denominator of its numbers, which must be fractions with denominators up to "
                        f"{MAX_DENOMINATOR} (at most 9 decimals) small enough together; {int(unscalable.sum())} "
                        f"rows are not (the first is row {first}), so they cannot be scaled exactly: round "
                        f"the costs, or use backend 'scip' or 'highs'")
    factor = factor.astype(float)
    A = A.multiply(factor[:, None]).tocsr()
    A.data = np.round(A.data)
    return A, _scaled_side(lo, factor, np.ceil, -1.0), _scaled_side(hi, factor, np.floor, 1.0)


def _scaled_side(bounds: np.ndarray, factor: np.ndarray, rounded: object, sign: float) -> np.ndarray:
    """A row side times its factor, widened by the feasibility tolerance as `violations` allows it, to an integer.

    An equality row keeps its one integer where the tolerance reaches no other; it becomes a range otherwise.
    """
    exact = np.round(bounds * factor)
    widened = rounded((bounds + sign * FEASIBILITY_TOL * np.maximum(1.0, np.abs(bounds))) * factor)
    return np.where(np.isfinite(bounds), np.maximum(exact, widened) if sign > 0 else np.minimum(exact, widened), bounds)


def _integer_objective(c: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, float, float]:
    """c rounded at a power-of-ten scale that keeps sums exact in doubles, and the most the rounding can move it."""
    reach = np.maximum(np.abs(lb), np.abs(ub))
    if not np.isfinite(reach[c != 0]).all():
        raise DataError("cp-sat needs finite bounds on every variable with an objective coefficient")
    size = float(np.abs(c) @ np.where(c != 0, reach, 0.0))
    digits = min(MAX_EXACT_DIGITS, math.floor(52 * math.log10(2.0) - math.log10(size))) if size > 0 else 0
    scale = 10.0**digits
    rounded = np.round(c * scale)
    slack = float(np.abs(c - rounded / scale) @ np.where(c != 0, reach, 0.0))
    return rounded, scale, slack


def _unreachable_equality(A, lo: np.ndarray, hi: np.ndarray) -> str:  # noqa: ANN001
    """Why an integer row cannot hold: its coefficients share a factor that no value between its sides has.

    CP-SAT rejects such a model as invalid instead of calling it infeasible, so it is caught here.
    """
    filled = np.flatnonzero(np.diff(A.indptr) > 0)
    if filled.size == 0:
        return ""
    factors = np.gcd.reduceat(np.abs(A.data).astype(np.int64), A.indptr[:-1][filled])
    broken = np.flatnonzero(np.floor(hi[filled] / factors) < np.ceil(lo[filled] / factors))
    if broken.size == 0:
        return ""
    r, factor = int(filled[broken[0]]), int(factors[broken[0]])
    return (f"row {r} cannot hold in integers: its coefficients (scaled to integers) are all multiples of "
            f"{factor} but no multiple lies between its sides {lo[r]:g} and {hi[r]:g}")
