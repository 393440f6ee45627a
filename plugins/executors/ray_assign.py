"""A solver step on Ray: the rows before it are materialised as blocks in the object store, the plan is
found, and it is joined back onto the same blocks, in order.

With `mckp` (without count limits) the partitioned dual runs across the cluster: the blocks' rows are
cut into partitions of `partition_rows` as the local executor spools them, actors hold consecutive
partitions as `mckp_partitions.PartitionWorker`s over their blocks' effect columns, and every round
only multipliers and partial sums cross (`RayWorkers`). Every other solver collects the effect
columns on the driver, as it needs the whole problem.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from engine.stages import SolveStage
from plugins.executors.ray_io import READ_CPUS


@attrs.frozen
class BlockColumns:
    """Loads one partition's effect values (and per-unit costs, or None) from its blocks' object refs,
    rows start:stop of each."""

    refs: tuple[Any, ...]
    spans: tuple[tuple[int, int], ...]
    take: Any

    def __call__(self) -> tuple[Any, Any]:
        import ray

        tables = ray.get(list(self.refs))
        taken = [self.take(table.slice(start, stop - start)) for table, (start, stop) in zip(tables, self.spans)]
        values = np.concatenate([v for v, _ in taken])
        costs = None if taken[0][1] is None else np.concatenate([c for _, c in taken])
        return values, costs


@attrs.frozen
class Take:
    """An `Assign`'s `take` over a block, rebuilt where it runs from the step's params and effect columns."""

    params: dict[str, Any]
    effects: tuple[str, ...]

    def __call__(self, table: Any) -> tuple[Any, Any]:
        from engine.kinds.solver import Assign

        return Assign(None, **self.params).take(table, {"effects": self.effects})


class PartitionHost:
    """A Ray actor holding some partitions' `PartitionWorker`s: the first `keep_units` of its units keep
    their hulls, the others keep vertex masks and reload their blocks when a call needs them."""

    def __init__(self, problem: Any, indices: Sequence[int], keep_units: int) -> None:
        from plugins.solvers.mckp_partitions import PartitionWorker

        kept = np.cumsum([problem.sizes[i] for i in indices]) <= keep_units
        self.workers = [PartitionWorker(functools.partial(problem.part, i), bool(keep)) for i, keep in zip(indices, kept)]

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        return [getattr(worker, method)(*a) for worker, a in zip(self.workers, args, strict=True)]

    def one(self, local: int, method: str, *args: Any) -> Any:
        return getattr(self.workers[local], method)(*args)


@attrs.define
class RayWorkers:
    """`mckp_partitions.Workers` on actors: one remote call per actor per round, partitions in order.
    `rounds` counts the rounds, `exchanged` the bytes of their arguments and answers (as `LocalWorkers`
    counts them), `plan_bytes` the share of it that is the final plan sent back to be joined."""

    hosts: list[Any]
    owners: list[tuple[int, int]]
    rounds: int = 0
    exchanged: int = 0
    plan_bytes: int = 0

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        import ray

        from plugins.solvers.mckp_partitions import _size_of

        self.rounds += 1
        grouped: list[list[tuple[Any, ...]]] = [[] for _ in self.hosts]
        for (host, _), a in zip(self.owners, args, strict=True):
            grouped[host].append(tuple(a))
        answers = ray.get([host.each.remote(method, group) for host, group in zip(self.hosts, grouped)])
        flat = [answer for group in answers for answer in group]
        size = _size_of(list(args)) + _size_of(flat)
        self.exchanged += size
        if method == "plan":
            self.plan_bytes += size
        return flat

    def one(self, index: int, method: str, *args: Any) -> Any:
        import ray

        from plugins.solvers.mckp_partitions import _size_of

        host, local = self.owners[index]
        answer = ray.get(self.hosts[host].one.remote(local, method, *args))
        self.exchanged += _size_of(args) + _size_of(answer)
        return answer


class OnRay:
    """The step's solver with `solve_partitioned` run on actors (what `Assign.solve` calls); `solve` as it is."""

    def __init__(self, plugin: Any, actors: int) -> None:
        self.plugin = plugin
        self.actors = actors
        self.workers: RayWorkers | None = None

    def solve(self, problem: Any) -> Any:
        return self.plugin.solve(problem)

    def solve_partitioned(self, problem: Any) -> Any:
        import ray

        from plugins.solvers import mckp_partitions

        if problem.has_count_limits:
            return self.plugin.solve(problem.whole())
        groups = _split(problem.sizes, self.actors)
        host = ray.remote(num_cpus=0, max_restarts=2, max_task_retries=2, scheduling_strategy="SPREAD")(PartitionHost)
        keep = int(getattr(self.plugin, "keep_units", 2_000_000))
        hosts = [host.remote(problem, group, keep) for group in groups]
        owners = [(h, local) for h, group in enumerate(groups) for local in range(len(group))]
        self.workers = RayWorkers(hosts, owners)
        try:
            return mckp_partitions.solve(problem, self.workers)
        finally:
            for actor in hosts:
                ray.kill(actor)


def _split(sizes: Sequence[int], actors: int) -> list[list[int]]:
    """Consecutive partitions per actor, about as many units each: a partition goes to the actor whose
    share of the units its middle falls in."""
    actors = max(1, min(actors, len(sizes)))
    middles = (np.cumsum(sizes) - np.asarray(sizes) / 2) / sum(sizes)
    owner = np.minimum((middles * actors).astype(int), actors - 1)
    return [[int(i) for i in np.flatnonzero(owner == a)] for a in range(actors) if (owner == a).any()]


def on_mckp(plugin: Any) -> bool:
    """Whether the step's solver is `mckp`, whose partitioned dual runs on actors."""
    from plugins.solvers.mckp import MCKPSolver

    return isinstance(plugin, MCKPSolver)


def partitions(sizes: Sequence[int], rows: int) -> list[list[tuple[int, int, int]]]:
    """The blocks' rows cut into partitions of `rows` rows (the last one shorter), as the local executor
    spools them, so that both sum the same partial sums: per partition, (block, start, stop) spans."""
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    filled = 0
    for block, size in enumerate(sizes):
        start = 0
        while start < size:
            take = min(size - start, rows - filled)
            current.append((block, start, start + take))
            filled, start = filled + take, start + take
            if filled == rows:
                groups.append(current)
                current, filled = [], 0
    return groups + [current] if current else groups


@attrs.frozen(eq=False)
class Solved:
    """A solver step's outcome on Ray: its input blocks in order (the materialised dataset, their object
    refs and rows), the whole plan and the step's params. The plan is joined onto the blocks by tasks
    (`joined`) when more runs on the cluster; when the rows come back to the driver next, it is joined
    there as they arrive (`ray_io.DatasetStage`), which spares a task and a copy of every block in the
    object store."""

    materialized: Any
    refs: tuple[Any, ...]
    sizes: tuple[int, ...]
    plan: Any
    params: dict[str, Any]

    def blocks(self) -> Any:
        """The input blocks, without the plan, as a dataset."""
        return self.materialized

    def joined(self) -> Any:
        """The blocks with the plan joined on, by a task each, as a dataset."""
        import ray
        import ray.data

        join = ray.remote(num_cpus=READ_CPUS)(_join)
        out, offset = [], 0
        for ref, rows in zip(self.refs, self.sizes):
            out.append(join.remote(ref, ray.put(self.plan[offset:offset + rows]), self.params))
            offset += rows
        return ray.data.from_arrow_refs(out)

    def join(self, table: Any, offset: int) -> Any:
        """`table`, the rows from `offset` on, with their plan joined (on the driver)."""
        return _join(table, self.plan[offset:offset + table.num_rows], self.params)


def solved(dataset: Any, stage: SolveStage, schema: Any, facts: dict[str, Any], partition_rows: int,
           actors: int) -> tuple[Solved, RayWorkers | None]:
    """The step solved over the dataset's blocks (see `Solved`); its facts go into `facts`. Also the
    workers that solved it on actors (None when the solver ran on the driver)."""
    from engine.kinds.solver import Assign

    assign = Assign(OnRay(stage.plugin, actors) if on_mckp(stage.plugin) else stage.plugin, **stage.params)
    assign.take(schema.empty_table(), facts)
    materialized = dataset.materialize()
    refs, sizes = _blocks(materialized)
    stage.rows = sum(sizes)
    take = Take(dict(stage.params), tuple(assign.effects))
    groups = partitions(sizes, partition_rows)
    parts = [BlockColumns(tuple(refs[b] for b, _, _ in group), tuple((a, z) for _, a, z in group), take)
             for group in groups]
    problem = assign.partitioned(parts, [sum(z - a for _, a, z in group) for group in groups])
    facts.update(stage.timed(lambda: assign.solve(problem)))
    workers = assign.plugin.workers if isinstance(assign.plugin, OnRay) else None
    return Solved(materialized, tuple(refs), tuple(sizes), assign.plan, dict(stage.params)), workers


def _blocks(materialized: Any) -> tuple[list[Any], list[int]]:
    """A materialised dataset's blocks' object refs in order and their rows (from Ray Data's metadata)."""
    refs, sizes = [], []
    for bundle in materialized.iter_internal_ref_bundles():
        refs.extend(bundle.block_refs)
        sizes.extend(int(m.num_rows) for m in bundle.metadata)
    return refs, sizes


def _join(table: Any, plan: Any, params: dict[str, Any]) -> Any:
    from engine.kinds.solver import Assign

    return Assign(None, **params).join(table, plan)
