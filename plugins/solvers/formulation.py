"""The assignment problem as a sparse MILP (one binary per unit and treatment), built from arrays."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.kinds.solver import AssignmentProblem, MILPProblem


def assignment_milp(problem: AssignmentProblem) -> MILPProblem:
    """x[i*K + j] = 1 when unit i gets treatment j: one choice per unit, the budget, count limits (in
    whole units, as `AssignmentProblem.count_range` reads them)."""
    n, k = problem.shape
    nv = n * k
    per_unit = sp.csr_matrix((np.ones(nv), np.arange(nv), np.arange(0, nv + 1, k)), shape=(n, nv))
    spend = sp.csr_matrix(problem.cost_matrix.reshape(1, nv))
    per_treatment = sp.csr_matrix(
        (np.ones(nv), np.arange(nv).reshape(n, k).T.ravel(), np.arange(0, nv + 1, n)), shape=(k, nv)
    )
    ub_rows, ub_rhs, eq_rows, eq_rhs = [], [], [], []
    (ub_rows if problem.allow_none else eq_rows).append(per_unit)
    (ub_rhs if problem.allow_none else eq_rhs).append(np.ones(n))
    (ub_rows if problem.budget_sense == "<=" else eq_rows).append(spend)
    (ub_rhs if problem.budget_sense == "<=" else eq_rhs).append([problem.budget])
    fewest, most = problem.count_range()
    for limits, keep, sign in ((most, np.isfinite(most), 1.0), (fewest, fewest > 0, -1.0)):
        if keep.any():
            ub_rows.append(sign * per_treatment[np.flatnonzero(keep)])
            ub_rhs.append(sign * limits[keep])
    return MILPProblem(
        c=problem.scores.ravel(),
        A_ub=sp.vstack(ub_rows, format="csr") if ub_rows else None,
        b_ub=np.concatenate(ub_rhs) if ub_rhs else None,
        A_eq=sp.vstack(eq_rows, format="csr") if eq_rows else None,
        b_eq=np.concatenate(eq_rhs) if eq_rhs else None,
        lb=np.zeros(nv),
        ub=np.ones(nv),
        integrality=np.ones(nv, bool),
        maximize=True,
    )


def plan_from_x(problem: AssignmentProblem, x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The plan a solution x of `assignment_milp` encodes: a unit gets the option it holds above `threshold`.

    0.5 reads a MIP's near-integral x; just under 1 reads an LP's x, leaving fractional units untreated.
    """
    X = np.asarray(x, float).reshape(problem.shape)
    return np.where((X > threshold).any(axis=1), X.argmax(axis=1), -1)


def presolve_for(backend: str, presolve: bool | None, assignment: bool) -> bool | None:
    """Whether the backend presolves: the user's choice; else, for an assignment model on HiGHS, off.

    HiGHS (1.16, and OR-Tools' build) partitions the objective into cliques after presolve without
    looking at its time limit, and on assignment models (one clique per unit) that takes minutes:
    the seed's 30,000 x 3 ran 208 s past a 30 s limit and returned no plan. Without presolve the
    clique table stays empty and the same model is solved to optimality in about 12 s.
    None leaves the backend's default.
    """
    if presolve is None and assignment and backend == "highs":
        return False
    return presolve

