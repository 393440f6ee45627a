"""Built-in solver plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_solvers() -> list[Registration]:
    return [
        Registration(
            kind="solver",
            name="mckp",
            aliases=("knapsack",),
            factory="plugins.solvers.mckp:MCKPSolver",
            summary="native multiple-choice knapsack: LP bound from per-unit concave hulls, greedy plan, certified gap",
            requires=("numpy",),
            capabilities=frozenset({"count_limits", "partitions"}),
        ),
        Registration(
            kind="solver",
            name="ortools",
            aliases=("or-tools",),
            factory="plugins.solvers.ortools_backend:ORToolsSolver",
            summary="OR-Tools model builder filled from sparse arrays: SCIP, CP-SAT, GLOP or HiGHS",
            requires=("ortools", "scipy"),
            extra="solvers",
            capabilities=frozenset({"milp", "count_limits"}),
        ),
        Registration(
            kind="solver",
            name="pulp",
            factory="plugins.solvers.pulp_backend:PulpSolver",
            summary="PuLP with HiGHS or CBC, whichever it reports available",
            requires=("pulp", "scipy"),
            extra="solvers",
            capabilities=frozenset({"milp", "count_limits"}),
        ),
        Registration(
            kind="solver",
            name="naive",
            aliases=("greedy",),
            factory="plugins.solvers.naive:NaiveSolver",
            summary="the seed article's baseline: best treatment per unit, then units by score until the budget is spent",
            requires=("numpy",),
        ),
    ]
