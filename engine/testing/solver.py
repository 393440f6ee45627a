"""The contract suite for solver plugins: feasible plans, honest bounds, brute-force agreement, clear failures."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, ClassVar

import pytest

import engine
from engine.kinds.solver import STATUSES, AssignmentProblem, MILPProblem
from engine.testing.base import PluginContract

FOUND = ("optimal", "feasible", "time_limit")


def random_problem(seed: int, n: int = 6, k: int = 3, **settings: Any) -> AssignmentProblem:
    """A small random problem whose budget buys about half of what every unit would take."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = rng.uniform(-0.2, 1.5, (n, k)).round(3)
    costs = rng.choice([0.1, 0.2, 0.3, 0.5], size=(n, k)) if seed % 2 else np.array([0.1, 0.2, 0.3, 0.4][:k])
    budget = settings.pop("budget", round(float(np.broadcast_to(costs, (n, k)).max(axis=1).sum()) / 2, 1))
    return AssignmentProblem(values, costs, budget, **settings)


def brute_force(problem: AssignmentProblem) -> float:
    """The best objective over every plan (tiny problems only), or NaN when no plan is feasible."""
    import numpy as np

    n, k = problem.shape
    options = range(-1, k) if problem.allow_none else range(k)
    best = -math.inf
    for plan in itertools.product(options, repeat=n):
        plan = np.array(plan)
        if not problem.violations(plan):
            best = max(best, problem.evaluate(plan)[0])
    return best if math.isfinite(best) else math.nan


SETTINGS = [
    {},
    {"budget_sense": "=="},
    {"allow_none": False, "budget": 3.0},
    {"objective": "value"},
]


class SolverContract(PluginContract):
    """Every solver plugin passes these.

    `exact`: the solver's optimal plans match brute force. `proves_bound`: its `bound` is a
    proven upper bound (otherwise it reports NaN). Count limits and the general MILP are
    tested when the registration declares the "count_limits" or "milp" capability.
    """

    kind: ClassVar[str] = "solver"
    exact: ClassVar[bool] = True
    proves_bound: ClassVar[bool] = True

    def capable(self, capability: str) -> bool:
        return capability in engine.plugin_info(self.kind, self.name).registration.capabilities

    def check_result(self, problem: AssignmentProblem, result: Any) -> None:
        import numpy as np

        n, k = problem.shape
        plan = np.asarray(result.assignment)
        assert plan.shape == (n,) and np.issubdtype(plan.dtype, np.integer)
        assert ((plan >= -1) & (plan < k)).all()
        assert result.status in STATUSES
        assert isinstance(result.backend, str) and result.backend
        assert result.build_seconds >= 0 and result.solve_seconds >= 0
        json.dumps(result.summary(), allow_nan=False)
        if result.status in FOUND:
            assert problem.violations(plan) == []
            objective, spent = problem.evaluate(plan)
            assert result.objective == pytest.approx(objective, rel=1e-9, abs=1e-9)
            assert result.total_cost == pytest.approx(spent, rel=1e-9, abs=1e-9)
            if self.proves_bound:
                assert result.bound >= result.objective - 1e-6 * max(1.0, abs(result.objective))
        else:
            assert result.message, "a result without a plan must say why"

    @pytest.mark.parametrize("settings", SETTINGS, ids=["budget<=", "budget==", "every-unit", "value"])
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_agrees_with_brute_force(self, plugin: Any, seed: int, settings: dict[str, Any]) -> None:
        self.check_against_brute_force(plugin, random_problem(seed, **dict(settings)))

    def check_against_brute_force(self, plugin: Any, problem: AssignmentProblem) -> Any:
        """Solve `problem`: the plan is no better than the best (and is it, for an exact solver), the
        bound no lower. Returns the result."""
        result = plugin.solve(problem)
        self.check_result(problem, result)
        best = brute_force(problem)
        if math.isnan(best):
            assert result.status not in FOUND
            return result
        if result.status in FOUND:
            assert result.objective <= best + 1e-6 * max(1.0, abs(best))
        if self.exact:
            assert result.status == "optimal", result.message
            assert result.objective == pytest.approx(best, rel=1e-6, abs=1e-9)
        if self.proves_bound:
            assert result.bound >= best - 1e-6 * max(1.0, abs(best))
        return result

    def test_larger_problem_gives_a_feasible_plan(self, plugin: Any) -> None:
        problem = random_problem(7, n=300, k=4)
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status in FOUND

    def test_zero_budget_treats_nobody_it_must_pay_for(self, plugin: Any) -> None:
        problem = random_problem(3, budget=0.0)
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status in FOUND
        assert (result.assignment == -1).all()

    @pytest.mark.parametrize(
        ("units", "budget"),
        [(4, 2.5), (3, 7.0)],
        ids=["unreachable-exact-budget", "exact-budget-beyond-the-dearest-plan"],
    )
    def test_an_exact_budget_no_plan_spends_is_infeasible_with_a_reason(
        self, plugin: Any, units: int, budget: float
    ) -> None:
        import numpy as np

        problem = AssignmentProblem(np.ones((units, 2)), [1.0, 2.0], budget, budget_sense="==")
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status not in FOUND
        if self.proves_bound:
            assert result.status == "infeasible" and result.message

    @pytest.mark.parametrize("seed", [4, 5])
    def test_count_limits(self, plugin: Any, seed: int) -> None:
        import numpy as np

        problem = random_problem(seed, min_count=[1, 0, np.nan], max_count=[2, 1, 2])
        if not self.capable("count_limits"):
            with pytest.raises(engine.DataError, match="count"):
                plugin.solve(problem)
            return
        assert self.check_against_brute_force(plugin, problem).status in FOUND

    def test_count_minimums_above_the_budget_are_infeasible_with_a_reason(self, plugin: Any) -> None:
        import numpy as np

        problem = AssignmentProblem(np.ones((5, 2)), [1.0, 1.0], 2.0, min_count=[2, 2])
        if not self.capable("count_limits"):
            with pytest.raises(engine.DataError, match="count"):
                plugin.solve(problem)
            return
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status == "infeasible" and result.message

    def test_milp_capability(self, plugin: Any) -> None:
        import numpy as np

        if not self.capable("milp"):
            assert not hasattr(plugin, "solve_milp")
            return
        # maximise 5a + 4b + 3c with 2a + 3b + c <= 5, 4a + b + 2c <= 11, 3a + 4b + 2c <= 8, integers in [0, 3]
        milp = MILPProblem(c=[5, 4, 3], A_ub=[[2, 3, 1], [4, 1, 2], [3, 4, 2]], b_ub=[5, 11, 8],
                           lb=[0, 0, 0], ub=[3, 3, 3], integrality=[True, True, True], maximize=True)
        grid = np.array(list(itertools.product(range(4), repeat=3)), float)
        ok = (grid @ np.array(milp.A_ub, float).T <= milp.b_ub + 1e-9).all(axis=1)
        best = float((grid[ok] @ milp.c).max())
        result = plugin.solve_milp(milp)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(best)
        assert result.bound >= best - 1e-6
        assert float(milp.c @ result.x) == pytest.approx(best)

    def test_milp_equality_and_minimisation(self, plugin: Any) -> None:
        if not self.capable("milp"):
            return
        # minimise x + 2y subject to x + y == 3.5, x <= 2, y integer, x continuous: y = 2, x = 1.5
        milp = MILPProblem(c=[1.0, 2.0], A_eq=[[1.0, 1.0]], b_eq=[3.5], lb=[0, 0], ub=[2, 10],
                           integrality=[False, True])
        try:
            result = plugin.solve_milp(milp)
        except engine.DataError as exc:
            assert "continuous" in str(exc)
            return
        assert result.status == "optimal"
        assert result.objective == pytest.approx(5.5)
        assert result.x == pytest.approx([1.5, 2.0])

    def test_infeasible_milp_says_so(self, plugin: Any) -> None:
        if not self.capable("milp"):
            return
        milp = MILPProblem(c=[1.0, 1.0], A_ub=[[1.0, 1.0]], b_ub=[1.0], A_eq=[[1.0, -1.0]], b_eq=[0.5],
                           lb=[1, 0], ub=[5, 5], integrality=[True, True])
        result = plugin.solve_milp(milp)
        assert result.status == "infeasible" and result.message
