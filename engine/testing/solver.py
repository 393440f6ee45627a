"""The contract suite for solver plugins: feasible plans, honest bounds, brute-force agreement, clear failures."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, ClassVar

import pytest

import engine
from engine.kinds.solver import STATUSES, AssignmentProblem, MILPProblem
from engine.testing.base import PluginContract, broke, refuses

FOUND = ("optimal", "feasible", "time_limit")
NO_COUNT_LIMITS = ("a solver without the 'count_limits' capability refuses min_count/max_count with a DataError "
                   "mentioning 'count' (declare the capability once it honours them)")


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


def random_tiny_problem(seed: int) -> AssignmentProblem:
    """A random problem of at most 4 units and 3 treatments: values of either sign and costs with 0 to 3
    decimals, a budget '<=' or '==' that some plan may or may not spend, either objective, every unit or not."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    digits = int(rng.integers(0, 4))
    values = rng.uniform(-2.0, 3.0, (n, k)).round(digits)
    costs = rng.uniform(0.0, 2.0, (n, k) if rng.random() < 0.5 else (k,)).round(digits)
    sense = "==" if rng.random() < 0.5 else "<="
    if sense == "==" and rng.random() < 0.7:
        plan = rng.integers(-1, k, n)
        budget = round(float(np.broadcast_to(costs, (n, k))[plan >= 0, plan[plan >= 0]].sum()), digits)
    else:
        budget = round(float(rng.uniform(0.0, 1.5 * n)), digits)
    return AssignmentProblem(values, costs, budget, budget_sense=sense,
                             objective="value" if rng.random() < 0.3 else "net", allow_none=bool(rng.random() < 0.8))


def feasible_exact_problem(seed: int, most_units: int = 3000) -> AssignmentProblem:
    """20 to `most_units` units, 1 to 4 treatments, costs on a grid of 0.05 (per unit or per treatment) and
    a budget '==' that a random plan spends exactly: feasible by construction."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(20, most_units)), int(rng.integers(1, 5))
    grid = np.array([0.1, 0.2, 0.3, 0.25, 0.5, 1.0, 0.05])[: int(rng.integers(2, 8))]
    costs = rng.choice(grid, size=(n, k) if rng.random() < 0.5 else (k,))
    plan = rng.integers(-1, k, n)
    paid = np.broadcast_to(costs, (n, k))[plan >= 0, plan[plan >= 0]]
    return AssignmentProblem(rng.normal(0.5, 0.5, (n, k)), costs, round(float(paid.sum()), 2), budget_sense="==",
                             objective="net" if rng.random() < 0.5 else "value")


SETTINGS = [
    {},
    {"budget_sense": "=="},
    {"allow_none": False, "budget": 3.0},
    {"objective": "value"},
]


class SolverContract(PluginContract):
    """Every solver plugin passes these.

    Set `exact = False` for a solver whose plans need not be optimal (a heuristic), and
    `proves_bound = False` for one that cannot prove an upper bound on the optimum: it must then
    report a NaN bound, since a bound equal to its own objective would claim a zero gap it never
    proved. Without the "count_limits" capability a solver given min_count/max_count raises a
    DataError mentioning "count"; without "milp" it has no `solve_milp` attribute at all.
    """

    kind: ClassVar[str] = "solver"
    exact: ClassVar[bool] = True
    proves_bound: ClassVar[bool] = True

    def check_result(self, problem: AssignmentProblem, result: Any) -> None:
        """The checks every result passes: a well-formed plan, a known status, honest figures."""
        import numpy as np

        n, k = problem.shape
        plan = np.asarray(result.assignment)
        assert plan.shape == (n,) and np.issubdtype(plan.dtype, np.integer), broke(
            "assignment is one integer per unit", f"integers of shape ({n},)", f"{plan.dtype} of shape {plan.shape}")
        assert ((plan >= -1) & (plan < k)).all(), broke(
            "each unit gets a treatment index or -1 for none", f"values in -1..{k - 1}", sorted(set(plan.tolist())))
        assert result.status in STATUSES, broke("status is one of STATUSES", STATUSES, repr(result.status))
        assert isinstance(result.backend, str) and result.backend, broke(
            "backend names what solved it", "a non-empty string", repr(result.backend))
        assert result.build_seconds >= 0 and result.solve_seconds >= 0, broke(
            "timings are seconds", "build_seconds >= 0 and solve_seconds >= 0",
            (result.build_seconds, result.solve_seconds))
        try:
            json.dumps(result.summary(), allow_nan=False)
        except (TypeError, ValueError) as exc:
            pytest.fail(broke("summary() is plain JSON", "json.dumps(summary, allow_nan=False) to work", exc))
        if not self.proves_bound:
            assert math.isnan(result.bound), broke(
                "a solver declaring proves_bound=False reports a NaN bound (a bound it did not prove "
                "would claim a gap it never certified)", "bound = nan", f"bound = {result.bound!r}")
        if result.status in FOUND:
            broken = problem.violations(plan)
            assert broken == [], broke(f"a plan with status {result.status!r} is feasible", "no violations", broken)
            objective, spent = problem.evaluate(plan)
            assert result.objective == pytest.approx(objective, rel=1e-9, abs=1e-9), broke(
                "objective is what the plan scores (problem.evaluate)", objective, result.objective)
            assert result.total_cost == pytest.approx(spent, rel=1e-9, abs=1e-9), broke(
                "total_cost is what the plan spends (problem.evaluate)", spent, result.total_cost)
            if self.proves_bound:
                assert result.bound >= result.objective - 1e-6 * max(1.0, abs(result.objective)), broke(
                    "a proven bound is no lower than the plan's objective (proves_bound=True; a solver that "
                    "proves none sets proves_bound = False and reports NaN)", f">= {result.objective}", result.bound)
        else:
            assert result.message, broke(f"a result without a plan (status {result.status!r}) says why",
                                         "a non-empty message", repr(result.message))

    @pytest.mark.parametrize("settings", SETTINGS, ids=["budget<=", "budget==", "every-unit", "value"])
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_agrees_with_brute_force(self, plugin: Any, seed: int, settings: dict[str, Any]) -> None:
        self.check_against_brute_force(plugin, random_problem(seed, **dict(settings)))

    @pytest.mark.parametrize("batch", range(4))
    def test_random_tiny_problems_agree_with_brute_force(self, plugin: Any, batch: int) -> None:
        """Random decimals, signs and both senses: no plan beats brute force's, no bound falls below it."""
        for seed in range(batch * 15, batch * 15 + 15):
            self.check_against_brute_force(plugin, random_tiny_problem(seed))

    def check_against_brute_force(self, plugin: Any, problem: AssignmentProblem) -> Any:
        """Solve `problem`: the plan is no better than the best (and is it, for an exact solver), the
        bound no lower. Returns the result."""
        result = plugin.solve(problem)
        self.check_result(problem, result)
        best = brute_force(problem)
        if math.isnan(best):
            assert result.status not in FOUND, broke(
                "a problem no plan can meet gets no plan", f"a status other than {FOUND}", result.status)
            return result
        if result.status in FOUND:
            assert result.objective <= best + 1e-6 * max(1.0, abs(best)), broke(
                "no plan beats the best one brute force finds", f"objective <= {best}", result.objective)
        if self.exact:
            assert result.status == "optimal", broke(
                "an exact solver (exact=True; set exact=False for a heuristic) proves its plans optimal",
                "status 'optimal'", f"{result.status!r}: {result.message}")
            assert result.objective == pytest.approx(best, rel=1e-6, abs=1e-9), broke(
                "an exact solver's plan is as good as brute force's (set exact=False for a heuristic)",
                best, result.objective)
        if self.proves_bound:
            assert result.bound >= best - 1e-6 * max(1.0, abs(best)), broke(
                "a proven bound (proves_bound=True; set it False and report NaN otherwise) is no lower "
                "than the optimum", f">= {best}", result.bound)
        return result

    def test_larger_problem_gives_a_feasible_plan(self, plugin: Any) -> None:
        problem = random_problem(7, n=300, k=4)
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status in FOUND, broke(
            "a 300 x 4 problem with a budget '<=' gets a plan", f"a status in {FOUND}", f"{result.status!r}: {result.message}")

    def test_zero_budget_treats_nobody_it_must_pay_for(self, plugin: Any) -> None:
        problem = random_problem(3, budget=0.0)
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status in FOUND, broke(
            "a zero budget gets the empty plan", f"a status in {FOUND}", f"{result.status!r}: {result.message}")
        assert (result.assignment == -1).all(), broke(
            "with a zero budget and costly treatments nobody is treated", "every unit -1",
            result.assignment.tolist())

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
        assert result.status not in FOUND, broke(
            "a budget '==' that no plan spends gets no plan", f"a status other than {FOUND}", result.status)
        if self.proves_bound:
            assert result.status == "infeasible" and result.message, broke(
                "a solver that proves bounds proves infeasibility", "status 'infeasible' with a message",
                f"{result.status!r}: {result.message!r}")

    @pytest.mark.parametrize("seed", [4, 5])
    def test_count_limits(self, plugin: Any, seed: int) -> None:
        import numpy as np

        problem = random_problem(seed, min_count=[1, 0, np.nan], max_count=[2, 1, 2])
        if not self.capable("count_limits"):
            with refuses(NO_COUNT_LIMITS, engine.DataError, match="count"):
                plugin.solve(problem)
            return
        result = self.check_against_brute_force(plugin, problem)
        assert result.status in FOUND, broke(
            "count limits that a plan meets get a plan", f"a status in {FOUND}", f"{result.status!r}: {result.message}")

    def test_count_minimums_above_the_budget_are_infeasible_with_a_reason(self, plugin: Any) -> None:
        import numpy as np

        problem = AssignmentProblem(np.ones((5, 2)), [1.0, 1.0], 2.0, min_count=[2, 2])
        if not self.capable("count_limits"):
            with refuses(NO_COUNT_LIMITS, engine.DataError, match="count"):
                plugin.solve(problem)
            return
        result = plugin.solve(problem)
        self.check_result(problem, result)
        assert result.status == "infeasible" and result.message, broke(
            "minimums whose units cost more than the budget are infeasible, with the reason",
            "status 'infeasible' with a message", f"{result.status!r}: {result.message!r}")

    def test_milp_capability(self, plugin: Any) -> None:
        import numpy as np

        if not self.capable("milp"):
            assert not hasattr(plugin, "solve_milp"), broke(
                "a solver without the 'milp' capability has no solve_milp (declare 'milp' to offer it)",
                "no solve_milp attribute", f"{type(plugin).__name__}.solve_milp")
            return
        # maximise 5a + 4b + 3c with 2a + 3b + c <= 5, 4a + b + 2c <= 11, 3a + 4b + 2c <= 8, integers in [0, 3]
        milp = MILPProblem(c=[5, 4, 3], A_ub=[[2, 3, 1], [4, 1, 2], [3, 4, 2]], b_ub=[5, 11, 8],
                           lb=[0, 0, 0], ub=[3, 3, 3], integrality=[True, True, True], maximize=True)
        grid = np.array(list(itertools.product(range(4), repeat=3)), float)
        ok = (grid @ np.array(milp.A_ub, float).T <= milp.b_ub + 1e-9).all(axis=1)
        best = float((grid[ok] @ milp.c).max())
        result = plugin.solve_milp(milp)
        assert result.status == "optimal", broke("a small bounded MILP is solved to optimality", "'optimal'",
                                                 f"{result.status!r}: {result.message}")
        assert result.objective == pytest.approx(best), broke("the MILP's optimum is found", best, result.objective)
        assert result.bound >= best - 1e-6, broke("the MILP's bound is no lower than the optimum", f">= {best}",
                                                  result.bound)
        assert float(milp.c @ result.x) == pytest.approx(best), broke(
            "the objective is c @ x of the returned x", best, float(milp.c @ result.x))

    def test_milp_equality_and_minimisation(self, plugin: Any) -> None:
        self.require("milp")
        # minimise x + 2y subject to x + y == 3.5, x <= 2, y integer, x continuous: y = 2, x = 1.5
        milp = MILPProblem(c=[1.0, 2.0], A_eq=[[1.0, 1.0]], b_eq=[3.5], lb=[0, 0], ub=[2, 10],
                           integrality=[False, True])
        try:
            result = plugin.solve_milp(milp)
        except engine.DataError as exc:
            assert "continuous" in str(exc), broke(
                "a backend without continuous variables says so", "a DataError mentioning 'continuous'", exc)
            return
        assert result.status == "optimal", broke("equalities and minimisation are solved", "'optimal'",
                                                 f"{result.status!r}: {result.message}")
        assert result.objective == pytest.approx(5.5), broke("min x + 2y, x + y == 3.5, x <= 2", 5.5, result.objective)
        assert result.x == pytest.approx([1.5, 2.0]), broke("the optimum's variables", [1.5, 2.0], list(result.x))

    def test_infeasible_milp_says_so(self, plugin: Any) -> None:
        self.require("milp")
        milp = MILPProblem(c=[1.0, 1.0], A_ub=[[1.0, 1.0]], b_ub=[1.0], A_eq=[[1.0, -1.0]], b_eq=[0.5],
                           lb=[1, 0], ub=[5, 5], integrality=[True, True])
        result = plugin.solve_milp(milp)
        assert result.status == "infeasible" and result.message, broke(
            "an infeasible MILP is reported infeasible, with the reason", "status 'infeasible' with a message",
            f"{result.status!r}: {result.message!r}")

    def test_partitions_capability(self, plugin: Any) -> None:
        if not self.capable("partitions"):
            assert not hasattr(plugin, "solve_partitioned"), broke(
                "a solver without the 'partitions' capability has no solve_partitioned (declare 'partitions' "
                "to offer it)", "no solve_partitioned attribute", f"{type(plugin).__name__}.solve_partitioned")

    @pytest.mark.parametrize("settings", SETTINGS, ids=["budget<=", "budget==", "every-unit", "value"])
    @pytest.mark.parametrize("parts", [1, [1, 20, 9, 1, 9]])
    def test_partitioned_equals_in_memory(self, plugin: Any, parts: Any, settings: dict[str, Any]) -> None:
        import numpy as np

        from engine.kinds.solver import PartitionedProblem

        self.require("partitions")
        for seed in (11, 12):
            problem = random_problem(seed, n=40, **dict(settings))
            split = PartitionedProblem.from_arrays(
                problem.values, problem.costs, problem.budget, parts=parts, budget_sense=problem.budget_sense,
                objective=problem.objective, allow_none=problem.allow_none)
            whole, partitioned = plugin.solve(problem), plugin.solve_partitioned(split)
            self.check_result(problem, partitioned)
            rule = "solve_partitioned gives the plan solve gives on the whole problem"
            assert partitioned.status == whole.status, broke(rule, whole.status, partitioned.status)
            assert np.array_equal(partitioned.assignment, whole.assignment), broke(
                rule, whole.assignment.tolist(), np.asarray(partitioned.assignment).tolist())
            assert partitioned.bound == pytest.approx(whole.bound, rel=1e-9, abs=1e-9, nan_ok=True), broke(
                "solve_partitioned proves the bound solve proves", whole.bound, partitioned.bound)
