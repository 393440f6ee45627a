"""Solvers against the seed article's OR-Tools model, built with Python loops, in one process.

At the seed's shape (30,000 customers x 3 discounts, costs 0.1/0.2/0.3, budget 3,000 set as both
minimum and maximum) the anchor is the seed's pywraplp + SCIP model, re-implemented as it was
written: costs and values as numpy arrays, a dict of IntVars filled in a double loop, one
constraint per customer, the budget summed with Python's sum() twice, the objective as a list of
terms. Ours: `mckp` end to end; `ortools` (SCIP) and `pulp` (HiGHS) as a user gets them (started from
`mckp`'s plan, not run where that plan is proven) and with `warm_start="hint"` (given the plan, always run,
their own result); SCIP cold on our one budget row `==` against the seed's two inequalities; the model
builds of `ortools` and `pulp` (medians of three rounds, each against builds of the seed's model as
written and over Python lists, the faster variant); then count limits that the unlimited optimum breaks,
`mckp` against CP-SAT.
Then, at 1M x 5, `mckp` with and without such limits, and every backend under a time limit (as a user
gets it: where `mckp` proves its plan, the backend is not run). Last,
`mckp`'s share of plans on random feasible '==' problems, and how many backend runs above came out worse
than `mckp` (the MILP backends start from its plan, so the goal is 0).

    python benchmarks/bench_solvers.py --quick      # 3,000 x 3 and 100,000 x 5
    python benchmarks/bench_solvers.py              # 30,000 x 3 and 1,000,000 x 5

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import attrs
import numpy as np

import engine
from engine.cli.solve import generate
from engine.kinds.solver import AssignmentProblem, MILPProblem
from engine.testing.solver import feasible_exact_problem
from plugins.solvers.formulation import assignment_milp


LARGE_BACKENDS = (
    ("ortools-glop", "ortools", {"backend": "glop"}),
    ("ortools-cp-sat", "ortools", {"backend": "cp-sat"}),
    ("ortools-scip", "ortools", {"backend": "scip"}),
)
"""Backends that keep to a time limit at the large size. HiGHS's MIP (through ortools or PuLP) ran
minutes past a 10 s limit at 100,000 x 5 here, so it is left out of this part."""

MCKP_REPEATS = 3
"""`mckp` runs this often at the large size and its median time is reported: the machine may be shared."""

BUILD_ROUNDS = 3
"""Model builds are timed this often and their medians compared: a build of ours takes about half a
second at the seed's shape, and a shared machine's noise is a large part of that."""


def seed_problem(units: int, treatments: int, seed: int = 0) -> AssignmentProblem:
    """The seed's problem: costs 0.1 per discount step, budget units/10 as both minimum and maximum.

    The costs are rounded to the decimals they stand for: `generate` computes 0.1 * 3 = 0.30000000000000004,
    which is no fraction with a small denominator, so CP-SAT (which scales rows exactly) would refuse it.
    """
    problem = generate(units, treatments, seed=seed)
    return AssignmentProblem(**{**problem, "costs": np.round(problem["costs"], 9)}, budget_sense="==")


def seed_model(problem: AssignmentProblem, on_lists: bool = False) -> tuple[object, float]:
    """The seed article's model, loop for loop, and the seconds it took to build.

    The article reads costs and values as numpy arrays (`to_numpy()` of two DataFrames), so every
    `costs[i][j] * x[i, j]` multiplies a numpy scalar. `on_lists` reads Python lists instead, which
    builds the same model about twice as fast: the stricter anchor, reported beside the faithful one.
    """
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    max_cost = min_cost = problem.budget
    costs = np.array(problem.cost_matrix)
    order_value = np.array(problem.values)
    if on_lists:
        costs, order_value = costs.tolist(), order_value.tolist()
    num_custs = len(costs)
    num_treatments = len(costs[0])
    x = {}
    for i in range(num_custs):
        for j in range(num_treatments):
            x[i, j] = solver.IntVar(0, 1, "")
    for i in range(num_custs):
        solver.Add(solver.Sum([x[i, j] for j in range(num_treatments)]) <= 1)
    solver.Add(sum([costs[i][j] * x[i, j] for j in range(num_treatments) for i in range(num_custs)]) <= max_cost)
    solver.Add(sum([costs[i][j] * x[i, j] for j in range(num_treatments) for i in range(num_custs)]) >= min_cost)
    objective_terms = []
    for i in range(num_custs):
        for j in range(num_treatments):
            objective_terms.append(order_value[i][j] * x[i, j] - costs[i][j] * x[i, j])
    solver.Maximize(solver.Sum(objective_terms))
    return solver, time.perf_counter() - started


def seed_loop(problem: AssignmentProblem) -> dict:
    """The seed's model built and solved with SCIP, as the article ran it."""
    from ortools.linear_solver import pywraplp

    solver, build_s = seed_model(problem)
    started = time.perf_counter()
    status = solver.Solve()
    solve_s = time.perf_counter() - started
    found = status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    return {"build_s": build_s, "solve_s": solve_s, "total_s": build_s + solve_s,
            "objective": solver.Objective().Value() if found else None,
            "bound": solver.Objective().BestBound() if found else None}


def as_inequalities(milp: MILPProblem) -> MILPProblem:
    """The program with each equality row written as two inequalities, `<=` and `>=`, as the seed's budget."""
    import scipy.sparse as sp

    if milp.A_eq is None:
        return milp
    rows = [milp.A_ub] if milp.A_ub is not None else []
    rhs = [milp.b_ub] if milp.b_ub is not None else []
    return attrs.evolve(milp, A_ub=sp.vstack([*rows, milp.A_eq, -milp.A_eq], format="csr"),
                        b_ub=np.concatenate([*rhs, milp.b_eq, -milp.b_eq]), A_eq=None, b_eq=None)


def scip_formulations(problem: AssignmentProblem, limit: float) -> dict[str, dict]:
    """SCIP on the assignment model with the budget as one equality row (ours) and as the seed's two
    inequalities, cold (`solve_milp` takes no start), under the same time limit."""
    solver = engine.solver("ortools", backend="scip", time_limit=limit)
    milp = assignment_milp(problem)
    rows = {}
    for label, model in (("equality_row", milp), ("two_inequalities", as_inequalities(milp))):
        started = time.perf_counter()
        result = solver.solve_milp(model)
        rows[label] = {"status": result.status, "objective": result.objective, "bound": result.bound,
                       "gap_rel": result.gap_rel, "seconds": round(time.perf_counter() - started, 3)}
        print(f"  SCIP cold, {label:<17} {result.status:<11} obj {result.objective:>16,.4f} "
              f"gap {result.gap_rel:8.1e} total {rows[label]['seconds']:8.3f}s", flush=True)
    return rows


def build_medians(problem: AssignmentProblem, rounds: int) -> dict[str, float]:
    """Median model-build seconds of the seed loop (as written, and on lists), `ortools` and `pulp` over
    `rounds` rounds, taken in turn so that a shared machine's slow spells fall on all of them. Our
    solves here start cold (a warm start proven by `mckp` builds no model) and stop after 1 s: the
    build does not depend on the limit, and the full solves were timed before."""
    builds = {"seed loop": [], "seed loop on lists": [], "ortools-scip": [], "pulp-highs": []}
    for _ in range(rounds):
        builds["seed loop"].append(seed_model(problem)[1])
        builds["seed loop on lists"].append(seed_model(problem, on_lists=True)[1])
        builds["ortools-scip"].append(run("ortools", problem, backend="scip", time_limit=1.0,
                                          warm_start=False)["build_seconds"])
        builds["pulp-highs"].append(run("pulp", problem, backend="highs", time_limit=1.0,
                                        warm_start=False)["build_seconds"])
    for label, seconds in builds.items():
        print(f"  {label:<22} builds " + ", ".join(f"{s:.3f}s" for s in seconds), flush=True)
    return {label: statistics.median(seconds) for label, seconds in builds.items()}


def with_binding_limits(problem: AssignmentProblem) -> AssignmentProblem:
    """The problem with count limits that its unlimited optimum breaks: the treatment `mckp` gives
    most capped at 70% of that, the one it gives least floored at 130% and ten more."""
    plan = engine.solver("mckp").solve(problem).assignment
    k = problem.shape[1]
    held = np.bincount(plan[plan >= 0], minlength=k)
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    high[held.argmax()], low[held.argmin()] = 0.7 * held.max(), 1.3 * held.min() + 10
    return attrs.evolve(problem, min_count=low, max_count=high)


EXACT_BUDGET_PROBLEMS = 200
"""Random feasible problems with a budget '==' on which `mckp`'s share of plans found is measured."""


def exact_budget_solved_share(count: int) -> float:
    """The share of `count` random feasible '==' problems on which `mckp` returns a plan."""
    solver = engine.solver("mckp")
    return sum(solver.solve(feasible_exact_problem(seed)).status in ("optimal", "feasible")
               for seed in range(count)) / count


def worse_than(reference: dict, rows: dict) -> int:
    """How many rows have no plan, or a worse one, where `reference` (mckp's row) has a plan."""
    if reference.get("objective") is None:
        return 0
    floor = reference["objective"] - 1e-9 * max(1.0, abs(reference["objective"]))
    return sum(row.get("objective") is None or row["objective"] < floor for row in rows.values())


def run(name: str, problem: AssignmentProblem, **options: object) -> dict:
    """One solve, timed from the problem to the result (the plugin is built and imported before)."""
    solver = engine.solver(name, **options)
    started = time.perf_counter()
    result = solver.solve(problem)
    total = time.perf_counter() - started
    return {**result.summary(), "total_s": total}


def show(label: str, row: dict) -> None:
    objective = "—" if row.get("objective") is None else f"{row['objective']:,.4f}"
    gap = "—" if row.get("gap_rel") is None else f"{row['gap_rel']:.1e}"
    build = row.get("build_seconds", row.get("build_s", 0.0))
    print(f"  {label:<22} {row.get('status', 'optimal'):<11} obj {objective:>16} gap {gap:>8} "
          f"build {build:8.3f}s total {row['total_s']:8.3f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI and a busy machine")
    parser.add_argument("--time-limit", type=float, help="seconds per backend (default 10 quick, 60 full)")
    args = parser.parse_args()
    seed_units, big_units = (3_000, 100_000) if args.quick else (30_000, 1_000_000)
    limit = args.time_limit or (10.0 if args.quick else 60.0)

    problem = seed_problem(seed_units, 3)
    print(f"seed shape: {seed_units:,} x 3, budget {problem.budget:g} (min = max)", flush=True)
    anchor = seed_loop(problem)
    show("seed loop (SCIP)", anchor)
    mckp = run("mckp", problem)
    show("mckp", mckp)
    ours = {"ortools-scip": run("ortools", problem, backend="scip", time_limit=limit),
            "pulp-highs": run("pulp", problem, backend="highs", time_limit=limit)}
    hinted = {"ortools-scip": run("ortools", problem, backend="scip", time_limit=limit, warm_start="hint"),
              "pulp-highs": run("pulp", problem, backend="highs", time_limit=limit, warm_start="hint")}
    for label, row in ours.items():
        show(label, row)
    for label, row in hinted.items():
        show(f"{label} (hint only)", row)
    formulations = scip_formulations(problem, limit)
    naive = run("naive", problem)
    show("naive", naive)
    print(f"model builds, {BUILD_ROUNDS} rounds in turn (medians compared):", flush=True)
    builds = build_medians(problem, BUILD_ROUNDS)
    limited = with_binding_limits(problem)
    print(f"count limits: max {limited.max_count.round(1).tolist()}, min {limited.min_count.round(1).tolist()}",
          flush=True)
    counted = {"mckp": run("mckp", limited),
               "ortools-cp-sat": run("ortools", limited, backend="cp-sat", time_limit=limit)}
    for label, row in counted.items():
        show(label, row)
    ratios = {
        "mckp_speedup_vs_seed_loop": anchor["total_s"] / mckp["total_s"],
        "mckp_gap_rel": mckp["gap_rel"],
        "mckp_vs_seed_loop_objective_diff": None if anchor["objective"] is None else mckp["objective"] - anchor["objective"],
        "ortools_build_speedup_vs_seed_loop": builds["seed loop"] / builds["ortools-scip"],
        "pulp_build_speedup_vs_seed_loop": builds["seed loop"] / builds["pulp-highs"],
        "ortools_build_speedup_vs_seed_loop_on_lists": builds["seed loop on lists"] / builds["ortools-scip"],
        "pulp_build_speedup_vs_seed_loop_on_lists": builds["seed loop on lists"] / builds["pulp-highs"],
        "mckp_vs_naive_objective_ratio": mckp["objective"] / naive["objective"],
    }
    print("  " + ", ".join(f"{k} {v:.4g}" for k, v in ratios.items() if v is not None), flush=True)

    big = seed_problem(big_units, 5, seed=1)
    print(f"large: {big_units:,} x 5, budget {big.budget:g} (min = max), time limit {limit:g}s each", flush=True)
    repeats = [run("mckp", big) for _ in range(MCKP_REPEATS)]
    large = {"mckp": sorted(repeats, key=lambda row: row["total_s"])[MCKP_REPEATS // 2]}
    show(f"mckp (median of {MCKP_REPEATS})", large["mckp"])
    print("  mckp runs: " + ", ".join(f"{row['total_s']:.3f}s" for row in repeats), flush=True)
    large_limited = run("mckp", with_binding_limits(big))
    show("mckp, count limits", large_limited)
    for label, name, options in LARGE_BACKENDS:
        large[label] = run(name, big, time_limit=limit, **options)
        show(label, large[label])
    worse = (worse_than(mckp, ours) + worse_than(counted["mckp"], {"cp-sat": counted["ortools-cp-sat"]})
             + worse_than(large["mckp"], {k: v for k, v in large.items() if k != "mckp"}))
    share = exact_budget_solved_share(EXACT_BUDGET_PROBLEMS)
    print(f"mckp plans for {share:.1%} of {EXACT_BUDGET_PROBLEMS} random feasible '==' problems; "
          f"{worse} backend runs worse than mckp", flush=True)

    print(json.dumps({
        "quick": args.quick,
        "seed_units": seed_units,
        "large_units": big_units,
        "time_limit_s": limit,
        **{k: (round(v, 9) if isinstance(v, float) else v) for k, v in ratios.items()},
        "ortools_scip_seed_gap": ours["ortools-scip"]["gap_rel"],
        "ortools_scip_seed_gap_hint_only": hinted["ortools-scip"]["gap_rel"],
        "pulp_highs_seed_gap_hint_only": hinted["pulp-highs"]["gap_rel"],
        "hint_only_worse_than_mckp_count": worse_than(mckp, hinted),
        "hint_only_seed_rows": {label: {key: row[key] for key in ("status", "objective", "bound", "gap_rel")}
                                | {"total_s": round(row["total_s"], 3), "message": row["message"][:120]}
                                for label, row in hinted.items()},
        "scip_formulation_seed_shape": formulations,
        "mckp_exact_budget_solved_share": share,
        "worse_than_mckp_count": worse,
        "seed_loop_build_s": round(builds["seed loop"], 4),
        "seed_loop_on_lists_build_s": round(builds["seed loop on lists"], 4),
        "build_medians_s": {label: round(seconds, 4) for label, seconds in builds.items()},
        "seed_loop_solve_s": round(anchor["solve_s"], 4),
        "mckp_seed_shape_s": round(mckp["total_s"], 4),
        "mckp_1m_x5_s" if not args.quick else "mckp_large_x5_s": round(large["mckp"]["total_s"], 4),
        "mckp_large_runs_s": [round(row["total_s"], 4) for row in repeats],
        "count_limits": {
            "mckp_seed_shape_s": round(counted["mckp"]["total_s"], 4),
            "mckp_seed_shape_gap_rel": counted["mckp"]["gap_rel"],
            "cp_sat_seed_shape_s": round(counted["ortools-cp-sat"]["total_s"], 4),
            "cp_sat_status": counted["ortools-cp-sat"]["status"],
            "mckp_minus_cp_sat_objective": (None if counted["ortools-cp-sat"]["objective"] is None
                                            else counted["mckp"]["objective"] - counted["ortools-cp-sat"]["objective"]),
            "mckp_large_s": round(large_limited["total_s"], 4),
            "mckp_large_gap_rel": large_limited["gap_rel"],
        },
        "large": {k: {"status": v["status"], "objective": v["objective"], "bound": v["bound"],
                      "gap_rel": v["gap_rel"], "build_s": round(v["build_seconds"], 3),
                      "total_s": round(v["total_s"], 3)} for k, v in large.items()},
    }))


if __name__ == "__main__":
    main()
