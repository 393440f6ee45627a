"""The solver contract: at most one treatment per unit, maximising value under a budget.

A solver takes an `AssignmentProblem` (values and costs of each unit's treatments, a budget)
and returns an `AssignmentResult` with a plan and a proven upper bound, so every plan comes
with a certified gap. Solvers declaring the "milp" capability also solve a general sparse
`MILPProblem` through `solve_milp`; those declaring "partitions" also solve a `PartitionedProblem`
(units in partitions, each loaded only when needed) through `solve_partitioned`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from engine.errors import DataError, OptionError
from engine.flow import Flow

STATUSES = ("optimal", "feasible", "infeasible", "time_limit", "unbounded", "infeasible_or_unbounded", "not_solved")
"""Every status a result can carry: `infeasible_or_unbounded` where the backend could not tell which (the
message passes on its words); `not_solved` means no plan was found (the message says why)."""

FEASIBILITY_TOL = 1e-6
"""Constraint violations up to this much (relative to the right-hand side, at least 1) are allowed."""


NOT_REAL = {"c": "complex numbers", "m": "time spans", "M": "dates", "V": "records"}
"""Array kinds that numpy would cast to float while losing meaning (an imaginary part, a unit): refused."""


def _floats(value: Any, field: attrs.Attribute) -> Any:
    """`value` as a float array, or a DataError naming the field for strings, ragged rows, missing
    values, numbers too large for a float, or complex numbers, dates and records."""
    import numpy as np

    try:
        raw = np.asarray(value)
        if raw.dtype.kind in NOT_REAL:
            raise ValueError(f"it holds {NOT_REAL[raw.dtype.kind]} ({raw.dtype}); give real numbers")
        if raw.dtype.kind in "USO" and any(isinstance(v, (str, bytes)) for v in raw.ravel().tolist()):
            raise ValueError("it holds strings")
        return raw.astype(float)
    except OverflowError:
        raise DataError(f"{field.name} holds a number too large for a float (at most about 1.8e308); "
                        "scale the values down") from None
    except (TypeError, ValueError) as exc:
        raise DataError(f"{field.name} must be numbers in a regular array (rows all as long; no strings, None or "
                        f"pandas NA: fill or drop those first), got {type(value).__name__}: {exc}") from None


def _optional_floats(value: Any, field: attrs.Attribute) -> Any:
    return None if value is None else _floats(value, field)


def _optional_matrix(value: Any, field: attrs.Attribute) -> Any:
    """A scipy sparse matrix is kept as it is; anything else becomes a dense float array."""
    if value is None or hasattr(value, "tocsr"):
        return value
    return _floats(value, field)


def _number(value: Any, field: attrs.Attribute) -> float:
    """A real number as a float; None, strings, booleans and pandas NA are a DataError."""
    try:
        if value is None or isinstance(value, (str, bytes, bool)):
            raise TypeError(type(value).__name__)
        return float(value)
    except OverflowError:
        raise DataError(f"{field.name} is too large for a float (at most about 1.8e308); scale it down") from None
    except (TypeError, ValueError):
        raise DataError(f"{field.name} must be a number, got {value!r:.80} ({type(value).__name__})") from None


def _flag(instance: Any, field: attrs.Attribute, value: Any) -> None:
    """True or False only: the string "False" is a DataError, not a truthy flag."""
    import numpy as np

    if not isinstance(value, (bool, np.bool_)):
        raise DataError(f"{field.name} must be True or False, got {value!r:.80} ({type(value).__name__})")


_MATRIX = attrs.Converter(_floats, takes_field=True)
_OPTIONAL = attrs.Converter(_optional_floats, takes_field=True)
_OPTIONAL_MATRIX = attrs.Converter(_optional_matrix, takes_field=True)
_NUMBER = attrs.Converter(_number, takes_field=True)


def _sense(value: str) -> str:
    senses = {"<=": "<=", "le": "<=", "max": "<=", "==": "==", "=": "==", "eq": "=="}
    try:
        return senses[str(value).strip().lower()]
    except KeyError:
        raise DataError(f"budget_sense {value!r:.80} is not known: use '<=' (spend at most the budget) "
                        "or '==' (spend exactly the budget)") from None


def _check_finite(name: str, array: Any) -> None:
    import numpy as np

    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{name} has {int(bad.sum())} NaN or infinite entries (the first at index {first}); "
                        f"fill or drop them before solving (a None or JSON null is NaN)")


def tolerance(rhs: float) -> float:
    """The feasibility tolerance for a constraint whose right-hand side is `rhs`."""
    return FEASIBILITY_TOL * max(1.0, abs(rhs))


def check_time_limit(seconds: Any, name: str = "time_limit") -> float | None:
    """A solver's time limit as a float: None (no limit) or a finite number of seconds > 0, else an OptionError."""
    if seconds is None:
        return None
    try:
        value = math.nan if isinstance(seconds, (bool, str, bytes)) else float(seconds)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise OptionError(f"{name} must be a finite number of seconds > 0 (leave it out for no limit), "
                          f"got {seconds!r:.40}")
    return value


@attrs.frozen(eq=False)
class AssignmentProblem:
    """Choose at most one of K treatments for each of n units, maximising the total score.

    `values` is (n, K); `costs` is (n, K) or one cost per treatment (K,). The score of giving unit
    i treatment j is `values - costs` (objective "net", as the seed article) or `values` alone
    (objective "value"). Total cost must be at most the budget (sense "<=") or exactly it ("==").
    `min_count`/`max_count` (K,) bound how many units get each treatment (None: no limit; NaN
    entries: no limit for that treatment). `allow_none=False` gives every unit some treatment.
    A "<=" budget above what the dearest plan can spend (infinity included) cannot bind: `budget`
    is lowered to that spend (plus the feasibility tolerance), so every solver sees a finite one.
    """

    values: Any = attrs.field(converter=_MATRIX)
    costs: Any = attrs.field(converter=_MATRIX)
    budget: float = attrs.field(converter=_NUMBER)
    budget_sense: Literal["<=", "=="] = attrs.field(default="<=", converter=_sense)
    min_count: Any = attrs.field(default=None, converter=_OPTIONAL)
    max_count: Any = attrs.field(default=None, converter=_OPTIONAL)
    objective: Literal["net", "value"] = "net"
    allow_none: bool = attrs.field(default=True, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[0] < 1 or self.values.shape[1] < 1:
            raise DataError(f"values must be a 2-d array (units x treatments) with at least one of each, "
                            f"got shape {self.values.shape}")
        n, k = self.values.shape
        if self.costs.shape not in ((k,), (n, k)):
            raise DataError(f"costs must have shape ({k},) (one per treatment) or ({n}, {k}) like values, "
                            f"got {self.costs.shape}")
        _check_finite("values", self.values)
        _check_finite("costs", self.costs)
        if math.isnan(self.budget) or self.budget < 0 or (math.isinf(self.budget) and self.budget_sense == "=="):
            raise DataError(f"budget must be a finite number >= 0 (or, spent at most, inf for no limit), "
                            f"got {self.budget} with budget_sense '{self.budget_sense}'")
        if self.budget_sense == "<=":
            object.__setattr__(self, "budget", min(self.budget, self._dearest_spend()))
        if self.objective not in ("net", "value"):
            raise DataError(f"objective {self.objective!r:.80} is not known: use 'net' (value minus cost) or 'value'")
        for name in ("min_count", "max_count"):
            counts = getattr(self, name)
            if counts is not None and counts.shape != (k,):
                raise DataError(f"{name} must have one entry per treatment ({k}), got shape {counts.shape}")
            if counts is not None and (counts[~_isnan(counts)] < 0).any():
                raise DataError(f"{name} must not be negative, got {counts.tolist()}")

    def _dearest_spend(self) -> float:
        """The most any plan can spend (every unit at its dearest allowed option) plus the tolerance, at least 0."""
        import numpy as np

        dearest = self.costs.max(axis=-1)
        if self.allow_none:
            dearest = np.maximum(dearest, 0.0)
        spend = float(dearest.sum()) if self.costs.ndim == 2 else float(dearest) * self.shape[0]
        return max(spend + tolerance(spend), 0.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def cost_matrix(self) -> Any:
        """Costs as an (n, K) array (a read-only broadcast view when given per treatment)."""
        import numpy as np

        return np.broadcast_to(self.costs, self.values.shape)

    @property
    def scores(self) -> Any:
        """What each (unit, treatment) adds to the objective."""
        return self.values - self.cost_matrix if self.objective == "net" else self.values

    @property
    def has_count_limits(self) -> bool:
        return any(c is not None and not _isnan(c).all() for c in (self.min_count, self.max_count))

    def count_range(self) -> tuple[Any, Any]:
        """The fewest and the most units each treatment may get, in whole units within the feasibility
        tolerance (0 and inf where there is no limit): a maximum of 7958.9999999999, as 0.7 * 11370
        computes, allows 7959."""
        import numpy as np

        k = self.shape[1]
        fewest, most = np.zeros(k), np.full(k, np.inf)
        for limits, bound, rounded, sign in ((self.min_count, fewest, np.ceil, -1.0),
                                             (self.max_count, most, np.floor, 1.0)):
            if limits is not None:
                given = ~_isnan(limits)
                bound[given] = rounded(limits[given] + sign * FEASIBILITY_TOL * np.maximum(1.0, np.abs(limits[given])))
        return fewest, most

    def evaluate(self, assignment: Any) -> tuple[float, float]:
        """(objective, total cost) of a plan: `assignment[i]` is a treatment index or -1 for none."""
        import numpy as np

        assignment = np.asarray(assignment)
        rows = np.flatnonzero(assignment >= 0)
        cols = assignment[rows]
        return float(self.scores[rows, cols].sum()), float(self.cost_matrix[rows, cols].sum())

    def violations(self, assignment: Any) -> list[str]:
        """What a plan breaks (empty when it is feasible), within the feasibility tolerance."""
        import numpy as np

        assignment = np.asarray(assignment)
        n, k = self.shape
        if assignment.shape != (n,) or not np.issubdtype(assignment.dtype, np.integer):
            return [f"the plan must be {n} integers, got {assignment.dtype} of shape {assignment.shape}"]
        if ((assignment < -1) | (assignment >= k)).any():
            return [f"the plan has treatment indices outside -1..{k - 1}"]
        problems = []
        if not self.allow_none and (assignment < 0).any():
            problems.append(f"{int((assignment < 0).sum())} units have no treatment but every unit must have one")
        _, spent = self.evaluate(assignment)
        tol = tolerance(self.budget)
        if spent > self.budget + tol or (self.budget_sense == "==" and spent < self.budget - tol):
            word = "exactly" if self.budget_sense == "==" else "at most"
            problems.append(f"the plan spends {spent:.10g} but must spend {word} {self.budget:.10g}")
        counts = np.bincount(assignment[assignment >= 0], minlength=k)
        fewest, most = self.count_range()
        for name, limits, breaks in (("minimum", self.min_count, counts < fewest),
                                     ("maximum", self.max_count, counts > most)):
            if limits is not None:
                bad = np.flatnonzero(breaks)
                problems.extend(f"treatment {j} is given {counts[j]} times; its {name} is {limits[j]:g}" for j in bad)
        return problems


def _load_checked(problem: PartitionedProblem, i: int) -> tuple[Any, Any]:
    import numpy as np

    values, costs = problem.parts[i]()
    values, costs = np.asarray(values, dtype=float), np.asarray(costs, dtype=float)
    if values.ndim != 2 or values.shape[0] != problem.sizes[i]:
        raise DataError(f"partition {i} should hold {problem.sizes[i]} units but its values have shape {values.shape}; "
                        "give `sizes` in the order of `parts`")
    if problem.treatments is not None and values.shape[1] != problem.treatments:
        raise DataError(f"partition {i} has {values.shape[1]} treatments but the problem has {problem.treatments}")
    return values, costs


@attrs.frozen
class _Slice:
    """A loader for units start:stop of in-memory arrays (costs per treatment passed whole)."""

    values: Any
    costs: Any
    start: int
    stop: int

    def __call__(self) -> tuple[Any, Any]:
        costs = self.costs if self.costs.ndim == 1 else self.costs[self.start:self.stop]
        return self.values[self.start:self.stop], costs


@attrs.frozen(eq=False)
class PartitionedProblem:
    """An AssignmentProblem whose units come in partitions, each loaded only when needed.

    `parts[i]()` returns (values (sizes[i], K), costs (K,) or (sizes[i], K)) for partition i's
    units; the partitions in order make the whole problem. The budget, count limits, objective and
    `allow_none` are global, as in `AssignmentProblem`. `treatments` (K) is read from the first
    partition when not given.
    """

    parts: tuple[Callable[[], tuple[Any, Any]], ...] = attrs.field(converter=tuple)
    sizes: tuple[int, ...] = attrs.field(converter=lambda sizes: tuple(int(s) for s in sizes))
    budget: float = attrs.field(converter=_NUMBER)
    budget_sense: Literal["<=", "=="] = attrs.field(default="<=", converter=_sense)
    min_count: Any = attrs.field(default=None, converter=_OPTIONAL)
    max_count: Any = attrs.field(default=None, converter=_OPTIONAL)
    objective: Literal["net", "value"] = "net"
    allow_none: bool = attrs.field(default=True, validator=_flag)
    treatments: int | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.parts or len(self.parts) != len(self.sizes):
            raise DataError(f"give one size per partition and at least one partition, got {len(self.parts)} "
                            f"partitions and {len(self.sizes)} sizes")
        if min(self.sizes) < 1:
            raise DataError(f"every partition must hold at least one unit, got sizes {list(self.sizes)}")
        if not math.isfinite(self.budget) or self.budget < 0:
            raise DataError(f"budget must be a finite number >= 0, got {self.budget}; for no budget limit, give "
                            "one above what every unit's dearest treatment costs in all")
        if self.objective not in ("net", "value"):
            raise DataError(f"objective {self.objective!r:.80} is not known: use 'net' (value minus cost) or 'value'")

    @classmethod
    def from_arrays(cls, values: Any, costs: Any, budget: float, parts: int | Sequence[int] = 1,
                    **settings: Any) -> PartitionedProblem:
        """In-memory arrays split into `parts` partitions of nearly equal size, or of the sizes given."""
        import numpy as np

        values, costs = np.asarray(values, dtype=float), np.asarray(costs, dtype=float)
        n = values.shape[0] if values.ndim == 2 else 0
        if isinstance(parts, int):
            if not 1 <= parts <= max(n, 1):
                raise DataError(f"parts must be between 1 and the {n} units, got {parts}")
            sizes = [len(chunk) for chunk in np.array_split(np.arange(n), parts)]
        else:
            sizes = [int(s) for s in parts]
            if sum(sizes) != n:
                raise DataError(f"the partition sizes add up to {sum(sizes)}, not to the {n} units")
        stops = np.cumsum(sizes).tolist()
        loaders = [_Slice(values, costs, stop - size, stop) for size, stop in zip(sizes, stops)]
        return cls(loaders, sizes, budget, treatments=values.shape[1] if values.ndim == 2 else None, **settings)

    @property
    def shape(self) -> tuple[int, int]:
        k = self.treatments if self.treatments is not None else _load_checked(self, 0)[0].shape[1]
        return sum(self.sizes), k

    @property
    def has_count_limits(self) -> bool:
        return any(c is not None and not _isnan(c).all() for c in (self.min_count, self.max_count))

    def _problem(self, values: Any, costs: Any) -> AssignmentProblem:
        return AssignmentProblem(values, costs, self.budget, self.budget_sense, self.min_count, self.max_count,
                                 self.objective, self.allow_none)

    def part(self, i: int) -> AssignmentProblem:
        """Partition i as an AssignmentProblem with the global budget and settings (validated as usual)."""
        return self._problem(*_load_checked(self, i))

    def whole(self) -> AssignmentProblem:
        """Every partition concatenated: what a solver without partition support gets."""
        import numpy as np

        loaded = [_load_checked(self, i) for i in range(len(self.parts))]
        costs = [c for _, c in loaded]
        if all(c.ndim == 1 for c in costs) and all(np.array_equal(c, costs[0]) for c in costs):
            whole_costs = costs[0]
        else:
            whole_costs = np.concatenate([np.broadcast_to(c, v.shape) for v, c in loaded])
        return self._problem(np.concatenate([v for v, _ in loaded]), whole_costs)

    def evolve(self, **changes: Any) -> PartitionedProblem:
        """The same partitions with other settings (budget, budget_sense, objective, ...)."""
        return attrs.evolve(self, **changes)


def _isnan(array: Any) -> Any:
    import numpy as np

    return np.isnan(array)


def _gaps(objective: float, bound: float, maximize: bool) -> tuple[float, float]:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.nan, math.nan
    gap = bound - objective if maximize else objective - bound
    scale = max(abs(objective), abs(bound))
    return gap, (abs(gap) / scale if scale > 0 else 0.0)


def _plain(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@attrs.frozen(eq=False)
class AssignmentResult:
    """A plan and what is proven about it.

    `assignment` (n,) holds a treatment index per unit, -1 for none. `bound` is a proven upper
    bound on the optimum, so `gap_abs` = bound - objective certifies how far the plan can be from
    the best one. `objective` is NaN when no plan was found (status infeasible or not_solved).
    """

    assignment: Any
    objective: float
    total_cost: float
    bound: float
    status: str
    backend: str
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    message: str = ""

    @property
    def gap_abs(self) -> float:
        return _gaps(self.objective, self.bound, True)[0]

    @property
    def gap_rel(self) -> float:
        return _gaps(self.objective, self.bound, True)[1]

    def summary(self) -> dict[str, Any]:
        """Everything but the plan itself, as plain JSON-able data (None for NaN or infinity)."""
        return {
            "status": self.status,
            "backend": self.backend,
            "objective": _plain(self.objective),
            "bound": _plain(self.bound),
            "gap_abs": _plain(self.gap_abs),
            "gap_rel": _plain(self.gap_rel),
            "total_cost": _plain(self.total_cost),
            "build_seconds": self.build_seconds,
            "solve_seconds": self.solve_seconds,
            "message": self.message,
        }


@attrs.frozen(eq=False)
class MILPProblem:
    """A general sparse mixed-integer linear program, in scipy.optimize's conventions.

    Minimise (or, with `maximize`, maximise) c @ x subject to A_ub @ x <= b_ub, A_eq @ x == b_eq,
    lb <= x <= ub (infinite entries allowed) and x[j] integer where `integrality[j]`. The
    matrices may be dense arrays or scipy sparse matrices.
    """

    c: Any = attrs.field(converter=_MATRIX)
    A_ub: Any = attrs.field(default=None, converter=_OPTIONAL_MATRIX)
    b_ub: Any = attrs.field(default=None, converter=_OPTIONAL)
    A_eq: Any = attrs.field(default=None, converter=_OPTIONAL_MATRIX)
    b_eq: Any = attrs.field(default=None, converter=_OPTIONAL)
    lb: Any = attrs.field(default=None, converter=_OPTIONAL)
    ub: Any = attrs.field(default=None, converter=_OPTIONAL)
    integrality: Any = attrs.field(default=None, converter=_OPTIONAL)
    maximize: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        n = self.c.shape[0] if self.c.ndim == 1 else -1
        if n < 1:
            raise DataError(f"c must be a 1-d array with one entry per variable, got shape {self.c.shape}")
        _check_finite("c", self.c)
        for a, b, name in ((self.A_ub, self.b_ub, "ub"), (self.A_eq, self.b_eq, "eq")):
            if (a is None) != (b is None):
                raise DataError(f"give A_{name} and b_{name} together, or neither")
            if a is not None and (a.ndim != 2 or a.shape != (b.shape[0], n)):
                raise DataError(f"A_{name} must have shape ({b.shape[0]}, {n}) (len(b_{name}) x len(c)), got {a.shape}")
            if b is not None:
                _check_finite(f"b_{name}", b)
        for name in ("lb", "ub", "integrality"):
            value = getattr(self, name)
            if value is not None and value.shape not in ((), (n,)):
                raise DataError(f"{name} must be one number or one entry per variable ({n}), got shape {value.shape}")
        if self.integrality is not None and not ((self.integrality == 0) | (self.integrality == 1)).all():
            raise DataError("integrality takes 0 (continuous) or 1 (integer) per variable; semi-continuous (2) "
                            f"and semi-integer (3) variables are not supported, got {self.integrality.tolist()}")
        for name in ("lb", "ub"):
            if getattr(self, name) is not None and _isnan(getattr(self, name)).any():
                raise DataError(f"{name} has NaN entries: give -inf or inf for no bound")

    @property
    def num_variables(self) -> int:
        return int(self.c.shape[0])

    def arrays(self) -> tuple[Any, ...]:
        """The program as (c, A, row_lo, row_hi, lb, ub, integral), A one CSR matrix of every row."""
        import numpy as np
        import scipy.sparse as sp

        n = self.num_variables
        blocks, lo, hi = [], [], []
        if self.A_ub is not None:
            blocks.append(sp.csr_matrix(self.A_ub, dtype=float))
            lo.append(np.full(len(self.b_ub), -np.inf))
            hi.append(self.b_ub)
        if self.A_eq is not None:
            blocks.append(sp.csr_matrix(self.A_eq, dtype=float))
            lo.append(self.b_eq)
            hi.append(self.b_eq)
        A = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n))
        _check_finite("the constraint matrices", A.data)
        def each(value: Any, default: float) -> Any:
            return np.ascontiguousarray(np.broadcast_to(default if value is None else value, n))

        lb, ub = each(self.lb, 0.0), each(self.ub, np.inf)
        integral = each(None if self.integrality is None else self.integrality.astype(bool), False)
        cat = np.concatenate
        return self.c, A, cat(lo) if lo else np.zeros(0), cat(hi) if hi else np.zeros(0), lb, ub, integral


@attrs.frozen(eq=False)
class MILPResult:
    """A MILP's solution `x` with its objective and a proven bound (upper when maximising)."""

    x: Any
    objective: float
    bound: float
    status: str
    backend: str
    maximize: bool = False
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    message: str = ""

    @property
    def gap_abs(self) -> float:
        return _gaps(self.objective, self.bound, self.maximize)[0]

    @property
    def gap_rel(self) -> float:
        return _gaps(self.objective, self.bound, self.maximize)[1]


@runtime_checkable
class Solver(Protocol):
    """`solve(problem)` returns an `AssignmentResult` (-1 in the plan for no treatment)."""

    def solve(self, problem: AssignmentProblem) -> AssignmentResult: ...


@runtime_checkable
class MILPSolver(Protocol):
    """What a solver registered with the "milp" capability also offers."""

    def solve_milp(self, problem: MILPProblem) -> MILPResult: ...


@runtime_checkable
class PartitionsSolver(Protocol):
    """What a solver registered with the "partitions" capability also offers: the whole plan, partitions
    concatenated in order."""

    def solve_partitioned(self, problem: PartitionedProblem) -> AssignmentResult: ...


protocol = Solver


def run_step(
    plugin: Solver,
    flow: Flow,
    *,
    budget: float,
    costs: Sequence[float] | str | None = None,
    budget_sense: Literal["<=", "=="] = "<=",
    min_count: Sequence[float] | None = None,
    max_count: Sequence[float] | None = None,
    objective: Literal["net", "value"] = "net",
    allow_none: bool = True,
    column: str = "assignment",
    allow_no_plan: bool = False,
) -> Flow:
    """Assign treatments from the effect columns an earlier step added, under `budget`.

    `costs` is one cost per treatment, or the prefix of per-unit cost columns (column
    "<prefix><effect column>" for each effect), or None for a cost of 1 each. Adds `column`
    (the chosen effect column's index, -1 for none) and the result summary as fact "solver".
    A solver that finds no plan (infeasible, not solved) fails the step, so that no run writes an
    empty plan as if it were one, unless `allow_no_plan` (the column is then -1 throughout).
    """
    assign = Assign(plugin, budget=budget, costs=costs, budget_sense=budget_sense, min_count=min_count,
                    max_count=max_count, objective=objective, allow_none=allow_none, column=column,
                    allow_no_plan=allow_no_plan)
    values, unit_costs = assign.take(flow.table, flow.facts)
    facts = assign.solve(assign.problem(values, unit_costs))
    return flow.evolve(table=assign.join(flow.table, assign.plan), **facts)


class Assign:
    """A solver step over a stream: `take` the columns it needs from each batch, `solve` once on
    them all (by partitions where the solver offers `solve_partitioned`), `join` the plan back on."""

    def __init__(self, plugin: Solver, *, budget: float, costs: Sequence[float] | str | None = None,
                 budget_sense: Literal["<=", "=="] = "<=", min_count: Sequence[float] | None = None,
                 max_count: Sequence[float] | None = None, objective: Literal["net", "value"] = "net",
                 allow_none: bool = True, column: str = "assignment", allow_no_plan: bool = False) -> None:
        self.plugin = plugin
        self.costs = costs
        self.column = column
        self.allow_no_plan = allow_no_plan
        self.settings = {"budget": budget, "budget_sense": budget_sense, "min_count": min_count,
                         "max_count": max_count, "objective": objective, "allow_none": allow_none}
        self.effects: list[str] = []
        self.plan: Any = None

    def take(self, table: Any, facts: dict[str, Any] | Any) -> tuple[Any, Any]:
        """The effect values (n, K) of one batch, and its per-unit costs (n, K) when costs name columns.
        The output column must be new: checked here, at the first batch, before anything is solved."""
        self.effects = list(facts.get("effects", ()))
        if not self.effects:
            raise DataError("a solver step needs effect columns: add a cate step before it (fact 'effects' is empty)")
        if self.column in table.column_names:
            raise DataError(f"the solver's output column {self.column!r} is already in the table; set the step "
                            "param column to a name it does not have (the default is 'assignment')")
        values = _columns(table, self.effects)
        if not isinstance(self.costs, str):
            return values, None
        names = [f"{self.costs}{c}" for c in self.effects]
        missing = [c for c in names if c not in table.column_names]
        if missing:
            raise DataError(f"cost columns {missing} are not in the table; it has {table.column_names}")
        return values, _columns(table, names)

    def treatment_costs(self) -> Any:
        """One cost per treatment (None when costs are per-unit columns)."""
        import numpy as np

        if isinstance(self.costs, str):
            return None
        cost_array = np.ones(len(self.effects)) if self.costs is None else np.asarray(self.costs, float)
        if cost_array.shape != (len(self.effects),):
            raise DataError(f"costs has {cost_array.size} entries but there are {len(self.effects)} effect columns {self.effects}")
        return cost_array

    def problem(self, values: Any, unit_costs: Any) -> AssignmentProblem:
        """The whole problem in memory."""
        costs = self.treatment_costs() if unit_costs is None else unit_costs
        return AssignmentProblem(values, costs, **self.settings)

    def partitioned(self, parts: Sequence[Any], sizes: Sequence[int]) -> Any:
        """The problem over spooled partitions: each part loads (values, per-unit costs or None)."""
        costs = self.treatment_costs()
        loaders = tuple(parts if costs is None else (_with_costs(part, costs) for part in parts))
        return PartitionedProblem(loaders, tuple(sizes), **self.settings)

    def solve(self, problem: Any) -> dict[str, Any]:
        """Solve (partitioned when both the problem and the solver allow it); the facts to add."""
        import numpy as np

        if isinstance(problem, PartitionedProblem):
            solve_partitioned = getattr(self.plugin, "solve_partitioned", None)
            result = solve_partitioned(problem) if solve_partitioned else self.plugin.solve(problem.whole())
        else:
            result = self.plugin.solve(problem)
        if math.isnan(result.objective) and not self.allow_no_plan:
            raise DataError(f"the solver found no plan ({result.status}: {result.message or 'no reason given'}); "
                            "nothing is written. Change the budget, its sense or the limits, or set the step "
                            "param allow_no_plan = true to write every row unassigned")
        self.plan = np.asarray(result.assignment, dtype=np.int64)
        return {"assignment": self.column, "solver": {**result.summary(), "treatments": self.effects}}

    def join(self, table: Any, plan: Any) -> Any:
        """`table` with the plan's rows for it as the assignment column (`take` saw that it is new)."""
        import pyarrow as pa

        return table.append_column(self.column, pa.array(plan, pa.int64()))


def _columns(table: Any, names: Sequence[str]) -> Any:
    import numpy as np

    return np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in names]).astype(float, copy=False)


def _with_costs(part: Any, costs: Any) -> Any:
    def load() -> tuple[Any, Any]:
        return part()[0], costs

    return load
