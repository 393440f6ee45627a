"""Per-treatment count limits for `mckp`: prices on the treatments, then a plan repaired to the limits.

Charging a price p_j for every unit given treatment j folds the limits into the scores: for any
prices, the LP over the re-priced hulls plus sum(max(p, 0) * max_count) - sum(max(-p, 0) *
min_count) bounds the optimum from above (weak duality). Kelley's cutting planes look for the
prices that make that bound least: each relaxation's solution gives a linear cut, and a small LP
over the cuts picks the next prices. The relaxation at the best prices nearly meets the limits;
moves chosen by reduced score (re-priced score less the budget's price times cost) close the rest,
moves to cheaper options bring the plan back within the budget where those overspent it, and the
budget left over is then filled within the limits.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from engine.errors import PluginMissingError
from engine.kinds.solver import AssignmentProblem, tolerance
from plugins.solvers.mckp import (
    Hull,
    Options,
    Relaxation,
    best_moves,
    plan_from,
    relax,
    tolerant_bound,
    upper_hull,
)

PRICE_ROUNDS = 60
"""At most this many relaxations while the prices are searched."""

PRICE_GAP = 1e-9
"""The search stops once the best bound is this close (relative) to the least value the cuts allow."""


@attrs.define
class Counts:
    """Units held per treatment ("none" last), and the integral limits each count must keep within."""

    held: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def limits(cls, problem: AssignmentProblem) -> Counts:
        """The problem's limits in whole units ("none" unlimited; no maximum above the units there are)."""
        n, k = problem.shape
        fewest, most = problem.count_range()
        low = np.append(fewest, 0).astype(np.int64)
        high = np.append(np.minimum(most, n), n).astype(np.int64)
        return cls(np.zeros(k + 1, np.int64), low, high)

    def hold(self, treatment: np.ndarray) -> None:
        """Count the units of a plan given as each unit's treatment ("none" as the last index)."""
        self.held = np.bincount(treatment, minlength=self.low.size)

    def excess(self) -> tuple[np.ndarray, np.ndarray]:
        """Units above each maximum and below each minimum (zero or less where within the limit)."""
        return self.held - self.high, self.low - self.held

    def open(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether one unit could move from `source` to `target` now and keep both within their limits."""
        return (source != target) & (self.held[source] > self.low[source]) & (self.held[target] < self.high[target])

    def admit(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Which of these moves, taken in order, keep every count within its limits, each move counted
        against the room of both its treatments; the admitted moves are counted in."""
        ok = ((source != target) & (_place_in_group(source) < (self.held - self.low)[source])
              & (_place_in_group(target) < (self.high - self.held)[target]))
        self.held = (self.held - np.bincount(source[ok], minlength=self.held.size)
                     + np.bincount(target[ok], minlength=self.held.size))
        return ok


def solve_with_count_limits(problem: AssignmentProblem, options: Options,
                            hull: Hull) -> tuple[np.ndarray | None, float, str, str]:
    """The plan within the count limits and the least bound the prices found give."""
    counts = Counts.limits(problem)
    reason = unmet_limits(problem, options, counts)
    if reason:
        return None, math.nan, "infeasible", reason
    prices, relaxation, bound = search_prices(problem, options, hull, counts)
    repaired = repair(problem, repriced(options, prices), relaxation, counts)
    if repaired is None:
        return None, tolerant_bound(bound, relaxation.price, problem.budget)[0], "not_solved", (
            "mckp found no plan within the count limits and the budget (its bound stands); "
            "try ortools or pulp, which solve count limits exactly")
    rank, left = repaired
    return plan_from(problem, options, rank, left, bound, counts, price=relaxation.price)


def unmet_limits(problem: AssignmentProblem, options: Options, counts: Counts) -> str:
    """Why no plan can keep within the count limits, where that shows without solving ("" otherwise).

    The cheapest way to meet the minimums costs at least every unit's cheapest option plus, for
    each treatment, the smallest extra costs of as many units as its minimum asks for.
    """
    n, k = problem.shape
    crossed = np.flatnonzero(counts.low > counts.high)
    if crossed.size:
        j = int(crossed[0])
        return f"treatment {j}'s min_count ({counts.low[j]}) is above its max_count ({counts.high[j]})"
    if int(counts.low.sum()) > n:
        return f"the min_count values add up to {int(counts.low.sum())} units, more than the {n} there are"
    if not problem.allow_none and int(counts.high[:k].sum()) < n:
        return (f"every unit must get a treatment but the max_count values add up to "
                f"{int(counts.high[:k].sum())}, fewer than the {n} units")
    cheapest = np.asarray(options.cost[0], float)
    extra = problem.cost_matrix - cheapest[:, None]
    least = float(cheapest.sum()) + sum(float(np.partition(extra[:, j], low - 1)[:low].sum())
                                        for j, low in enumerate(counts.low[:k].tolist()) if low > 0)
    if least > problem.budget + tolerance(problem.budget):
        return (f"meeting the min_count values costs at least {least:.10g}, "
                f"more than the budget {problem.budget:.10g}")
    return ""


def repriced(options: Options, prices: np.ndarray) -> Options:
    """The options with each treatment's price taken off its score ("none" costs nothing)."""
    return Options(options.cost, options.score - np.append(prices, 0.0)[options.original], options.original)


def search_prices(problem: AssignmentProblem, options: Options, hull: Hull,
                  counts: Counts) -> tuple[np.ndarray, Relaxation, float]:
    """The treatment prices with the least bound found, the relaxation at them, and that bound."""
    try:
        from scipy.optimize import linprog
    except ImportError:
        raise PluginMissingError(
            "mckp prices count limits with SciPy's linprog: pip install 'hookyard[solvers]'") from None

    n, k = problem.shape
    capped, floored = counts.high[:k] < n, counts.low[:k] > 0
    high = np.where(capped, counts.high[:k], 0).astype(float)
    low = np.where(floored, counts.low[:k], 0).astype(float)
    reach = _price_reach(options, hull)
    # Master LP over (z, a, b) with prices a - b: least z + high.a - low.b above every cut.
    objective = np.r_[1.0, high, -low]
    box = [(None, None)] + [(0.0, reach if c else 0.0) for c in capped] + [(0.0, reach if f else 0.0) for f in floored]
    cuts, rhs = [], []
    prices, best = np.zeros(k), None
    for _ in range(PRICE_ROUNDS):
        priced = repriced(options, prices)
        relaxation = relax(problem, priced, hull if not prices.any() else upper_hull(priced))
        bound = relaxation.value + float(np.maximum(prices, 0) @ high - np.maximum(-prices, 0) @ low)
        if best is None or bound < best[2]:
            best = (prices, relaxation, bound)
        held = _lp_counts(options.original, relaxation, k + 1)[:k]
        cuts.append(np.r_[-1.0, -held, held])
        rhs.append(-(relaxation.value + float(held @ prices)))
        master = linprog(objective, A_ub=np.array(cuts), b_ub=rhs, bounds=box, method="highs")
        if master.status != 0 or best[2] - master.fun <= PRICE_GAP * max(1.0, abs(best[2])):
            break
        prices = master.x[1:k + 1] - master.x[k + 1:]
    return best


def _price_reach(options: Options, hull: Hull) -> float:
    """How far a price may go: beyond the spread of scores plus the steepest slope times the spread
    of costs, a price only pushes units off a treatment that already has none."""
    slopes = np.abs(hull.slope[np.isfinite(hull.slope)])
    steepest = float(slopes.max()) if slopes.size else 0.0
    spread = float(np.ptp(options.score)) + steepest * float(np.ptp(options.cost))
    return 2.0 * spread + 1.0


def _lp_counts(original: np.ndarray, relaxation: Relaxation, size: int) -> np.ndarray:
    """Units per treatment in the LP's solution, the unit taken in part split by its share."""
    units = np.arange(relaxation.rank.size)
    held = np.bincount(original[relaxation.rank, units], minlength=size).astype(float)
    if relaxation.partial is not None:
        unit, to, share = relaxation.partial
        held[original[relaxation.rank[unit], unit]] -= share
        held[original[to, unit]] += share
    return held


def repair(problem: AssignmentProblem, priced: Options, relaxation: Relaxation,
           counts: Counts) -> tuple[np.ndarray, float] | None:
    """The relaxation's integral part moved until every count keeps within its limits, then until
    it keeps within the budget; with the budget left. None when the budget cannot be met so."""
    units = np.arange(relaxation.rank.size)
    counts.hold(priced.original[relaxation.rank, units])
    rank = _meet_counts(priced, relaxation.rank, relaxation.price, counts)
    return None if rank is None else _shed(problem, priced, rank, counts)


def _meet_counts(priced: Options, rank: np.ndarray, price: float, counts: Counts) -> np.ndarray | None:
    """Moves, in rounds, that leave a treatment above its maximum or join one below its minimum,
    best reduced score (re-priced score less the budget's price times cost) first.

    Each round's first move is always admitted (a move is there, as the limits passed
    `unmet_limits`) and every admitted move shrinks a violation, so the rounds are at most as
    many as the units the limits are missed by. None if they still are.
    """
    T = priced.original
    rank = rank.copy()
    units = np.arange(rank.size)
    for _ in range(int(sum(np.maximum(excess, 0).sum() for excess in counts.excess())) + 1):
        over, short = counts.excess()
        if (over <= 0).all() and (short <= 0).all():
            return rank
        here_t = T[rank, units]
        leaving = over[here_t] > 0

        def merit(r: int, dc: np.ndarray, ds: np.ndarray) -> np.ndarray:
            allowed = (leaving | (short[T[r]] > 0)) & counts.open(here_t, T[r])
            return np.where(allowed, ds - price * dc, -np.inf)

        best, _, _, to = best_moves(priced, rank, units, merit)
        movers = np.flatnonzero(np.isfinite(best))
        movers = movers[np.argsort(-best[movers], kind="stable")]
        source, target = here_t[movers], T[to[movers], movers]
        needed = (_place_in_group(source) < over[source]) | (_place_in_group(target) < short[target])
        movers = movers[needed][counts.admit(source[needed], target[needed])]
        rank[movers] = to[movers]
    return None


def _shed(problem: AssignmentProblem, priced: Options, rank: np.ndarray,
          counts: Counts) -> tuple[np.ndarray, float] | None:
    """Moves to cheaper options that the counts admit, least re-priced score lost per cost saved
    first, until the plan keeps within the budget."""
    T = priced.original
    tol = tolerance(problem.budget)
    rank = rank.copy()
    units = np.arange(rank.size)
    left = problem.budget - float(priced.cost[rank, units].sum())
    while left < -tol:
        here_t = T[rank, units]

        def merit(r: int, dc: np.ndarray, ds: np.ndarray) -> np.ndarray:
            allowed = (dc < 0) & counts.open(here_t, T[r])
            return np.divide(ds, -dc, out=np.full(dc.size, -np.inf), where=allowed)

        best, dc, _, to = best_moves(priced, rank, units, merit)
        movers = np.flatnonzero(np.isfinite(best))
        if movers.size == 0:
            return None
        movers = movers[np.argsort(-best[movers], kind="stable")]
        movers = movers[: int(np.searchsorted(np.cumsum(-dc[movers]), -left - tol)) + 1]
        movers = movers[counts.admit(here_t[movers], T[to[movers], movers])]
        rank[movers] = to[movers]
        left -= float(dc[movers].sum())
    return rank, left


def _place_in_group(groups: np.ndarray) -> np.ndarray:
    """Each item's place among the items of its group, in order (0 for the first of each group)."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    place = np.empty(groups.size, np.intp)
    place[order] = np.arange(groups.size) - np.repeat(starts, np.diff(np.r_[starts, groups.size]))
    return place
