"""Plans the report compares: the run's own, naive's, the oracle's and the frontier's, each made by
the solver step runner on the run's final flow and scored by the estimated and the true effects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from engine.flow import Flow
from engine.kinds.solver import run_step

PLAN_COLUMN = "__report_plan"
"""The column the report's re-solves write into a copy of the flow's table (never persisted)."""


@attrs.frozen
class Planner:
    """Solves the run's assignment problem again, with other budgets, solvers or effect columns.

    `params` are the solver step's params as the run used them; `flow` is the run's final flow
    (its "effects" and, when known, "true_effects" facts name the columns).
    """

    flow: Flow
    params: Mapping[str, Any]

    @property
    def effects(self) -> tuple[str, ...]:
        return tuple(self.flow.facts["effects"])

    @property
    def truth(self) -> tuple[str, ...]:
        return tuple(self.flow.facts.get("true_effects", ()))

    def solve(self, solver: Any, *, effects: Sequence[str] | None = None, **changes: Any) -> dict[str, Any]:
        """Plan with `solver`, with the solver step's params changed by `changes` (budget,
        budget_sense, objective) and `effects` columns instead of the estimates; score the plan."""
        return self.score(*self.plan(solver, effects=effects, **changes))

    def plan(self, solver: Any, *, effects: Sequence[str] | None = None, **changes: Any) -> tuple[Any, dict[str, Any]]:
        """The plan `solve` scores (per row -1 or a treatment index) and the solver's summary."""
        params = {**self.params, **changes, "column": PLAN_COLUMN, "allow_no_plan": True}
        flow = self.flow if effects is None else self.flow.evolve(effects=tuple(effects))
        out = run_step(solver, flow, **params)
        return out.table.column(PLAN_COLUMN).to_numpy(), out.facts["solver"]

    def score(self, plan: Any, summary: Mapping[str, Any]) -> dict[str, Any]:
        """What a plan is worth: its status and cost, and the sum of the chosen treatments' effects,
        estimated and (when known) true; None throughout when the solver found no plan."""
        found = summary["objective"] is not None
        scored = {
            "status": summary["status"],
            "treated": int((plan >= 0).sum()) if found else None,
            "cost": summary["total_cost"],
            "estimated": self._value(plan, self.effects) if found else None,
        }
        if self.truth:
            scored["true"] = self._value(plan, self.truth) if found else None
        return scored

    def cost(self, plan: Any) -> float:
        """What a plan spends on the flow's rows, at the solver step's costs."""
        import numpy as np

        rows = np.flatnonzero(plan >= 0)
        costs = self.params.get("costs")
        if costs is None:
            return float(rows.size)
        if isinstance(costs, str):
            return self._value(plan, [f"{costs}{c}" for c in self.effects])
        return float(np.asarray(costs, float)[plan[rows]].sum())

    def dearest(self) -> float:
        """What the dearest plan spends (every row at its dearest treatment, or none where that costs
        less): a budget above it plans as this one does."""
        import numpy as np

        costs = self.params.get("costs")
        rows = self.flow.table.num_rows
        if costs is None:
            return float(rows)
        if isinstance(costs, str):
            return float(np.maximum(self._matrix([f"{costs}{c}" for c in self.effects]).max(axis=1), 0.0).sum())
        return rows * max(float(np.max(np.asarray(costs, float))), 0.0)

    def _value(self, plan: Any, columns: Sequence[str]) -> float:
        import numpy as np

        rows = np.flatnonzero(plan >= 0)
        return float(self._matrix(columns)[rows, plan[rows]].sum())

    def _matrix(self, columns: Sequence[str]) -> Any:
        import numpy as np

        table = self.flow.table
        return np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in columns]).astype(float)
