"""A greedy solver: each unit's best upgrade, units by gain per cost, while the budget lasts.

It proves nothing about the optimum, so it reports a NaN bound, and it refuses count limits,
since it does not declare the "count_limits" capability.
"""

from __future__ import annotations

import math
import time
from typing import Any

from engine import DataError
from engine.kinds.solver import AssignmentProblem, AssignmentResult, tolerance


class ExampleSolver:
    """Greedy assignment under a budget; `min_gain` is the least score an upgrade must add."""

    def __init__(self, min_gain: float = 0.0) -> None:
        self.min_gain = min_gain

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        """A feasible plan, or a result with status and message saying why there is none."""
        import numpy as np

        if problem.has_count_limits:
            raise DataError("this solver does not honour count limits (min_count/max_count); drop them")
        started = time.perf_counter()
        scores, costs = problem.scores, problem.cost_matrix
        n = problem.shape[0]
        units = np.arange(n)
        if problem.allow_none:
            plan = np.full(n, -1)
            base_score, base_cost = np.zeros(n), np.zeros(n)
        else:
            plan = np.lexsort((-scores, costs), axis=1)[:, 0]
            base_score, base_cost = scores[units, plan], costs[units, plan]
        spent = float(base_cost.sum())
        if spent > problem.budget + tolerance(problem.budget):
            return self._result(problem, plan, "infeasible", started,
                                f"the cheapest plan costs {spent:g}, more than the budget {problem.budget:g}")
        best = scores.argmax(axis=1)
        gain = scores[units, best] - base_score
        extra = costs[units, best] - base_cost
        ratio = np.where(extra > 0, gain / np.where(extra > 0, extra, 1.0), np.inf)
        for unit in np.argsort(-ratio, kind="stable"):
            if gain[unit] > self.min_gain and spent + extra[unit] <= problem.budget + tolerance(problem.budget):
                plan[unit] = best[unit]
                spent += extra[unit]
        if problem.budget_sense == "==" and abs(spent - problem.budget) > tolerance(problem.budget):
            return self._result(problem, plan, "not_solved", started,
                                f"the greedy plan spends {spent:g}, not exactly the budget {problem.budget:g}")
        return self._result(problem, plan, "feasible", started)

    @staticmethod
    def _result(problem: AssignmentProblem, plan: Any, status: str, started: float, message: str = "") -> AssignmentResult:
        import numpy as np

        found = status == "feasible"
        objective, spent = problem.evaluate(plan) if found else (math.nan, math.nan)
        return AssignmentResult(
            assignment=plan if found else np.full(problem.shape[0], -1), objective=objective, total_cost=spent,
            bound=math.nan,
            status=status, backend="greedy", solve_seconds=time.perf_counter() - started, message=message,
        )
