"""Repair for `mckp` under an exact budget: where the greedy fill leaves some budget unspent, re-choose
the options of the few units cheapest to move (by the LP's price) by dynamic programming over cost units.

Costs and budget must be whole numbers of one decimal unit (0.1 for the seed's 0.1, 0.2, 0.3); the other
units keep their options, so the plan spends the budget exactly if any choice of the chosen units does.
"""

from __future__ import annotations

import numpy as np

from plugins.solvers.mckp import Options

UNIT_TRIES = (64, 512)
"""How many of the units cheapest to move the repair re-chooses, in turn, until the budget is met."""

MAX_CELLS = 1 << 25
"""The most (units x reachable spends) cells the dynamic programme may hold."""


def repair(options: Options, rank: np.ndarray, budget: float, price: float,
           steps: list[int | None]) -> np.ndarray | None:
    """Option ranks spending exactly `budget` (in the decimal unit `steps` finds), or None when the units
    tried cannot; `rank` is the greedy plan, `price` the relaxation's critical slope."""
    digits = next((d for d, step in enumerate(steps) if step is not None
                   and abs(budget * 10.0**d - round(budget * 10.0**d)) <= 1e-6), None)
    if digits is None:
        return None
    cost = np.round(options.cost * 10.0**digits).astype(np.int64)
    units = np.arange(rank.size)
    target = int(round(budget * 10.0**digits)) - int(cost[rank, units].sum())
    reduced = options.score - price * options.cost
    loss = reduced[rank, units] - np.where(cost != cost[rank, units], reduced, -np.inf)
    order = np.argsort(loss.min(axis=0), kind="stable")
    for size in UNIT_TRIES:
        chosen = order[:size]
        found = _exact_choice(cost[:, chosen], options.score[:, chosen], target + int(cost[rank[chosen], chosen].sum()))
        if found is not None:
            rank = rank.copy()
            rank[chosen] = found
            return rank
        if size >= rank.size:
            break
    return None


def _exact_choice(cost: np.ndarray, score: np.ndarray, target: int) -> np.ndarray | None:
    """For units (columns) with integer option costs, the option ranks of best total score whose costs add
    up to `target` exactly, or None when none do (or the table would exceed MAX_CELLS)."""
    cheapest = cost.min(axis=0)
    shifted, goal = cost - cheapest, target - int(cheapest.sum())
    span = int(shifted.max(axis=0).sum())
    if goal < 0 or goal > span or cost.shape[1] * (goal + 1) > MAX_CELLS:
        return None
    best = np.full(goal + 1, -np.inf)
    best[0] = 0.0
    picks = np.zeros((cost.shape[1], goal + 1), np.int8 if cost.shape[0] < 128 else np.intp)
    for i in range(cost.shape[1]):
        new = np.full(goal + 1, -np.inf)
        for r in range(cost.shape[0]):
            step = int(shifted[r, i])
            if step > goal:
                continue
            candidate = np.full(goal + 1, -np.inf)
            candidate[step:] = best[: goal + 1 - step] + score[r, i]
            better = candidate > new
            new[better], picks[i, better] = candidate[better], r
        best = new
    if not np.isfinite(best[goal]):
        return None
    found, at = np.zeros(cost.shape[1], np.intp), goal
    for i in range(cost.shape[1] - 1, -1, -1):
        found[i] = picks[i, at]
        at -= int(shifted[found[i], i])
    return found
