"""The seed article's baseline: every unit's best treatment, then units by that score until the budget runs out."""

from __future__ import annotations

import math
import time

import numpy as np

from engine.kinds.solver import AssignmentProblem, AssignmentResult
from plugins.solvers.outcome import assignment_result, refuse_count_limits


class NaiveSolver:
    """Greedy without optimisation, kept so that every optimised plan can be compared with it.

    It proves no bound (NaN), refuses count limits and treats an exact budget as a cap; a plan
    that misses an exact budget comes back with status not_solved and the reason.
    """

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        refuse_count_limits(problem, "naive")
        started = time.perf_counter()
        scores = problem.scores
        best = scores.argmax(axis=1)
        rows = np.arange(best.size)
        best_score = scores[rows, best]
        order = np.argsort(-best_score, kind="stable")
        if problem.allow_none:
            order = order[best_score[order] > 0]
        spent = np.cumsum(problem.cost_matrix[order, best[order]])
        chosen = order[: int(np.searchsorted(spent, problem.budget, side="right"))]
        plan = np.full(best.size, -1, dtype=np.int64)
        plan[chosen] = best[chosen]
        return assignment_result(problem, plan, bound=math.nan, status="feasible", backend="naive",
                                 build_seconds=0.0, solve_seconds=time.perf_counter() - started)
