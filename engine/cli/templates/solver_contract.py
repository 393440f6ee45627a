"""The solver contract suite of engine.testing, run against this distribution's solver."""

from __future__ import annotations

from engine.testing import SolverContract


class TestExampleSolver(SolverContract):
    name = "example"
    exact = False  # a heuristic: its plans need not be optimal
    proves_bound = False  # it reports a NaN bound rather than one it cannot prove
