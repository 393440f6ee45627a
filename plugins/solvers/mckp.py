"""A native multiple-choice knapsack solver: the LP relaxation's bound and a near-optimal integer plan.

Each unit's options (treatments plus "none") are points (cost, score); the LP relaxation only
ever uses the upper concave hull of those points, and taking hull segments in order of falling
slope until the budget is spent solves it exactly (Sinha and Zoltners). The greedy stops at a
critical slope λ; every unit then sits at its best option under score - λ·cost, so the LP value
is also the Lagrangian dual value and a proven upper bound. The budget left over is filled
greedily. Arrays are laid out option-major, (options, units), and every loop runs over the
handful of options, never over units. Count limits are priced in by `mckp_counts`; a problem
in partitions is solved partition by partition by `mckp_partitions`, to the same plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import numpy as np

from engine.kinds.solver import AssignmentProblem, AssignmentResult, PartitionedProblem, tolerance
from plugins.solvers.outcome import assignment_result

if TYPE_CHECKING:
    from plugins.solvers.mckp_counts import Counts

FILL_ROUNDS = 64
"""At most this many passes that spend the budget left after the whole hull segments."""

SORT_BELOW = 1 << 16
"""The critical slope is narrowed down until this few segments are left, then found by sorting them."""

PIVOT_SAMPLE, PIVOT_MARGIN = 1 << 14, 1 << 7
"""Pivots are guessed from a sample of about this many slopes, this many sample places either side."""

OVERRUN = 0.5
"""The share of the feasibility tolerance the relaxation and the fill may spend past the budget to absorb
rounding; the rest keeps the plan's own rounding from tipping it past the tolerance."""

EXACT_DIGITS = 7
"""An exact budget is proven unreachable when costs and budget are whole in units of 10**-d, d below this."""


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


@attrs.frozen
class Relaxation:
    """The LP relaxation solved on the hulls.

    `rank` is each unit's option in the relaxation's integral part; `left` the budget that part
    leaves; `price` the budget's critical slope (0 where the budget does not bind); `value` the
    LP optimum, a proven bound. Where the LP takes a hull segment only in part, `partial` is
    (unit, the option rank that segment leads to, the share taken).
    """

    rank: np.ndarray
    left: float
    price: float
    value: float
    partial: tuple[int, int, float] | None


class MCKPSolver:
    """The LP bound of the multiple-choice knapsack and a greedy integer plan, for millions of units.

    `keep_units`: how many units' options and hulls a partitioned solve keeps in memory (the first
    partitions'); the other partitions keep a one-byte vertex mask per unit and are reloaded and
    their hulls rebuilt from it when a step needs all their units.
    """

    def __init__(self, keep_units: int = 2_000_000) -> None:
        self.keep_units = int(keep_units)

    def solve_partitioned(self, problem: PartitionedProblem) -> AssignmentResult:
        """The plan `solve` makes for `problem.whole()`, found partition by partition (`mckp_partitions`)
        without arrays for all units but the plan. Count limits, and an exact budget the partitioned fill
        misses (which `solve` repairs), are solved on `problem.whole()` in memory."""
        if problem.has_count_limits:
            return self.solve(problem.whole())
        from plugins.solvers.mckp_partitions import local_workers, solve

        result = solve(problem, local_workers(problem, self.keep_units))
        if result.status == "not_solved" and problem.budget_sense == "==":
            return self.solve(problem.whole())
        return result

    def solve(self, problem: AssignmentProblem) -> AssignmentResult:
        started = time.perf_counter()
        options = sorted_options(problem)
        hull = upper_hull(options)
        built = time.perf_counter()
        reason = unreachable_budget(problem, options, hull)
        if reason:
            plan, bound, status, message = None, math.nan, "infeasible", reason
        elif problem.has_count_limits:
            from plugins.solvers.mckp_counts import solve_with_count_limits

            plan, bound, status, message = solve_with_count_limits(problem, options, hull)
        else:
            relaxation = relax(problem, options, hull)
            plan, bound, status, message = plan_from(problem, options, relaxation.rank, relaxation.left,
                                                     relaxation.value, price=relaxation.price)
        done = time.perf_counter()
        return assignment_result(problem, plan, bound=bound, status=status, backend="mckp",
                                 build_seconds=built - started, solve_seconds=done - built, message=message)


def unreachable_budget(problem: AssignmentProblem, options: Options, hull: Hull) -> str:
    """Why no plan can meet the budget, from the costs alone ("" when one may)."""
    units = np.arange(hull.first.size)
    base_cost = float(options.cost[hull.first, units].sum())
    most = base_cost + float(hull.width[np.isfinite(hull.slope)].sum())
    return budget_out_of_reach(problem.budget, problem.budget_sense == "==", base_cost, most)


def budget_out_of_reach(budget: float, exact: bool, cheapest: float, dearest: float) -> str:
    """Why a budget is out of reach of plans costing `cheapest` to `dearest` ("" when it is not)."""
    tol = tolerance(budget)
    if budget - cheapest < -tol:
        return (f"the cheapest plan (every unit at its cheapest option) costs {cheapest:.10g}, "
                f"more than the budget {budget:.10g}")
    if exact and dearest < budget - tol:
        return f"the budget {budget:.10g} must be spent exactly but the dearest plan costs only {dearest:.10g}"
    return ""


def relax(problem: AssignmentProblem, options: Options, hull: Hull) -> Relaxation:
    """Hull segments taken by falling slope until the budget is spent (all of them, negative slopes
    included, when it must be spent exactly); the last one that does not fit is taken in part."""
    exact = problem.budget_sense == "=="
    tol = tolerance(problem.budget)
    units = np.arange(hull.first.size)
    room = problem.budget - float(options.cost[hull.first, units].sum()) + OVERRUN * tol
    usable = hull.slope > (-np.inf if exact else 0.0)
    critical = critical_slope(hull.slope[usable], hull.width[usable], room)
    taken, partial = (usable, None) if critical is None else _taken(hull, usable, critical, room)
    rank = hull.first.copy()
    for r in range(1, taken.shape[0]):
        rank[taken[r]] = r
    left = problem.budget - float(options.cost[rank, units].sum())
    price = critical or 0.0
    return Relaxation(rank, left, price, float(options.score[rank, units].sum()) + price * left, partial)


def plan_from(problem: AssignmentProblem, options: Options, rank: np.ndarray, left: float, bound: float,
              counts: Counts | None = None, price: float | None = None) -> tuple[np.ndarray | None, float, str, str]:
    """The plan at option ranks `rank` once the budget `left` is filled (within `counts`' limits),
    with its status against `bound`. An exact budget the fill misses is repaired (`mckp_exact`) when
    the relaxation's `price` is given and there are no count limits."""
    exact = problem.budget_sense == "=="
    tol = tolerance(problem.budget)
    bound, slack = tolerant_bound(bound, price, problem.budget)
    rank, left = _fill(options, rank, left, exact, tol, counts)
    if exact and abs(left) > tol:
        steps = _cost_steps(problem)
        repaired = None
        if counts is None and price is not None:
            from plugins.solvers.mckp_exact import repair

            repaired = repair(options, rank, problem.budget, price, steps)
        if repaired is None:
            return unmet_equality(problem.budget, bound, left, steps)
        rank = repaired
    units = np.arange(rank.size)
    plan = options.original[rank, units]
    plan = np.where(plan >= problem.shape[1], -1, plan).astype(np.int64)
    objective = float(options.score[rank, units].sum())
    return plan, bound, judged(bound, objective, slack), ""


def tolerant_bound(bound: float, price: float | None, budget: float) -> tuple[float, float]:
    """The bound for every plan whose spend is within the feasibility tolerance of `budget` (as the
    fill's may be), from the Lagrangian bound at the budget itself and its multiplier `price`: the
    Lagrangian at budget ± tolerance, which is larger by |price| times the tolerance. Also that slack."""
    slack = abs(price or 0.0) * tolerance(budget)
    return bound + slack, slack


def judged(bound: float, objective: float, slack: float) -> str:
    """"optimal" when the plan reaches the bound but for the tolerance's worth `slack`, else "feasible"."""
    return "optimal" if bound - objective <= 1e-9 * max(1.0, abs(bound)) + slack else "feasible"


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
    return pivots(slope[::stride], width[::stride] * stride, room)


def pivots(slope: np.ndarray, weight: np.ndarray, room: float) -> tuple[float, float]:
    """Two slopes that likely bracket the critical one, from a sample whose slopes stand for `weight` each."""
    order = np.argsort(-slope, kind="stable")
    sample = slope[order]
    at = int(np.searchsorted(np.cumsum(weight[order]), room, side="right"))
    return float(sample[max(at - PIVOT_MARGIN, 0)]), float(sample[min(at + PIVOT_MARGIN, sample.size - 1)])


def _taken(hull: Hull, usable: np.ndarray, critical: float,
           room: float) -> tuple[np.ndarray, tuple[int, int, float] | None]:
    """The segments steeper than `critical`, and those as steep as it that still fit, taken in hull
    order (by rank: every unit's earlier segments first); and the first that does not fit, in part."""
    taken = usable & (hull.slope > critical)
    left = room - float(hull.width[taken].sum())
    rank, unit = np.nonzero(usable & (hull.slope == critical))
    reach = np.cumsum(hull.width[rank, unit])
    fits = int(np.searchsorted(reach, left, side="right"))
    taken[rank[:fits], unit[:fits]] = True
    if fits == rank.size:
        return taken, None
    share = (left - (reach[fits - 1] if fits else 0.0)) / hull.width[rank[fits], unit[fits]]
    return taken, (int(unit[fits]), int(rank[fits]), float(share))


def best_moves(options: Options, rank: np.ndarray, units: np.ndarray,
               merit: Callable[[int, np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, ...]:
    """Each unit's best move to another option: `merit(r, dc, ds)` scores moving `units` to option
    rank r, which changes their cost by dc and score by ds (-inf: not allowed).

    Returns the best merit (-inf where no move is allowed), its dc and ds, and the rank moved to.
    """
    C, S = options.cost, options.score
    here_c, here_s = C[rank[units], units], S[rank[units], units]
    best, best_dc, best_ds = np.full(units.size, -np.inf), np.zeros(units.size), np.zeros(units.size)
    best_rank = np.zeros(units.size, np.intp)
    for r in range(C.shape[0]):
        dc, ds = C[r, units] - here_c, S[r, units] - here_s
        value = merit(r, dc, ds)
        better = value > best
        best, best_rank = np.where(better, value, best), np.where(better, r, best_rank)
        best_dc, best_ds = np.where(better, dc, best_dc), np.where(better, ds, best_ds)
    return best, best_dc, best_ds, best_rank


def _fill(options: Options, rank: np.ndarray, left: float, exact: bool, tol: float,
          counts: Counts | None) -> tuple[np.ndarray, float]:
    """Spend what is left on the best single-unit moves that fit (and that `counts` admits), most
    efficient first, in rounds.

    A unit with no move that fits keeps having none as the budget shrinks, so each round only
    looks at the units that had one in the round before.
    """
    T = options.original
    rank = rank.copy()
    units = np.arange(rank.size)
    for _ in range(FILL_ROUNDS):
        if left <= tol or units.size == 0:
            break
        here_t = None if counts is None else T[rank[units], units]

        def merit(r: int, dc: np.ndarray, ds: np.ndarray) -> np.ndarray:
            allowed = (dc > 0) & (dc <= left + OVERRUN * tol) & (exact | (ds > 0))
            if counts is not None:
                allowed &= counts.open(here_t, T[r, units])
            return np.where(allowed, ds, -np.inf)

        best, dc, ds, to = best_moves(options, rank, units, merit)
        units, dc, ds, to = (a[np.isfinite(best)] for a in (units, dc, ds, to))
        if units.size == 0:
            break
        order = np.argsort(-(ds / dc), kind="stable")
        take = order[: max(1, int(np.searchsorted(np.cumsum(dc[order]), left + OVERRUN * tol, side="right")))]
        if counts is not None:
            take = take[counts.admit(T[rank[units[take]], units[take]], T[to[take], units[take]])]
        rank[units[take]] = to[take]
        left -= float(dc[take].sum())
    return rank, left


def _cost_steps(problem: AssignmentProblem) -> list[int | None]:
    """The `decimal_steps` of every cost a plan may pay (0 among them when a unit may go untreated)."""
    return decimal_steps(np.unique(np.r_[problem.costs.ravel(), 0.0] if problem.allow_none else problem.costs))


def decimal_steps(costs: np.ndarray) -> list[int | None]:
    """For 0 to 6 decimal digits: the greatest common step of the costs in units of 10**-digits, or None
    where some cost is not a whole number of those units."""
    steps: list[int | None] = []
    for digits in range(EXACT_DIGITS):
        scaled = costs * 10.0**digits
        integral = np.round(scaled)
        whole = np.allclose(scaled, integral, rtol=0, atol=1e-6)
        steps.append(int(np.gcd.reduce(np.abs(integral).astype(np.int64))) if whole else None)
    return steps


def unmet_equality(budget: float, bound: float, left: float,
                   steps: list[int | None]) -> tuple[None, float, str, str]:
    """No plan: status "infeasible" when, at the fewest digits where the costs (given by their
    `decimal_steps`) and the budget are whole numbers, the budget is no multiple of the costs' step;
    "not_solved" otherwise."""
    for digits, step in enumerate(steps):
        scaled = budget * 10.0**digits
        if step is not None and abs(scaled - round(scaled)) <= 1e-6:
            if step and int(round(scaled)) % step:
                unit = step / 10.0**digits
                return None, bound, "infeasible", (
                    f"no plan spends exactly {budget:.10g}: every cost is a multiple of {unit:g} "
                    "and the budget is not")
            break
    return None, bound, "not_solved", (
        f"mckp found no plan spending exactly {budget:.10g} ({left:.3g} left unspent); "
        "the LP bound stands; try an exact solver (ortools or pulp)")
