"""A native multiple-choice knapsack solver: the LP relaxation's bound and a near-optimal integer plan.

Each unit's options (treatments plus "none") are points (cost, score); the LP relaxation only
ever uses the upper concave hull of those points, and taking hull segments in order of falling
slope until the budget is spent solves it exactly (Sinha and Zoltners). The segments taken
whole give an integer plan; the budget left over is filled greedily. The LP value is a proven
upper bound, so the gap is certified. Everything is numpy over all units at once.
"""

from __future__ import annotations

import time

import attrs
import numpy as np

from engine.kinds.solver import AssignmentProblem, AssignmentResult, tolerance
from plugins.solvers.outcome import assignment_result, refuse_count_limits

FILL_ROUNDS = 64
"""At most this many passes that spend the budget left after the whole hull segments."""


@attrs.frozen
class Hull:
    """Every unit's upper concave hull: its leftmost point and the segments after it, in order."""

    costs: np.ndarray
    scores: np.ndarray
    start: np.ndarray
    row: np.ndarray
    end: np.ndarray
    step: np.ndarray
    dw: np.ndarray
    ds: np.ndarray


def _options(problem: AssignmentProblem) -> tuple[np.ndarray, np.ndarray]:
    """(cost, score) of every option, with "none" as a last column at (0, 0) when it is allowed."""
    costs, scores = problem.cost_matrix, problem.scores
    if problem.allow_none:
        zero = np.zeros((costs.shape[0], 1))
        return np.hstack([costs, zero]), np.hstack([scores, zero])
    return np.ascontiguousarray(costs), scores


def upper_hull(costs: np.ndarray, scores: np.ndarray) -> Hull:
    """Gift-wrap every unit's hull at once: from the cheapest (best-scoring) option, keep taking the steepest rise."""
    n, m = costs.shape
    rows = np.arange(n)
    cheapest = costs == costs.min(axis=1, keepdims=True)
    current = np.where(cheapest, scores, -np.inf).argmax(axis=1)
    start = current.copy()
    parts: list[tuple[np.ndarray, ...]] = []
    for step in range(m - 1):
        cw, cs = costs[rows, current], scores[rows, current]
        dw = costs - cw[:, None]
        ahead = dw > 0
        slope = np.where(ahead, (scores - cs[:, None]) / np.where(ahead, dw, 1.0), -np.inf)
        steepest = slope.max(axis=1)
        live = np.flatnonzero(np.isfinite(steepest))
        if live.size == 0:
            break
        level = steepest[live, None]
        ties = slope[live] >= level - 1e-12 * np.abs(level)
        nxt = np.where(ties, dw[live], -np.inf).argmax(axis=1)
        parts.append((live, nxt, np.full(live.size, step), dw[live, nxt], scores[live, nxt] - cs[live]))
        current[live] = nxt
    if not parts:
        empty = np.zeros(0, int)
        return Hull(costs, scores, start, empty, empty, empty, np.zeros(0), np.zeros(0))
    row, end, step_no, seg_dw, seg_ds = (np.concatenate(p) for p in zip(*parts))
    return Hull(costs, scores, start, row, end, step_no, seg_dw, seg_ds)


class MCKPSolver:
    """The LP bound of the multiple-choice knapsack and a greedy integer plan, for millions of units."""

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        refuse_count_limits(problem, "mckp")
        started = time.perf_counter()
        hull = upper_hull(*_options(problem))
        built = time.perf_counter()
        plan, bound, status, message = _solve_on_hull(problem, hull)
        done = time.perf_counter()
        return assignment_result(problem, plan, bound=bound, status=status, backend="mckp",
                                 build_seconds=built - started, solve_seconds=done - built, message=message)


def _solve_on_hull(problem: AssignmentProblem, hull: Hull) -> tuple[np.ndarray | None, float, str, str]:
    n = problem.shape[0]
    rows = np.arange(n)
    exact = problem.budget_sense == "=="
    base_cost = float(hull.costs[rows, hull.start].sum())
    base_score = float(hull.scores[rows, hull.start].sum())
    room = problem.budget - base_cost
    tol = tolerance(problem.budget)
    if room < -tol:
        return None, np.nan, "infeasible", (
            f"the cheapest plan (every unit at its cheapest option) costs {base_cost:.10g}, "
            f"more than the budget {problem.budget:.10g}")
    slope = hull.ds / hull.dw
    usable = np.flatnonzero(np.ones_like(slope, bool) if exact else slope > 0)
    order = usable[np.lexsort((hull.step[usable], -slope[usable]))]
    spent = np.cumsum(hull.dw[order])
    gained = np.cumsum(hull.ds[order])
    if exact and (spent[-1] if spent.size else 0.0) < room - tol:
        most = base_cost + (spent[-1] if spent.size else 0.0)
        return None, np.nan, "infeasible", (
            f"the budget {problem.budget:.10g} must be spent exactly but the dearest plan costs only {most:.10g}")
    whole = int(np.searchsorted(spent, room + tol, side="right"))
    bound = base_score + (gained[whole - 1] if whole else 0.0)
    left = room - (spent[whole - 1] if whole else 0.0)
    if whole < order.size and left > 0:
        part = order[whole]
        bound += hull.ds[part] * left / hull.dw[part]
    vertex = _vertices(hull, order[:whole])
    vertex, left = _fill(hull, vertex, left, exact, tol)
    if exact and abs(left) > tol:
        return _unmet_equality(problem, hull, bound, left)
    plan = _plan(problem, vertex)
    objective = float(hull.scores[rows, vertex].sum())
    status = "optimal" if bound - objective <= 1e-9 * max(1.0, abs(bound)) else "feasible"
    return plan, bound, status, ""


def _vertices(hull: Hull, taken: np.ndarray) -> np.ndarray:
    """Each unit's hull point after the taken segments (a unit's segments are taken in hull order)."""
    vertex = hull.start.copy()
    if taken.size:
        by_row = taken[np.lexsort((hull.step[taken], hull.row[taken]))]
        last = np.r_[hull.row[by_row][1:] != hull.row[by_row][:-1], True]
        vertex[hull.row[by_row[last]]] = hull.end[by_row[last]]
    return vertex


def _fill(hull: Hull, vertex: np.ndarray, left: float, exact: bool, tol: float) -> tuple[np.ndarray, float]:
    """Spend what is left on the best single-unit moves that fit, most efficient first, in rounds."""
    rows = np.arange(vertex.size)
    for _ in range(FILL_ROUNDS):
        if left <= tol:
            break
        dw = hull.costs - hull.costs[rows, vertex][:, None]
        ds = hull.scores - hull.scores[rows, vertex][:, None]
        fits = (dw > 0) & (dw <= left + tol) & (True if exact else ds > 0)
        gain = np.where(fits, ds, -np.inf)
        best = gain.argmax(axis=1)
        movers = np.flatnonzero(np.isfinite(gain[rows, best]))
        if movers.size == 0:
            break
        move_dw, move_ds = dw[movers, best[movers]], ds[movers, best[movers]]
        rank = np.argsort(-(move_ds / move_dw), kind="stable")
        cum = np.cumsum(move_dw[rank])
        take = rank[: max(1, int(np.searchsorted(cum, left + tol, side="right")))]
        vertex[movers[take]] = best[movers[take]]
        left -= float(move_dw[take].sum())
    return vertex, left


def _plan(problem: AssignmentProblem, vertex: np.ndarray) -> np.ndarray:
    k = problem.shape[1]
    return np.where(vertex >= k, -1, vertex).astype(np.int64)


def _unmet_equality(problem: AssignmentProblem, hull: Hull, bound: float, left: float) -> tuple[None, float, str, str]:
    """Prove the exact budget unreachable when all costs share a decimal unit; otherwise say it was not found."""
    for digits in range(7):
        scaled = np.r_[np.unique(hull.costs), problem.budget] * 10.0**digits
        integral = np.round(scaled)
        if np.allclose(scaled, integral, rtol=0, atol=1e-6):
            step = int(np.gcd.reduce(np.abs(integral[:-1]).astype(np.int64)))
            if step and int(integral[-1]) % step:
                unit = step / 10.0**digits
                return None, bound, "infeasible", (
                    f"no plan spends exactly {problem.budget:.10g}: every cost is a multiple of {unit:g} "
                    "and the budget is not")
            break
    return None, bound, "not_solved", (
        f"mckp found no plan spending exactly {problem.budget:.10g} ({left:.3g} left unspent); "
        "the LP bound stands; try an exact solver (ortools or pulp)")
