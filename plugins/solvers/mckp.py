"""A native multiple-choice knapsack solver: the LP relaxation's bound and a near-optimal integer plan.

Each unit's options (treatments plus "none") are points (cost, score); the LP relaxation only
ever uses the upper concave hull of those points, and taking hull segments in order of falling
slope until the budget is spent solves it exactly (Sinha and Zoltners). The greedy stops at a
critical slope λ; every unit then sits at its best option under score - λ·cost, so the LP value
is also the Lagrangian dual value and a proven upper bound. The budget left over is filled
greedily. Arrays are laid out option-major, (options, units), and every loop runs over the
handful of options, never over units.
"""

from __future__ import annotations

import math
import time

import attrs
import numpy as np

from engine.kinds.solver import AssignmentProblem, AssignmentResult, tolerance
from plugins.solvers.outcome import assignment_result, refuse_count_limits

FILL_ROUNDS = 64
"""At most this many passes that spend the budget left after the whole hull segments."""

SORT_BELOW = 1 << 16
"""The critical slope is narrowed down until this few segments are left, then found by sorting them."""

PIVOT_SAMPLE, PIVOT_MARGIN = 1 << 14, 1 << 7
"""Pivots are guessed from a sample of about this many slopes, this many sample places either side."""


@attrs.frozen
class Options:
    """Every unit's options sorted by cost, option-major: (cost, score) of option rank r of unit i at [r, i].

    `original[r, i]` is the treatment index of that option (K for "none"). Costs given per
    treatment make one order for all units, so `cost` and `original` are then broadcast views.
    """

    cost: np.ndarray
    score: np.ndarray
    original: np.ndarray


@attrs.frozen
class Hull:
    """Every unit's upper concave hull, by option rank: it starts at rank `first[i]`, and `slope[r, i]`/
    `width[r, i]` belong to the hull segment that ends at rank r (slope -inf where no segment ends there).

    Along a unit's hull the slopes fall, so the segments steeper than any level form a prefix of it.
    """

    first: np.ndarray
    slope: np.ndarray
    width: np.ndarray


def sorted_options(problem: AssignmentProblem) -> Options:
    """The options of every unit in order of cost, with "none" at (0, 0) when it is allowed."""
    n, k = problem.shape
    m = k + problem.allow_none
    costs = problem.costs
    if problem.allow_none:
        costs = np.concatenate([costs, np.zeros(costs.shape[:-1] + (1,))], axis=-1)
    if costs.ndim == 1:
        order = np.argsort(costs, kind="stable")
        net = problem.objective == "net"
        score = np.zeros((m, n))
        for r, j in enumerate(order.tolist()):
            if j < k:
                np.subtract(problem.values[:, j], costs[j] if net else 0.0, out=score[r])
        return Options(np.broadcast_to(costs[order][:, None], (m, n)), score, np.broadcast_to(order[:, None], (m, n)))
    order = np.argsort(costs, axis=1, kind="stable").T.astype(np.intp)
    scores = problem.scores
    padded = np.concatenate([scores.T, np.zeros((1, n))]) if problem.allow_none else scores.T
    return Options(np.take_along_axis(costs.T, order, axis=0), np.take_along_axis(padded, order, axis=0), order)


def _turn(oc: np.ndarray, os_: np.ndarray, ac: np.ndarray, as_: np.ndarray,
          bc: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """Cross product of (a - o) and (b - o): >= 0 where a lies on or under the line from o to b."""
    return (ac - oc) * (bs - os_) - (as_ - os_) * (bc - oc)


def upper_hull(options: Options) -> Hull:
    """Andrew's monotone chain for every unit at once: one sweep over the option ranks.

    Rank r is pushed on each unit's stack after popping the vertices it makes redundant, and its
    segment from the vertex under it is written to row r; each pop round only touches the units
    that still pop. `below[r]` remembers the vertex under r. Of options with equal cost the best stays.
    """
    C, S = options.cost, options.score
    m, n = S.shape
    slope, width = np.full((m, n), -np.inf), np.zeros((m, n))
    below = np.full((m, n), -1, np.int8 if m < 128 else np.intp)
    first, top, under = np.zeros(n, np.intp), np.zeros(n, np.intp), np.full(n, -1, np.intp)
    top_c, top_s = C[0].astype(float), S[0].copy()
    under_c, under_s = np.full(n, np.nan), np.full(n, np.nan)
    for r in range(1, m):
        c, s = C[r], S[r]
        same = c <= top_c
        keep = ~same | (s > top_s)
        with np.errstate(invalid="ignore"):
            pops = np.flatnonzero(keep & (same | (_turn(under_c, under_s, top_c, top_s, c, s) >= 0)))
        while pops.size:
            slope[top[pops], pops] = -np.inf
            top[pops], top_c[pops], top_s[pops] = under[pops], under_c[pops], under_s[pops]
            under[pops] = np.where(under[pops] >= 0, below[np.maximum(under[pops], 0), pops], -1)
            pops = pops[under[pops] >= 0]
            under_c[pops], under_s[pops] = C[under[pops], pops], S[under[pops], pops]
            pops = pops[_turn(under_c[pops], under_s[pops], top_c[pops], top_s[pops], c[pops], s[pops]) >= 0]
        empty = top < 0
        with np.errstate(invalid="ignore", divide="ignore"):
            np.subtract(c, top_c, out=width[r])
            np.divide(s - top_s, width[r], out=slope[r], where=keep & ~empty)
        below[r] = top
        first[keep & empty] = r
        under, under_c, under_s = np.where(keep, top, under), np.where(keep, top_c, under_c), np.where(keep, top_s, under_s)
        top, top_c, top_s = np.where(keep, r, top), np.where(keep, c, top_c), np.where(keep, s, top_s)
    return Hull(first, slope, width)


class MCKPSolver:
    """The LP bound of the multiple-choice knapsack and a greedy integer plan, for millions of units."""

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        refuse_count_limits(problem, "mckp")
        started = time.perf_counter()
        options = sorted_options(problem)
        hull = upper_hull(options)
        built = time.perf_counter()
        plan, bound, status, message = _solve_on_hull(problem, options, hull)
        done = time.perf_counter()
        return assignment_result(problem, plan, bound=bound, status=status, backend="mckp",
                                 build_seconds=built - started, solve_seconds=done - built, message=message)


def _solve_on_hull(problem: AssignmentProblem, options: Options,
                   hull: Hull) -> tuple[np.ndarray | None, float, str, str]:
    exact = problem.budget_sense == "=="
    tol = tolerance(problem.budget)
    units = np.arange(hull.first.size)
    base_cost = float(options.cost[hull.first, units].sum())
    room = problem.budget - base_cost
    if room < -tol:
        return None, math.nan, "infeasible", (
            f"the cheapest plan (every unit at its cheapest option) costs {base_cost:.10g}, "
            f"more than the budget {problem.budget:.10g}")
    usable = hull.slope > (-np.inf if exact else 0.0)
    slopes, widths = hull.slope[usable], hull.width[usable]
    if exact and float(widths.sum()) < room - tol:
        most = base_cost + float(widths.sum())
        return None, math.nan, "infeasible", (
            f"the budget {problem.budget:.10g} must be spent exactly but the dearest plan costs only {most:.10g}")
    critical = critical_slope(slopes, widths, room + tol)
    taken = usable if critical is None else _taken(hull, usable, critical, room + tol)
    rank = hull.first.copy()
    for r in range(1, taken.shape[0]):
        rank[taken[r]] = r
    cost, score = options.cost[rank, units], options.score[rank, units]
    left = problem.budget - float(cost.sum())
    bound = float(score.sum()) + (critical or 0.0) * left
    rank, left = _fill(options, rank, cost, score, left, exact, tol)
    if exact and abs(left) > tol:
        return _unmet_equality(problem, bound, left)
    plan = options.original[rank, units]
    plan = np.where(plan >= problem.shape[1], -1, plan).astype(np.int64)
    objective = float(options.score[rank, units].sum())
    status = "optimal" if bound - objective <= 1e-9 * max(1.0, abs(bound)) else "feasible"
    return plan, bound, status, ""


def critical_slope(slope: np.ndarray, width: np.ndarray, room: float) -> float | None:
    """The slope at which taking segments steepest first overruns `room`: the largest v with
    width[slope >= v].sum() > room (None when every segment fits).

    Weighted selection without a full sort: each pass keeps the band between two pivots that
    holds the answer, guessed from a sample (or the median, when a guess did not halve the band).
    """
    if float(width.sum()) <= room:
        return None
    above, guess = 0.0, True
    while slope.size > SORT_BELOW:
        high, low = _pivots(slope, width, room - above) if guess else (np.median(slope),) * 2
        steeper = slope > high
        reach = above + float(width[steeper].sum())
        band = ~steeper & (slope >= low)
        if reach > room:
            band = steeper
        elif reach + float(width[band].sum()) <= room:
            above = reach + float(width[band].sum())
            band = ~steeper & ~band
        elif high == low:
            return float(high)
        else:
            above = reach
        guess = 2 * int(band.sum()) < slope.size
        slope, width = slope[band], width[band]
    order = np.argsort(-slope, kind="stable")
    reach = above + np.cumsum(width[order])
    return float(slope[order[int(np.searchsorted(reach, room, side="right"))]])


def _pivots(slope: np.ndarray, width: np.ndarray, room: float) -> tuple[float, float]:
    """Two slopes that likely bracket the critical one, read off an evenly spaced sample."""
    stride = max(1, slope.size // PIVOT_SAMPLE)
    sample = np.sort(slope[::stride])[::-1]
    reach = np.cumsum(width[::stride][np.argsort(-slope[::stride], kind="stable")]) * stride
    at = int(np.searchsorted(reach, room, side="right"))
    return float(sample[max(at - PIVOT_MARGIN, 0)]), float(sample[min(at + PIVOT_MARGIN, sample.size - 1)])


def _taken(hull: Hull, usable: np.ndarray, critical: float, room: float) -> np.ndarray:
    """The segments steeper than `critical`, and those as steep as it that still fit, taken in hull
    order (by rank: every unit's earlier segments first)."""
    taken = usable & (hull.slope > critical)
    left = room - float(hull.width[taken].sum())
    rank, unit = np.nonzero(usable & (hull.slope == critical))
    fits = np.cumsum(hull.width[rank, unit]) <= left
    taken[rank[fits], unit[fits]] = True
    return taken


def _fill(options: Options, rank: np.ndarray, cost: np.ndarray, score: np.ndarray, left: float,
          exact: bool, tol: float) -> tuple[np.ndarray, float]:
    """Spend what is left on the best single-unit moves that fit, most efficient first, in rounds.

    A unit with no move that fits keeps having none as the budget shrinks, so each round only
    looks at the units that had one in the round before.
    """
    C, S = options.cost, options.score
    rank = rank.copy()
    units = np.arange(rank.size)
    for _ in range(FILL_ROUNDS):
        if left <= tol or units.size == 0:
            break
        best_ds = np.full(units.size, -np.inf)
        best_dw = np.zeros(units.size)
        best_rank = np.zeros(units.size, np.intp)
        here_c, here_s = cost[units], score[units]
        for r in range(C.shape[0]):
            dw, ds = C[r, units] - here_c, S[r, units] - here_s
            better = (dw > 0) & (dw <= left + tol) & (ds > best_ds) & (exact | (ds > 0))
            best_ds, best_dw, best_rank = (np.where(better, ds, best_ds), np.where(better, dw, best_dw),
                                           np.where(better, r, best_rank))
        units, best_ds, best_dw, best_rank = (a[np.isfinite(best_ds)] for a in (units, best_ds, best_dw, best_rank))
        if units.size == 0:
            break
        order = np.argsort(-(best_ds / best_dw), kind="stable")
        take = order[: max(1, int(np.searchsorted(np.cumsum(best_dw[order]), left + tol, side="right")))]
        moved = units[take]
        rank[moved] = best_rank[take]
        cost[moved] += best_dw[take]
        score[moved] += best_ds[take]
        left -= float(best_dw[take].sum())
    return rank, left


def _unmet_equality(problem: AssignmentProblem, bound: float, left: float) -> tuple[None, float, str, str]:
    """Prove the exact budget unreachable when all costs share a decimal unit; otherwise say it was not found."""
    costs = np.unique(np.r_[problem.costs.ravel(), 0.0] if problem.allow_none else problem.costs)
    for digits in range(7):
        scaled = np.r_[costs, problem.budget] * 10.0**digits
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
