"""`mckp` on partitions: a driver that talks to one worker per partition through a few calls passing
scalars and small arrays, and reaches the in-memory `mckp` plan, objective and bound.

The Lagrangian dual of the multiple-choice knapsack separates by unit. Each worker holds only its
own partition: its options and upper hulls, or (when it may not keep them) a vertex mask of one
byte per unit from which it rebuilds the hulls after reloading the partition. The driver repeats
the in-memory steps over the workers' answers, in the same order and with the same tie-breaking:
the critical slope by weighted selection over the workers' samples and tallies of a band of
slopes; the ties at it taken in (rank, unit) order; the relaxation summed partition by partition;
each fill round over the best moves each partition proposes, no more than the budget left can take
plus the first that does not fit (so the merged order stops where the in-memory order does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from engine.kinds.solver import AssignmentProblem, AssignmentResult, PartitionedProblem, tolerance
from plugins.solvers.mckp import (
    FILL_ROUNDS,
    OVERRUN,
    PIVOT_SAMPLE,
    Hull,
    Options,
    best_moves,
    budget_out_of_reach,
    decimal_steps,
    judged,
    pivots,
    sorted_options,
    tolerant_bound,
    unmet_equality,
    upper_hull,
)

GATHER = 1 << 12
"""Once a band holds this few segments, the workers send them and the driver sorts them."""

CACHE_SHARE = 16
"""A worker that does not keep its hulls keeps a band, or its fill candidates, up to 1/this of its size."""

SPARSE_SAMPLE = 64
"""A sample is taken by place (which may miss a sparse band) only where the band has this many segments per sample."""

Band = tuple[float, float]
"""Slopes s with band[0] <= s <= band[1]."""


@attrs.frozen
class Row:
    """A worker's hull segments that end at option rank `rank`: their slopes and widths, of `unit`
    (local unit indices, increasing; None: every unit in order)."""

    rank: int
    slope: np.ndarray
    width: np.ndarray
    unit: np.ndarray | None

    def inside(self, band: Band) -> np.ndarray:
        return (self.slope >= band[0]) & (self.slope <= band[1])

    def where(self, mask: np.ndarray) -> Row:
        return Row(self.rank, self.slope[mask], self.width[mask],
                   np.flatnonzero(mask) if self.unit is None else self.unit[mask])


@attrs.frozen
class Summary:
    """What a worker reports once its hulls are built: the cost of every unit at its cheapest option
    and the widths of every hull segment (the dearest plan costs their sum); the usable segments'
    (steep enough for the budget's sense) count and widths; a weighted sample of their slopes."""

    cheapest: float
    widths: float
    usable: int
    usable_width: float
    sample: tuple[np.ndarray, np.ndarray]


@attrs.frozen
class Tally:
    """A band's segments split by two pivots: widths and counts above `high` and within [low, high],
    and a weighted sample of the part within."""

    steeper_width: float
    steeper: int
    middle_width: float
    middle: int
    sample: tuple[np.ndarray, np.ndarray]


@attrs.frozen
class Ending:
    """A worker's share of the plan: the plan itself, its score summed over the options (what the
    in-memory status compares), its objective and cost as the problem scores them, and what it breaks."""

    plan: np.ndarray | None
    score: float
    objective: float
    spent: float
    broken: tuple[str, ...]


@attrs.frozen
class Reached:
    """Every unit's option rank with each segment steeper than a band taken, the cost and score of
    those options in all, and the options (cost, score by rank) of `unit`: the units with segments
    in the band, increasing. The relaxation at a slope within the band then moves only those units."""

    rank: np.ndarray
    cost: float
    score: float
    unit: np.ndarray
    unit_cost: np.ndarray
    unit_score: np.ndarray

    def advanced(self, rows: Sequence[Row], taken: Sequence[np.ndarray]) -> Reached:
        """The ranks, cost and score once the `taken` segments of the band's `rows` are taken too."""
        rank = self.rank.copy()
        for row, mask in zip(rows, taken):
            rank[row.unit[mask]] = row.rank
        at = np.flatnonzero(rank[self.unit] != self.rank[self.unit])
        old, new = self.rank[self.unit[at]], rank[self.unit[at]]
        cost = self.cost + float((self.unit_cost[new, at] - self.unit_cost[old, at]).sum())
        score = self.score + float((self.unit_score[new, at] - self.unit_score[old, at]).sum())
        return Reached(rank, cost, score, self.unit, self.unit_cost, self.unit_score)


def rebuilt_hull(options: Options, vertex: np.ndarray) -> Hull:
    """The hulls `upper_hull` found, from which ranks are their vertices: every slope and width as it
    computed them (the segment into each vertex from the vertex before it)."""
    C, S = options.cost, options.score
    m, n = S.shape
    first = np.full(n, m, np.intp)
    for r in range(m - 1, -1, -1):
        first[vertex[r]] = r
    slope, width = np.full((m, n), -np.inf), np.zeros((m, n))
    last_c, last_s = np.array(C[0], dtype=float), S[0].copy()
    for r in range(1, m):
        ends = vertex[r] & (first < r)
        np.subtract(C[r], last_c, out=width[r], where=ends)
        np.divide(S[r] - last_s, width[r], out=slope[r], where=ends)
        np.copyto(last_c, C[r], where=vertex[r])
        np.copyto(last_s, S[r], where=vertex[r])
    return Hull(first, slope, width)


def _sample(rows: Sequence[Row], masks: Sequence[np.ndarray], samples: int) -> tuple[np.ndarray, np.ndarray]:
    """About `samples` of the masked segments, weighted by width times the stride between them: those
    at every stride-th place where the masks hold many (no copy of them all), else every stride-th."""
    count = sum(int(np.count_nonzero(mask)) for mask in masks)
    stride = max(1, count // max(samples, 1))
    slope, width = np.zeros(0), np.zeros(0)
    if count >= SPARSE_SAMPLE * samples:
        slope, width = _merged([(row.slope[::stride][mask[::stride]], row.width[::stride][mask[::stride]])
                                for row, mask in zip(rows, masks)])
    if count and not slope.size:
        slope, width = _merged([(row.slope[mask][::stride], row.width[mask][::stride])
                                for row, mask in zip(rows, masks)])
    return slope, width * stride


def _hull_rows(hull: Hull) -> list[Row]:
    """Every unit's hull segments, by the option rank they end at."""
    return [Row(r, hull.slope[r], hull.width[r], None) for r in range(1, hull.slope.shape[0])]


def _tied(tied: np.ndarray, rank: int, ties: tuple[int, int]) -> np.ndarray:
    """Of the segments at `rank` as steep as the critical slope (`tied`, in unit order), those taken:
    all below rank ties[0], the first ties[1] at it, none above."""
    if rank > ties[0]:
        return np.zeros_like(tied)
    if rank == ties[0]:
        tied = tied.copy()
        tied[np.flatnonzero(tied)[ties[1]:]] = False
    return tied


def _reached(options: Options, hull: Hull, high: float, unit: np.ndarray) -> Reached:
    """The options reached taking every segment steeper than `high`, and the options of `unit`."""
    rank = hull.first.astype(np.int8 if hull.slope.shape[0] < 128 else np.intp)
    for r in range(1, hull.slope.shape[0]):
        rank[hull.slope[r] > high] = r
    units = np.arange(rank.size)
    return Reached(rank, float(options.cost[rank, units].sum()), float(options.score[rank, units].sum()), unit,
                   np.asarray(options.cost[:, unit]), options.score[:, unit])


class PartitionWorker:
    """One partition's side of the partitioned `mckp`: built from a loader of the partition as an
    AssignmentProblem (with the global budget), it holds only that partition's data.

    With `keep` it keeps the partition's options and hulls; without, it keeps a vertex mask (one
    byte per unit for up to 8 options), the plan's option ranks and small caches, and reloads the
    partition when a call needs all of it.
    """

    def __init__(self, load: Callable[[], AssignmentProblem], keep: bool = True) -> None:
        self._load = load
        self._keep = keep
        self._kept: tuple[AssignmentProblem, Options, Hull] | None = None
        self._vertex: np.ndarray | None = None
        self._band: tuple[Band, list[Row], Reached] | None = None
        self._rank: np.ndarray | None = None
        self._pool: np.ndarray | None = None
        self._pool_options: Options | None = None
        self._proposed: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.intp), np.zeros(0, np.intp))
        self._exact = False

    def _options(self) -> tuple[AssignmentProblem, Options]:
        if self._kept is not None:
            return self._kept[0], self._kept[1]
        problem = self._load()
        return problem, sorted_options(problem)

    def _hulls(self) -> tuple[AssignmentProblem, Options, Hull]:
        if self._kept is not None:
            return self._kept
        problem, options = self._options()
        if self._vertex is None:
            hull = upper_hull(options)
            vertex = np.isfinite(hull.slope)
            vertex[hull.first, np.arange(hull.first.size)] = True
            self._vertex = np.packbits(vertex, axis=0)
        else:
            hull = rebuilt_hull(options, np.unpackbits(self._vertex, axis=0, count=options.score.shape[0]).view(bool))
        if self._keep:
            self._kept = (problem, options, hull)
        return problem, options, hull

    def _covers(self, band: Band) -> bool:
        return self._band is not None and self._band[0][0] <= band[0] and band[1] <= self._band[0][1]

    def _rows(self, band: Band) -> list[Row]:
        """Rows that hold every segment within `band` (and others): the cached band's when it holds
        them, else the whole hulls'."""
        if self._band is not None and self._covers(band):
            return self._band[1]
        return _hull_rows(self._hulls()[2])

    def _size(self) -> int:
        return 0 if self._vertex is None else int(self._vertex.shape[1])

    def summary(self, band: Band, samples: int) -> Summary:
        """Build the hulls and report the partition's costs, its usable segments (those within `band`)
        and about `samples` of their slopes."""
        problem, options, hull = self._hulls()
        self._exact = problem.budget_sense == "=="
        rows = _hull_rows(hull)
        masks = [row.inside(band) for row in rows]
        return Summary(float(options.cost[hull.first, np.arange(hull.first.size)].sum()),
                       float(hull.width.sum(where=np.isfinite(hull.slope))),
                       sum(int(np.count_nonzero(mask)) for mask in masks),
                       float(sum(row.width.sum(where=mask) for row, mask in zip(rows, masks))),
                       _sample(rows, masks, samples))

    def sample(self, band: Band, samples: int) -> tuple[np.ndarray, np.ndarray]:
        """About `samples` of the slopes within `band`, weighted."""
        rows = self._rows(band)
        return _sample(rows, [row.inside(band) for row in rows], samples)

    def tally(self, band: Band, low: float, high: float, samples: int) -> Tally:
        """The band's segments above `high` and within [low, high]; those within are kept as the next
        band, with the options reached taking every segment above, when they are few."""
        cached = self._band if self._covers(band) else None
        if cached is None:
            _, options, hull = self._hulls()
            rows = _hull_rows(hull)
        else:
            rows = cached[1]
        insides = [row.inside(band) for row in rows]
        steeper = [inside & (row.slope > high) for row, inside in zip(rows, insides)]
        middle = [inside & (row.slope >= low) & (row.slope <= high) for row, inside in zip(rows, insides)]
        within = sum(int(np.count_nonzero(mask)) for mask in middle)
        if within <= max(GATHER, self._size() // CACHE_SHARE):
            kept = [row.where(mask) for row, mask in zip(rows, middle)]
            if cached is None:
                reached = _reached(options, hull, high, np.unique(np.concatenate([row.unit for row in kept])))
            else:
                reached = cached[2].advanced(rows, [row.slope > high for row in rows])
            self._band = ((low, high), kept, reached)
        return Tally(float(sum(row.width.sum(where=mask) for row, mask in zip(rows, steeper))),
                     sum(int(np.count_nonzero(mask)) for mask in steeper),
                     float(sum(row.width.sum(where=mask) for row, mask in zip(rows, middle))), within,
                     _sample(rows, middle, samples))

    def gather(self, band: Band) -> tuple[np.ndarray, np.ndarray]:
        """Every slope within `band` and its width."""
        rows = self._rows(band)
        inside = [row.where(row.inside(band)) for row in rows]
        return _merged([(row.slope, row.width) for row in inside])

    def ties(self, band: Band, critical: float) -> tuple[float, np.ndarray]:
        """The widths within `band` steeper than `critical`, and those as steep as it by option rank."""
        rows = self._rows(band)
        steeper = float(sum(row.width.sum(where=row.inside(band) & (row.slope > critical)) for row in rows))
        by_rank = np.zeros(len(rows) + 1)
        for row in rows:
            by_rank[row.rank] = row.width.sum(where=row.slope == critical)
        return steeper, by_rank

    def fit_ties(self, band: Band, critical: float, rank: int, room: float) -> int:
        """How many segments at rank `rank` as steep as `critical` fit `room`, taken in unit order."""
        row = next(row for row in self._rows(band) if row.rank == rank)
        return int(np.searchsorted(np.cumsum(row.width[row.slope == critical]), room, side="right"))

    def relax(self, critical: float | None, ties: tuple[int, int]) -> tuple[float, float]:
        """Take the segments steeper than `critical` (every usable one when None) and of those as steep,
        all at ranks below ties[0] and the first ties[1] at rank ties[0]; the cost and score of the
        options so reached (moving only the cached band's units when it holds `critical`)."""
        if critical is not None and self._band is not None and self._covers((critical, critical)):
            rows = self._band[1]
            taken = [(row.slope > critical) | _tied(row.slope == critical, row.rank, ties) for row in rows]
            reached = self._band[2].advanced(rows, taken)
            self._rank, self._pool, self._pool_options, self._band = reached.rank, None, None, None
            return reached.cost, reached.score
        problem, options, hull = self._hulls()
        floor = -np.inf if problem.budget_sense == "==" else 0.0
        rank = hull.first.astype(np.int8 if hull.slope.shape[0] < 128 else np.intp)
        for r in range(1, hull.slope.shape[0]):
            if critical is None:
                taken = hull.slope[r] > floor
            else:
                taken = (hull.slope[r] > critical) | _tied(hull.slope[r] == critical, r, ties)
            rank[taken] = r
        self._rank, self._pool, self._pool_options, self._band = rank, None, None, None
        units = np.arange(rank.size)
        return float(options.cost[rank, units].sum()), float(options.score[rank, units].sum())

    def propose(self, reach: float) -> tuple[np.ndarray, np.ndarray, int]:
        """This round's fill candidates among the units that had a move last round: each unit's best
        move costing up to `reach`, most efficient first (ties in unit order), as many as fit in it plus
        the first that does not. Returns their efficiencies and costs, and how many units had a move."""
        assert self._rank is not None, "relax comes before the fill"
        if self._pool_options is not None:
            options, rank, units = self._pool_options, self._rank[self._pool], np.arange(self._pool.size)
        else:
            options = self._options()[1]
            rank, units = self._rank, np.arange(self._rank.size) if self._pool is None else self._pool
        exact = self._exact

        def merit(r: int, dc: np.ndarray, ds: np.ndarray) -> np.ndarray:
            allowed = (dc > 0) & (dc <= reach) & (exact | (ds > 0))
            return np.where(allowed, ds, -np.inf)

        best, dc, ds, to = best_moves(options, rank, units, merit)
        moved = np.isfinite(best)
        at, dc, ds, to = units[moved], dc[moved], ds[moved], to[moved]
        local = at if self._pool_options is None else self._pool[at]
        local = local.astype(np.int32 if self._size() < 2**31 else np.intp)
        if self._pool_options is not None or local.size <= self._size() // CACHE_SHARE:
            self._pool_options = Options(options.cost[:, at], options.score[:, at], options.original[:, at])
        self._pool = local
        efficiency = ds / dc
        order = np.argsort(-efficiency, kind="stable")
        fits = int(np.searchsorted(np.cumsum(dc[order]), reach, side="right"))
        proposed = order[: fits + 1]
        self._proposed = (local[proposed], to[proposed])
        return efficiency[proposed], dc[proposed], int(local.size)

    def take(self, count: int) -> None:
        """Make the first `count` moves proposed last."""
        assert self._rank is not None
        units, to = self._proposed
        self._rank[units[:count]] = to[:count]

    def steps(self) -> list[int | None]:
        """`decimal_steps` of the partition's costs ("none" costing 0 included when it is allowed)."""
        problem = self._kept[0] if self._kept is not None else self._load()
        costs = np.unique(np.r_[problem.costs.ravel(), 0.0] if problem.allow_none else problem.costs)
        return decimal_steps(costs)

    def plan(self) -> Ending:
        """The partition's plan (treatment indices, -1 for none) and what it scores and spends."""
        assert self._rank is not None
        problem, options = self._options()
        units = np.arange(self._rank.size)
        plan = options.original[self._rank, units]
        plan = np.where(plan >= problem.shape[1], -1, plan).astype(np.int64)
        objective, spent = problem.evaluate(plan)
        broken = () if problem.allow_none or (plan >= 0).all() else (
            f"{int((plan < 0).sum())} units have no treatment but every unit must have one",)
        return Ending(plan, float(options.score[self._rank, units].sum()), objective, spent, broken)


class Workers(Protocol):
    """How the driver reaches the workers: `each` calls `method` on every worker, worker i with
    `args[i]`, and returns the answers in order; `one` calls it on worker `index` alone. An executor
    that hosts the workers elsewhere (one per actor) implements these two."""

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]: ...

    def one(self, index: int, method: str, *args: Any) -> Any: ...


def _size_of(value: Any) -> int:
    """Bytes a message takes: arrays by their data, scalars as 8, records and tuples by their parts."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if attrs.has(type(value)):
        return sum(_size_of(getattr(value, field.name)) for field in attrs.fields(type(value)))
    if isinstance(value, (tuple, list)):
        return sum(_size_of(part) for part in value)
    return 8


@attrs.define
class LocalWorkers:
    """Workers in this process, with a count of the calls made to all of them (`rounds`) and of the
    bytes their arguments and answers would take on a wire (`exchanged`)."""

    workers: list[PartitionWorker]
    rounds: int = 0
    exchanged: int = 0

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        self.rounds += 1
        answers = [getattr(worker, method)(*a) for worker, a in zip(self.workers, args, strict=True)]
        self.exchanged += _size_of(list(args)) + _size_of(answers)
        return answers

    def one(self, index: int, method: str, *args: Any) -> Any:
        answer = getattr(self.workers[index], method)(*args)
        self.exchanged += _size_of(args) + _size_of(answer)
        return answer


def local_workers(problem: PartitionedProblem, keep_units: int) -> LocalWorkers:
    """One in-process worker per partition; the first partitions, up to `keep_units` units in all,
    keep their hulls, the others rebuild them from their vertex masks when a call needs them."""
    kept = np.cumsum(problem.sizes) <= keep_units
    return LocalWorkers([PartitionWorker(_Part(problem, i), bool(keep)) for i, keep in enumerate(kept)])


@attrs.frozen
class _Part:
    """Loads partition `index` of `problem` as an AssignmentProblem."""

    problem: PartitionedProblem
    index: int

    def __call__(self) -> AssignmentProblem:
        return self.problem.part(self.index)


def _same(args: tuple[Any, ...], count: int) -> list[tuple[Any, ...]]:
    return [args] * count


def _merged(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def critical_slope(workers: Workers, shares: list[int], summaries: list[Summary], band: Band,
                   room: float) -> tuple[float | None, Band, float]:
    """The in-memory `critical_slope` over the workers' usable segments: pivots from their merged
    samples split the band until few segments are left, which are then sorted. Also returns the last
    band (it holds the critical slope and every segment as steep) and the widths above it."""
    count = sum(s.usable for s in summaries)
    if sum(s.usable_width for s in summaries) <= room:
        return None, band, 0.0
    above, guess = 0.0, True
    sample: tuple[np.ndarray, np.ndarray] | None = _merged([s.sample for s in summaries])
    p = len(shares)
    while count > GATHER:
        if sample is None:
            sample = _merged(workers.each("sample", [(band, share) for share in shares]))
        high, low = pivots(*sample, room - above) if guess else (float(np.median(sample[0])),) * 2
        tallies: list[Tally] = workers.each("tally", [(band, low, high, share) for share in shares])
        reach = above + sum(t.steeper_width for t in tallies)
        middle = sum(t.middle_width for t in tallies)
        sample = None
        if reach > room:
            band, left = (float(np.nextafter(high, np.inf)), band[1]), sum(t.steeper for t in tallies)
        elif reach + middle <= room:
            above = reach + middle
            band = (band[0], float(np.nextafter(low, -np.inf)))
            left = count - sum(t.steeper + t.middle for t in tallies)
        elif high == low:
            return high, (low, high), reach
        else:
            above, band, left = reach, (low, high), sum(t.middle for t in tallies)
            sample = _merged([t.sample for t in tallies])
        guess, count = 2 * left < count, left
    slope, width = _merged(workers.each("gather", _same((band,), p)))
    order = np.argsort(-slope, kind="stable")
    at = int(np.searchsorted(above + np.cumsum(width[order]), room, side="right"))
    return float(slope[order[min(at, slope.size - 1)]]), band, above


def tie_rules(workers: Workers, band: Band, critical: float, room: float, p: int) -> list[tuple[int, int]]:
    """Which segments as steep as `critical` each worker takes (ranks below rules[i][0] whole, the
    first rules[i][1] at that rank): in (rank, unit) order, as many as fit what the steeper ones
    leave of `room`."""
    ties = workers.each("ties", _same((band, critical), p))
    left = room - sum(t[0] for t in ties)
    m = ties[0][1].size
    reach = 0.0
    for r in range(m):
        for i, (_, by_rank) in enumerate(ties):
            if reach + by_rank[r] > left:
                fits = workers.one(i, "fit_ties", band, critical, r, left - reach)
                return [(r + 1, 0)] * i + [(r, fits)] + [(r, 0)] * (p - i - 1)
            reach += float(by_rank[r])
    return [(m, 0)] * p


def fill(workers: Workers, left: float, tol: float, p: int) -> float:
    """The in-memory fill over the workers' proposals: each round the merged candidates, most
    efficient first (ties in unit order), taken while they fit; returns the budget left."""
    for _ in range(FILL_ROUNDS):
        if left <= tol:
            break
        reach = left + OVERRUN * tol
        proposals = workers.each("propose", _same((reach,), p))
        if sum(moved for _, _, moved in proposals) == 0:
            break
        efficiency = np.concatenate([e for e, _, _ in proposals])
        dc = np.concatenate([d for _, d, _ in proposals])
        owner = np.repeat(np.arange(p), [e.size for e, _, _ in proposals])
        order = np.argsort(-efficiency, kind="stable")
        take = order[: max(1, int(np.searchsorted(np.cumsum(dc[order]), reach, side="right")))]
        workers.each("take", [(int(c),) for c in np.bincount(owner[take], minlength=p)])
        left -= float(dc[take].sum())
    return left


def solve(problem: PartitionedProblem, workers: Workers) -> AssignmentResult:
    """The in-memory `mckp` (no count limits) on `problem`'s partitions, through `workers`."""
    started = time.perf_counter()
    n, p = sum(problem.sizes), len(problem.sizes)
    exact = problem.budget_sense == "=="
    tol = tolerance(problem.budget)
    band = (float(np.nextafter(-np.inf if exact else 0.0, np.inf)), math.inf)
    shares = [-(-PIVOT_SAMPLE * size // n) for size in problem.sizes]
    summaries: list[Summary] = workers.each("summary", [(band, share) for share in shares])
    built = time.perf_counter()
    cheapest = sum(s.cheapest for s in summaries)
    reason = budget_out_of_reach(problem.budget, exact, cheapest, cheapest + sum(s.widths for s in summaries))
    if reason:
        return _result(problem, None, math.nan, "infeasible", reason, started, built)
    room = problem.budget - cheapest + OVERRUN * tol
    critical, band, above = critical_slope(workers, shares, summaries, band, room)
    rules = [(0, 0)] * p if critical is None else tie_rules(workers, band, critical, room - above, p)
    spent = workers.each("relax", [(critical, rule) for rule in rules])
    left = problem.budget - sum(cost for cost, _ in spent)
    bound, slack = tolerant_bound(sum(score for _, score in spent) + (critical or 0.0) * left, critical, problem.budget)
    left = fill(workers, left, tol, p)
    if exact and abs(left) > tol:
        steps = workers.each("steps", _same((), p))
        combined = [None if any(s[d] is None for s in steps) else int(np.gcd.reduce([s[d] for s in steps]))
                    for d in range(len(steps[0]))]
        _, _, status, message = unmet_equality(problem.budget, bound, left, combined)
        return _result(problem, None, bound, status, message, started, built)
    endings: list[Ending] = workers.each("plan", _same((), p))
    plan = np.empty(n, np.int64)
    for i, stop in enumerate(np.cumsum(problem.sizes).tolist()):
        plan[stop - problem.sizes[i]:stop] = endings[i].plan
        endings[i] = attrs.evolve(endings[i], plan=None)
    score = sum(e.score for e in endings)
    return _result(problem, (plan, endings), bound, judged(bound, score, slack), "", started, built)


def _result(problem: PartitionedProblem, found: tuple[np.ndarray, list[Ending]] | None, bound: float, status: str,
            message: str, started: float, built: float) -> AssignmentResult:
    """The whole plan (with the partitions' figures for it) and its checks, as `assignment_result`
    makes them for an in-memory problem."""
    done = time.perf_counter()
    if found is None:
        return AssignmentResult(np.full(sum(problem.sizes), -1, dtype=np.int64), math.nan, math.nan, bound, status,
                                "mckp", built - started, done - built, message or f"mckp found no plan ({status})")
    plan, endings = found
    objective, spent = sum(e.objective for e in endings), sum(e.spent for e in endings)
    broken = [b for e in endings for b in e.broken]
    tol = tolerance(problem.budget)
    if spent > problem.budget + tol or (problem.budget_sense == "==" and spent < problem.budget - tol):
        word = "exactly" if problem.budget_sense == "==" else "at most"
        broken.append(f"the plan spends {spent:.10g} but must spend {word} {problem.budget:.10g}")
    if broken:
        status, message = "not_solved", "mckp returned a plan that breaks constraints: " + "; ".join(broken)
    return AssignmentResult(plan, objective, spent, bound, status, "mckp", built - started, done - built, message)
