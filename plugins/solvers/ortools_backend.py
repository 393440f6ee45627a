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
from itertools import repeat
from typing import Literal

import numpy as np

from engine.errors import DataError, OptionError
from engine.kinds.solver import AssignmentProblem, AssignmentResult, MILPProblem, MILPResult
from plugins.solvers.formulation import assignment_milp, plan_from_x, presolve_for
from plugins.solvers.outcome import assignment_result

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
MAX_EXACT_DIGITS = 9
"""CP-SAT needs integer coefficients: rows are scaled by a power of ten up to this many digits."""


class ORToolsSolver:
    """SCIP, CP-SAT, GLOP (the LP relaxation) or HiGHS, chosen by `backend`.

    `time_limit` in seconds (None: none), `gap` the relative gap at which a MIP backend may
    stop, `threads` for the backends that use several (CP-SAT, HiGHS), `presolve` on or off (None:
    the backend's default, except HiGHS on assignment problems, off). CP-SAT gets the model
    scaled to integers and its objective re-scored in floats, its bound widened by the
    rounding so that it stays proven.
    """

    def __init__(self, backend: Backend = "scip", time_limit: float | None = None, gap: float = 1e-9,
                 threads: int | None = None, presolve: bool | None = None) -> None:
        self.backend = backend
        self.time_limit = time_limit
        self.gap = gap
        self.threads = threads
        self.presolve = presolve

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        started = time.perf_counter()
        milp = assignment_milp(problem)
        formulated = time.perf_counter() - started
        solved = self._solve_milp(milp, assignment=True)
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
        return self._solve_milp(problem, assignment=False)

    def _solve_milp(self, problem: MILPProblem, assignment: bool) -> MILPResult:
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
            A, lo, hi = _integer_rows(A, lo, hi, integral)
            c, objective_scale, slack = _integer_objective(c, lb, ub)
            reason = _unreachable_equality(A, lo, hi)
            if reason:
                return MILPResult(None, math.nan, math.nan, "infeasible", "ortools-cp-sat", problem.maximize,
                                  time.perf_counter() - started, 0.0, reason)
        model = mbh.ModelBuilderHelper()
        model.fill_model_from_sparse_data(lb, ub, c, lo, hi, A)
        if self.backend not in LP_ONLY:
            deque(map(model.set_var_integrality, np.flatnonzero(integral).tolist(), repeat(True)), maxlen=0)
        model.set_maximize(problem.maximize)
        built = time.perf_counter()
        self._configure(solver, presolve_for(self.backend, self.presolve, assignment))
        solver.solve(model)
        _STARTED.add(self.backend)
        solved = time.perf_counter()
        status, message = _status(solver, mbh, self.time_limit is not None)
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
        return "infeasible", text or "the backend proved that no plan meets every constraint"
    if code == mbh.SolveStatus.UNBOUNDED:
        return "unbounded", text or "the objective can grow without limit"
    if code == mbh.SolveStatus.NOT_SOLVED and limited:
        return "time_limit", text or "the time limit passed before a solution was found"
    return "not_solved", f"{code.name}: {text}".rstrip(": ")


def _with_status(result: AssignmentResult, status: str, message: str) -> AssignmentResult:
    import attrs

    return attrs.evolve(result, status=status, message=message)


def _decimal_exponent(values: np.ndarray) -> np.ndarray:
    """Per value, the fewest decimal digits (0..MAX_EXACT_DIGITS) that make it an integer; -1 when none do."""
    digits = np.full(values.shape, -1)
    for d in range(MAX_EXACT_DIGITS, -1, -1):
        scaled = values * 10.0**d
        exact = np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))
        digits = np.where(exact, d, digits)
    return digits


def _integer_rows(A, lo: np.ndarray, hi: np.ndarray, integral: np.ndarray) -> tuple:  # noqa: ANN001
    """Each row times the power of ten that makes its coefficients and finite bounds integers."""
    if not integral.all():
        raise DataError("cp-sat needs every variable integer; this model has continuous ones: "
                        "use backend 'scip' or 'highs'")
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    need = np.zeros(A.shape[0], int)
    need_data = _decimal_exponent(A.data)
    np.maximum.at(need, rows, need_data)
    for bounds in (lo, hi):
        finite = np.isfinite(bounds)
        need[finite] = np.maximum(need[finite], _decimal_exponent(bounds[finite]))
    unscalable = np.bincount(rows[need_data < 0], minlength=A.shape[0]) > 0
    for bounds in (lo, hi):
        unscalable[np.isfinite(bounds)] |= _decimal_exponent(bounds[np.isfinite(bounds)]) < 0
    if unscalable.any():
        raise DataError(f"cp-sat needs coefficients with at most {MAX_EXACT_DIGITS} decimals; "
                        f"{int(unscalable.sum())} constraint rows have more (the first is row "
                        f"{int(np.flatnonzero(unscalable)[0])}): use backend 'scip' or 'highs'")
    factor = 10.0**need
    A = A.multiply(factor[:, None]).tocsr()
    A.data = np.round(A.data)
    return A, np.round(lo * factor), np.round(hi * factor)


def _integer_objective(c: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, float, float]:
    """c rounded at a power-of-ten scale that keeps sums exact in doubles, and the most the rounding can move it."""
    reach = np.maximum(np.abs(lb), np.abs(ub))
    if not np.isfinite(reach[c != 0]).all():
        raise DataError("cp-sat needs finite bounds on every variable with an objective coefficient")
    size = float(np.abs(c) @ np.where(c != 0, reach, 0.0))
    digits = min(MAX_EXACT_DIGITS, int(math.floor(math.log10(2.0**52 / size)))) if size > 0 else 0
    scale = 10.0**digits
    rounded = np.round(c * scale)
    slack = float(np.abs(c - rounded / scale) @ np.where(c != 0, reach, 0.0))
    return rounded, scale, slack


def _unreachable_equality(A, lo: np.ndarray, hi: np.ndarray) -> str:  # noqa: ANN001
    """Why an integer equality row cannot hold: its coefficients share a factor that its right-hand side lacks.

    CP-SAT rejects such a model as invalid instead of calling it infeasible, so it is caught here.
    """
    filled = np.flatnonzero(np.diff(A.indptr) > 0)
    if filled.size == 0:
        return ""
    factors = np.gcd.reduceat(np.abs(A.data).astype(np.int64), A.indptr[:-1][filled])
    broken = np.flatnonzero((lo[filled] == hi[filled]) & (np.mod(hi[filled], factors) != 0))
    if broken.size == 0:
        return ""
    r, factor = int(filled[broken[0]]), int(factors[broken[0]])
    return (f"equality row {r} cannot hold in integers: its coefficients (scaled to integers) are all "
            f"multiples of {factor} but its right-hand side {hi[r]:g} is not")
