"""The solver contract: at most one treatment per unit, maximising value under a budget."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engine.flow import Flow


@runtime_checkable
class Solver(Protocol):
    """`solve(problem)` returns a result with an `assignment` (-1 for no treatment)."""

    def solve(self, problem: Any) -> Any: ...


protocol = Solver


def run_step(plugin: Solver, flow: Flow, *, costs: list[float], budget: float, column: str = "assignment") -> Flow:
    """Assign treatments from the effect columns an earlier step added, under `budget`."""
    import numpy as np
    import pyarrow as pa

    values = np.column_stack([flow.table.column(c).to_numpy() for c in flow.facts["effects"]])
    result = plugin.solve({"values": values, "costs": np.asarray(costs, float), "budget": float(budget)})
    table = flow.table.append_column(column, pa.array(result.assignment))
    return flow.evolve(table=table, assignment=column)
