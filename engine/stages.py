"""Pipeline steps as stream stages: each pulls Arrow tables, one batch each, from the stage before it.

The shapes come from the kinds (`engine.kinds.SHAPES`): a source stage scans; a row-wise stage maps
batch by batch with its fitted plugin; a global stage (a solver) takes the columns it needs in a
first pass, solves once and joins its result onto a second pass, replaying its upstream where that
is exact and cheap, else a spool; a sink writes the stream. Each stage times its own work, counts
the rows it passes on, and names itself in any error it raises.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

import attrs

from engine.errors import DataError, StepError
from engine.flow import Flow
from engine.spool import PARTITION_ROWS, ArraySpool, SpoolFolder, TableSpool


@attrs.define(eq=False)
class RunContext:
    """What every stage of one run shares: the facts the steps add, the batch size, the spool."""

    facts: dict[str, Any] = attrs.field(factory=dict)
    batch_size: int | None = None
    spool: SpoolFolder = attrs.field(factory=SpoolFolder)
    partition_rows: int = PARTITION_ROWS


@attrs.define(eq=False)
class Stage:
    """One step in the stream. `stream()` yields its output tables; `seconds` is the time spent in
    the stage's own work (its upstream's excluded), `inclusive` with it; `rows` what it passed on
    in its last pass."""

    context: RunContext
    upstream: Stage | None = None
    index: int = 0
    label: str = ""
    plugin: Any = None
    params: dict[str, Any] = attrs.field(factory=dict)
    inclusive: float = 0.0
    seconds: float = 0.0
    rows: int | None = None
    done: bool = False

    def _upstream_time(self) -> float:
        return self.upstream.inclusive if self.upstream is not None else 0.0

    def _count(self, started: float, upstream_before: float) -> None:
        """Add the time since `started` to the stage's, less what its upstream spent meanwhile."""
        elapsed = time.perf_counter() - started
        self.inclusive += elapsed
        self.seconds += elapsed - (self._upstream_time() - upstream_before)

    @property
    def replayable(self) -> bool:
        """Whether streaming it again gives the same rows at a cost like the first time's."""
        return self.upstream is None or self.upstream.replayable

    def _batches(self) -> Iterator[Any]:
        raise NotImplementedError

    def fail(self, exc: BaseException) -> StepError:
        """The error that names this step."""
        return step_failed(self.label, self.index, exc)

    def stream(self) -> Iterator[Any]:
        """The stage's output, timed and counted; an error of its own becomes a StepError naming it."""
        batches = self._batches()
        rows = 0
        while True:
            with self._own_work():
                table = next(batches, _END)
                if table is not _END:
                    _require_unique_columns(table)
            if table is _END:
                break
            rows += table.num_rows
            yield table
        self.rows = rows
        self.done = True

    def timed(self, work: Callable[[], Any]) -> Any:
        """Run `work` (the stage's own, outside a stream), counted in its time and named in its errors."""
        with self._own_work():
            return work()

    @contextlib.contextmanager
    def _own_work(self) -> Iterator[None]:
        """Count the block's time as the stage's (less its upstream's) and name the stage in its errors."""
        started, before = time.perf_counter(), self._upstream_time()
        try:
            yield
        except StepError:
            raise
        except Exception as exc:
            raise self.fail(exc) from exc
        finally:
            self._count(started, before)


_END = object()


def step_failed(label: str, index: int, exc: BaseException) -> StepError:
    """The error that names the step `label` (at `index`) and what it raised."""
    return StepError(f"{label} failed: {type(exc).__name__}: {exc}", step=index)


def _require_unique_columns(table: Any) -> None:
    """A stage's output may not hold two columns of one name (a step that adds a column the table
    has): no later step could tell them apart and no file could be read back."""
    names = table.column_names
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"its output has more than one column named {', '.join(map(repr, twice))}: it adds a column "
                        "the table already has; have it name what it adds otherwise, or drop the earlier column")


@attrs.define(eq=False)
class TableStage(Stage):
    """A table already in memory (the run's input, or a source read whole to fit on), in batches of
    the run's batch size; one batch when there is none."""

    table: Any = None

    def _batches(self) -> Iterator[Any]:
        size = self.context.batch_size
        if not size or self.table.num_rows <= size:
            yield self.table
            return
        for start in range(0, self.table.num_rows, size):
            yield self.table.slice(start, size)


@attrs.define(eq=False)
class SourceStage(Stage):
    """A source's `scan()`, batch by batch; at least one (maybe empty) table, so the schema travels."""

    def _batches(self) -> Iterator[Any]:
        import pyarrow as pa

        reader = self.plugin.scan(self.context.batch_size)
        metadata = reader.schema.metadata
        empty = True
        for batch in prefetched(reader, PREFETCH):
            empty = False
            yield pa.Table.from_batches([batch]).replace_schema_metadata(metadata)
        if empty:
            yield reader.schema.empty_table()

    @property
    def replayable(self) -> bool:
        return bool(getattr(self.plugin, "rescannable", True))


PREFETCH = 4
"""Batches a source stage reads ahead on a thread of its own while the steps after it work."""


def prefetched(batches: Iterable[Any], depth: int) -> Iterator[Any]:
    """`batches` read ahead by a background thread, at most `depth` waiting: reading (DuckDB, Parquet
    decoding) overlaps the steps' work, and memory stays bounded. An error in the reader is raised here."""
    done = object()
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Queue `item` unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(done)
        except BaseException as exc:
            offer(_Failure(exc))

    reader = threading.Thread(target=read, name="hookyard-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        reader.join()


@attrs.frozen
class _Failure:
    error: BaseException


def kind_module(kind: str) -> ModuleType:
    """The contract module of a kind (its fit, mapper and run_step)."""
    return importlib.import_module(f"engine.kinds.{kind}")


@attrs.define(eq=False)
class MapStage(Stage):
    """A row-wise step: its kind's mapper over every batch, facts gathered as it goes."""

    kind: str = ""

    @property
    def replayable(self) -> bool:
        return getattr(kind_module(self.kind), "REPLAYABLE", True) and super().replayable

    def mapper(self) -> Any:
        return kind_module(self.kind).mapper(self.plugin, **self.params)

    def _batches(self) -> Iterator[Any]:
        mapper = self.mapper()
        for table in self.upstream.stream():
            out = mapper(table)
            self.context.facts.update(mapper.facts)
            yield out
        self.context.facts.update(mapper.finish())


@attrs.define(eq=False)
class SolveStage(Stage):
    """A solver step: the effect (and cost) columns of every row in partitions, one solve, then the
    plan joined onto the stream again: its upstream streamed again where that is exact and cheap,
    else a spool of the stream, or of only the `onward` columns when the steps after it need no more."""

    assign: Any = None
    spooled: TableSpool | None = None
    onward: tuple[str, ...] | None = None

    def _solve(self) -> None:
        from engine.kinds.solver import Assign

        assign = Assign(self.plugin, **self.params)
        columns = ArraySpool(self.context.spool, f"solver-{self.index}", width=2,
                             partition_rows=self.context.partition_rows)
        spool = None
        if self.onward is not None or not self.upstream.replayable:
            spool = TableSpool(self.context.spool, f"stream-{self.index}")
        for table in self.upstream.stream():
            columns.add(*assign.take(table, self.context.facts))
            if spool is not None:
                spool.add(table if self.onward is None else table.select([c for c in self.onward if c in table.column_names]))
        parts, sizes = columns.parts()
        self.context.facts.update(assign.solve(assign.partitioned(parts, sizes)))
        self.assign, self.spooled = assign, spool

    def _batches(self) -> Iterator[Any]:
        if self.assign is None:
            self._solve()
        plan = self.assign.plan
        offset = 0
        for table in self.spooled.replay() if self.spooled is not None else self.upstream.stream():
            yield self.assign.join(table, plan[offset:offset + table.num_rows])
            offset += table.num_rows
        if offset != len(plan):
            raise DataError(
                f"the stream gave {offset:,} rows when read again for the plan but {len(plan):,} the first time; "
                "a source must return the same rows in the same order each time it is scanned (a source "
                "that cannot sets `rescannable = False`, and the stream is then spooled)"
            )

    @property
    def replayable(self) -> bool:
        return self.spooled is not None or super().replayable


@attrs.define(eq=False)
class SinkStage(Stage):
    """A sink step: writes the stream it is given. `tap` sees every table written (the run keeps its
    rows there when the sink is last); when steps follow, the stream is spooled and passed on."""

    tap: Callable[[Any], None] | None = None
    written_rows: int = 0

    def _batches(self) -> Iterator[Any]:
        import pyarrow as pa

        upstream = self.upstream.stream()
        first = next(upstream)
        schema = first.schema
        onward = None if self.tap is not None else TableSpool(self.context.spool, f"sink-{self.index}")
        keep = self.tap if self.tap is not None else onward.add
        failures: list[BaseException] = []
        self.written_rows = 0

        def batches() -> Iterator[Any]:
            try:
                for table in itertools.chain([first], upstream):
                    table = _conform(table, schema)
                    keep(table)
                    self.written_rows += table.num_rows
                    yield from table.to_batches()
            except BaseException as exc:
                failures.append(exc)
                raise

        try:
            written = self.plugin.write(pa.RecordBatchReader.from_batches(schema, batches()))
        except BaseException:
            if failures:
                raise failures[0] from None
            raise
        self.context.facts["written"] = (*self.context.facts.get("written", ()), written)
        if onward is not None:
            yield from onward.replay()

    @property
    def replayable(self) -> bool:
        return False


def _conform(table: Any, schema: Any) -> Any:
    """A batch in the stream's first schema (batches of one stream must agree to be written together)."""
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(schema.metadata)
    try:
        return table.cast(schema)
    except Exception as exc:
        raise DataError(f"a batch's columns {table.schema.names} ({table.schema.types}) do not match the stream's "
                        f"first batch {schema.names} ({schema.types}): {exc}") from exc


def run_in_memory(kind: ModuleType, plugin: Any, flow: Flow, params: dict[str, Any]) -> Flow:
    """A row-wise kind's step on one in-memory table: fit when the step wants it, then map it whole."""
    resolved = dict(params)
    if getattr(kind, "wants_fit", None) is not None and kind.wants_fit(params):
        resolved.update(kind.fit(plugin, flow.table, **params))
    mapper = kind.mapper(plugin, **resolved)
    table = mapper(flow.table)
    return flow.evolve(table=table, **mapper.facts, **mapper.finish())
