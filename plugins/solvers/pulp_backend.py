"""PuLP with HiGHS or CBC: the model built from the sparse arrays row by row.

PuLP holds one Python object per variable, per row's expression and per constraint, so that
much cannot be avoided; everything else is done once over whole arrays, and the objects are
made by mapping PuLP's constructors over lists, with no loop body of ours.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import Literal

import numpy as np

from engine.errors import OptionError
from engine.kinds.solver import (FEASIBILITY_TOL, AssignmentProblem, AssignmentResult, MILPProblem, MILPResult,
                                 check_time_limit)
from plugins.solvers.formulation import assignment_milp, plan_from_x, presolve_for
from plugins.solvers.mckp import OVERRUN
from plugins.solvers.outcome import (
    FOUND,
    WarmStart,
    assignment_result,
    infeasible_or_unbounded,
    mckp_start,
    no_worse_than,
    proven_start,
    start_x,
)

Backend = Literal["highs", "cbc"]

PREFERENCE = ("highs", "cbc")
WIDENED = frozenset({"cbc"})
"""Backends given an assignment model's equality rows as two inequalities: CBC calls 1.981223673809933 x + y
== 2.981223673809933 over binaries infeasible (x = y = 1 meets it to the last bit), and any range around it
feasible. `solve_milp` keeps equalities exact (continuous variables would take the slack)."""
WARM_STARTS = frozenset({"highs", "cbc"})
"""Backends given the variables' initial values as a MIP start: CBC through PuLP's .mst file, HiGHS through
`Highs.setSolution` (PuLP's own HiGHS class passes none, so `_started_highs` does)."""
PRESOLVE_VALUE = {"highs": {True: "on", False: "off"}, "cbc": {True: True, False: False}}
"""How each backend's PuLP class takes presolve on or off (HiGHS's option, CBC's argument)."""


class PulpSolver:
    """PuLP's HiGHS (through highspy) or CBC backend; None picks the first available, HiGHS first.

    CBC is PuLP's bundled binary (PULP_CBC_CMD, which PuLP 3.3 marks deprecated for 4.0).

    `time_limit` in seconds (None: none), `gap` the relative gap at which to stop, `presolve` on
    or off (None: the backend's default, except HiGHS on assignment problems, off). With `warm_start`
    an assignment problem is first solved by `mckp`: its plan is the backend's MIP start, and is returned
    where the backend finds none as good, its LP bound tightening the backend's; with "hint" the backend
    always runs from that start and its own result is returned.
    """

    def __init__(self, backend: Backend | None = None, time_limit: float | None = None, gap: float = 1e-9,
                 presolve: bool | None = None, warm_start: WarmStart = True) -> None:
        self.backend = backend
        self.time_limit = check_time_limit(time_limit)
        self.gap = gap
        self.presolve = presolve
        self.warm_start = warm_start

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        started = time.perf_counter()
        start = mckp_start(problem) if self.warm_start else None
        proven = proven_start(start, self.gap, f"pulp-{self.backend or PREFERENCE[0]}", self.warm_start)
        if proven is not None:
            return proven
        milp = assignment_milp(problem)
        formulated = time.perf_counter() - started
        solved = self._solve_milp(milp, assignment=True, hint=None if start is None else start_x(problem, start))
        plan = None if solved.x is None else plan_from_x(problem, solved.x)
        return no_worse_than(start, assignment_result(
            problem, plan, bound=solved.bound, status=solved.status, backend=solved.backend,
            build_seconds=formulated + solved.build_seconds, solve_seconds=solved.solve_seconds,
            message=solved.message,
        ), self.warm_start)

    def solve_milp(self, problem: MILPProblem) -> MILPResult:
        return self._solve_milp(problem, assignment=False)

    def _solve_milp(self, problem: MILPProblem, assignment: bool, hint: np.ndarray | None = None) -> MILPResult:
        import pulp

        backend, solver = self._solver(pulp, assignment, hint is not None)
        started = time.perf_counter()
        model, variables = build_model(pulp, problem, widen_equalities=assignment and backend in WIDENED)
        if hint is not None and backend in WARM_STARTS:
            deque(map(pulp.LpVariable.setInitialValue, variables, hint.tolist()), maxlen=0)
        built = time.perf_counter()
        model.solve(solver)
        solved = time.perf_counter()
        status, message = _status(pulp, model, self.time_limit is not None)
        if status == "infeasible_or_unbounded":
            status, message = infeasible_or_unbounded(lambda check: self._solve_milp(check, assignment), problem,
                                                      message)
        x = None
        if status in FOUND and _holds_solution(model):
            x = _values(variables, problem)
        objective = float(problem.c @ x) if x is not None else math.nan
        bound = _bound(model, backend, status, objective, problem.maximize, self.gap)
        return MILPResult(x, objective, bound, status, f"pulp-{backend}", problem.maximize,
                          built - started, solved - built, message)

    def _solver(self, pulp: object, assignment: bool, warm: bool = False) -> tuple[str, object]:
        options = {"msg": False, "gapRel": self.gap, "timeLimit": self.time_limit}
        makers = {"highs": _started_highs(pulp), "cbc": pulp.PULP_CBC_CMD}
        for name in (self.backend,) if self.backend else PREFERENCE:
            presolve = presolve_for(name, self.presolve, assignment)
            extra = {} if presolve is None else {"presolve": PRESOLVE_VALUE[name][presolve]}
            if warm and name in WARM_STARTS:
                extra["warmStart"] = True
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
                solver = makers[name](**options, **extra)
            if solver.available():
                return name, solver
        wanted = self.backend or " or ".join(PREFERENCE)
        raise OptionError(f"PuLP reports no {wanted} solver available here; "
                          f"PuLP has {pulp.listSolvers(onlyAvailable=True)}: install highspy, or choose another backend")


@functools.cache
def _started_highs(pulp: object) -> type:
    """PuLP's HiGHS class, which with `warmStart=True` (as PuLP's CBC takes it) hands HiGHS every variable's
    initial value as a MIP start (`Highs.setSolution`) before it runs: PuLP's own class passes none."""

    class StartedHiGHS(pulp.HiGHS):
        def __init__(self, *, warmStart: bool = False, **options: object) -> None:  # noqa: N803 (PuLP's name)
            super().__init__(**options)
            self.warm_start = warmStart

        def callSolver(self, lp: object) -> None:  # noqa: N802 (PuLP's name)
            if self.warm_start:
                variables = lp.variables()
                lp.solverModel.setSolution(len(variables), np.array([v.index for v in variables], np.int32),
                                           np.array([v.varValue for v in variables], float))
            super().callSolver(lp)

    return StartedHiGHS


def build_model(pulp: object, problem: MILPProblem, widen_equalities: bool = False) -> tuple[object, list]:
    """A PuLP problem from the MILP's arrays (rows are `<=` or, where lo == hi, `==`), with no
    Python-level loop body of our own.

    Variables come from `add_variable` mapped over the bounds; every row's expression from its
    slice of one list of (variable, coefficient) pairs in CSR order, made before its constraint
    (inside `LpConstraint.__init__` it would cost a Python frame more per row); the constraints
    join the model through `extend`, which leaves collecting their variables to the solve (PuLP
    does that there again anyway, where `addConstraint` would walk every term now as well), and
    are named only by the model's keys, which is where PuLP's HiGHS and MPS writers read names.
    `widen_equalities` writes each equality row as two inequalities half the feasibility tolerance apart.
    """
    with _collector_paused():
        return _build(pulp, problem, widen_equalities)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the model's objects are made: its repeated passes
    over hundreds of thousands of new objects cost more than making them. Collection is only delayed."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(pulp: object, problem: MILPProblem, widen_equalities: bool) -> tuple[object, list]:
    c, A, lo, hi, lb, ub, integral = problem.arrays()
    if widen_equalities:
        A, lo, hi = _widened(A, lo, hi)
    model = pulp.LpProblem("hookyard", pulp.LpMaximize if problem.maximize else pulp.LpMinimize)
    variables = list(map(model.add_variable, [f"x{i}" for i in range(c.size)], _per_item(lb, _pulp_bounds),
                         _per_item(ub, _pulp_bounds), _per_item(integral, _pulp_categories(pulp))))
    column = np.fromiter(variables, dtype=object, count=len(variables))
    nonzero = np.flatnonzero(c)
    model.setObjective(pulp.LpAffineExpression(list(zip(column[nonzero].tolist(), c[nonzero].tolist()))))
    pairs = list(zip(column[A.indices].tolist(), A.data.tolist()))
    terms = map(pairs.__getitem__, map(slice, A.indptr[:-1].tolist(), A.indptr[1:].tolist()))
    senses = _per_item(lo == hi, _pulp_senses(pulp))
    constraints = map(pulp.LpConstraint, map(pulp.LpAffineExpression, terms), senses, repeat(None), hi.tolist())
    model.extend(dict(zip([f"r{r}" for r in range(A.shape[0])], constraints)))
    return model, variables


def _widened(A, lo: np.ndarray, hi: np.ndarray) -> tuple:  # noqa: ANN001
    """Each equality row as a row `<=` its right-hand side plus half its tolerance and one `>=` it less that."""
    import scipy.sparse as sp

    equal = np.flatnonzero(lo == hi)
    slack = OVERRUN * FEASIBILITY_TOL * np.maximum(1.0, np.abs(hi[equal]))
    upper = hi.copy()
    upper[equal] += slack
    lower = np.where(lo == hi, -np.inf, lo)
    return (sp.vstack([A, -A[equal]], format="csr"), np.concatenate([lower, np.full(equal.size, -np.inf)]),
            np.concatenate([upper, slack - lo[equal]]))


def _pulp_bounds(values: np.ndarray) -> np.ndarray:
    """PuLP's bound for each variable: the value, or None where it is infinite."""
    return np.where(np.isfinite(values), values.astype(object), None)


def _pulp_categories(pulp: object) -> Callable[[np.ndarray], np.ndarray]:
    """PuLP's category for each variable from its integrality flag."""
    return lambda integral: np.where(integral, pulp.LpInteger, pulp.LpContinuous).astype(object)


def _pulp_senses(pulp: object) -> Callable[[np.ndarray], np.ndarray]:
    """PuLP's sense for each row from whether its two sides are equal."""
    return lambda equal: np.where(equal, pulp.LpConstraintEQ, pulp.LpConstraintLE).astype(object)


def _per_item(values: np.ndarray, to_pulp: Callable[[np.ndarray], np.ndarray]) -> Iterable[object]:
    """One PuLP value per item, to map a PuLP constructor over: the one value repeated when all agree
    (as in most models; compared in the array's own type), which spares a list of that many objects."""
    if values.size and (values == values[0]).all():
        return repeat(to_pulp(values[:1])[0], values.size)
    return to_pulp(values).tolist()


def _values(variables: list, problem: MILPProblem) -> np.ndarray:
    """x from PuLP's variables; one in no row and not in the objective, which PuLP leaves None (NaN),
    takes the value within its bounds nearest 0 (any value there is optimal)."""
    x = np.array([v.varValue for v in variables], dtype=float)
    free = np.isnan(x)
    if free.any():
        _, _, _, _, lb, ub, integral = problem.arrays()
        lo, hi = np.where(integral, np.ceil(lb), lb), np.where(integral, np.floor(ub), ub)
        x[free] = np.clip(0.0, lo[free], hi[free])
    return x


def _holds_solution(model: object) -> bool:
    """Whether the backend holds a solution: HiGHS says so itself (stopped before it found one, PuLP hands on
    its zeros as values); CBC's solution file holds one whenever PuLP reads values from it."""
    highs = getattr(model, "solverModel", None)
    return highs is None or not hasattr(highs, "getInfo") or highs.getInfo().primal_solution_status != 0


def _status(pulp: object, model: object, limited: bool) -> tuple[str, str]:
    highs = getattr(model, "solverModel", None)
    if highs is not None and hasattr(highs, "getModelStatus"):
        words = highs.modelStatusToString(highs.getModelStatus())
        if "infeasible or unbounded" in words.lower() or "unbounded or infeasible" in words.lower():
            return "infeasible_or_unbounded", f"HiGHS: {words}"
    solution = model.sol_status
    if solution == pulp.LpSolutionOptimal:
        return "optimal", ""
    if solution == pulp.LpSolutionIntegerFeasible:
        return ("time_limit" if limited else "feasible"), "stopped before proving optimality"
    if solution == pulp.LpSolutionInfeasible or model.status == pulp.LpStatusInfeasible:
        return "infeasible", "the backend proved that no plan meets every constraint"
    if solution == pulp.LpSolutionUnbounded:
        return "unbounded", "the objective can grow without limit"
    if limited:
        return "time_limit", "the time limit passed before a solution was found"
    return "not_solved", f"PuLP status {pulp.LpStatus[model.status]}"


def _bound(model: object, backend: str, status: str, objective: float, maximize: bool, gap: float) -> float:
    """HiGHS reports its dual bound (PuLP hands it the negated objective when maximising); CBC through
    PuLP reports none, so its stopping rule's gap stands in."""
    if status not in ("optimal", "feasible", "time_limit"):
        return math.nan
    highs = getattr(model, "solverModel", None)
    if backend == "highs" and highs is not None:
        info = highs.getInfo()
        if model.isMIP():
            return -float(info.mip_dual_bound) if maximize else float(info.mip_dual_bound)
        return objective if status == "optimal" else math.nan
    if status != "optimal":
        return math.nan
    slack = gap * max(1.0, abs(objective))
    return objective + slack if maximize else objective - slack
