"""The encoder contract: scikit-learn's transformer API over tables, plus the drift report of a transform."""

from __future__ import annotations

import sys
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from engine.flow import Flow
from engine.tables import to_arrow


@runtime_checkable
class Encoder(Protocol):
    """Learns levels with `fit`, then `transform`s any later data to exactly the fitted columns.

    An encoder may also offer scikit-learn's `set_output`; where it accepts transform="arrow",
    a pipeline step gets its output as a pyarrow Table directly.
    """

    def fit(self, X: Any, y: Any = None) -> Encoder: ...

    def transform(self, X: Any) -> Any: ...

    def fit_transform(self, X: Any, y: Any = None) -> Any: ...

    def get_feature_names_out(self, input_features: Any = None) -> Any: ...


protocol = Encoder


@attrs.frozen
class LevelCount:
    """One level of a column with how many rows held it and their share of the rows."""

    level: Any
    count: int
    share: float


@attrs.frozen
class ColumnDrift:
    """How one encoded column of transformed data differs from the training data.

    `unseen`: levels never seen in fit, most frequent first; `absent`: fitted levels that did
    not appear (their output columns are all zeros).
    """

    column: str
    unseen: tuple[LevelCount, ...] = ()
    absent: tuple[Any, ...] = ()

    @property
    def drifted(self) -> bool:
        return bool(self.unseen or self.absent)


@attrs.frozen
class DriftReport:
    """Per encoded column, what the last transformed data brought that training did not, and lacked."""

    rows: int
    columns: tuple[ColumnDrift, ...]

    @property
    def drifted(self) -> bool:
        return any(c.drifted for c in self.columns)

    def column(self, name: str) -> ColumnDrift:
        """The drift of one encoded column by name."""
        for drift in self.columns:
            if drift.column == name:
                return drift
        raise KeyError(f"no encoded column {name!r} in the drift report; it has {[c.column for c in self.columns]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for logs and JSON."""
        return attrs.asdict(self)

    def merge(self, other: DriftReport) -> DriftReport:
        """The drift of both reports' data together, as one transform over all of it would report:
        unseen levels' counts add up, and a fitted level is absent only when absent from both."""
        rows = self.rows + other.rows
        theirs = {c.column: c for c in other.columns}
        merged = []
        for mine in self.columns:
            other_column = theirs.get(mine.column, ColumnDrift(mine.column))
            counts: dict[Any, int] = {}
            for seen in (*mine.unseen, *other_column.unseen):
                counts[seen.level] = counts.get(seen.level, 0) + seen.count
            unseen = tuple(
                LevelCount(level, count, count / rows if rows else 0.0)
                for level, count in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
            )
            also_absent = set(other_column.absent)
            absent = tuple(level for level in mine.absent if level in also_absent)
            merged.append(ColumnDrift(mine.column, unseen, absent))
        return DriftReport(rows, tuple(merged))


def run_step(plugin: Encoder, flow: Flow, *, fit: bool | Literal["stream"] = True) -> Flow:
    """Fit on the incoming table (unless `fit` is false: an already fitted encoder only transforms)
    and pass on an Arrow table of the encoded and passed-through columns.

    In a streamed run `fit="stream"` counts the levels over every batch of the source rather than
    over the fitting sample. The drift report of the transform, where the encoder makes one, becomes
    the "drift" fact. The incoming table's schema metadata (what a source says of its columns) is kept.
    """
    from engine.stages import run_in_memory

    return run_in_memory(sys.modules[__name__], plugin, flow, {"fit": fit})


def fit(plugin: Encoder, data: Any, *, fit: bool | Literal["stream"] = True) -> dict[str, Any]:
    """Learn the encoder's levels from `data` (a table, or an iterable of batches); nothing to resolve.
    Arrow output is asked for first: an encoder may fix its output's shape when it fits."""
    _ask_for_arrow(plugin)
    if fit:
        plugin.fit(data)
    return {}


def wants_fit(params: dict[str, Any]) -> bool | str:
    """Whether the step fits its plugin, and on what: True (the fitting data), "stream" or False."""
    return params.get("fit", True)


class Apply:
    """The encoder's transform, one batch at a time; drift reports of the batches are merged. Columns
    the encoder never saw in fit (a customer id in the data to score) pass by it to the next step."""

    def __init__(self, plugin: Encoder, *, fit: bool | Literal["stream"] = True) -> None:
        _ask_for_arrow(plugin)
        self.plugin = plugin
        self.facts: dict[str, Any] = {}
        self._drift: DriftReport | None = None

    def __call__(self, table: Any) -> Any:
        out = to_arrow(self.plugin.transform(table), names=self.plugin.get_feature_names_out())
        seen = getattr(self.plugin, "feature_names_in_", None)
        if seen is not None:
            known = {*map(str, seen), *out.column_names}
            for name in table.column_names:
                if name not in known:
                    out = out.append_column(table.schema.field(name), table.column(name))
        metadata = {**(table.schema.metadata or {}), **(out.schema.metadata or {})}
        if metadata:
            out = out.replace_schema_metadata(metadata)
        drift = getattr(self.plugin, "drift_report_", None)
        if isinstance(drift, DriftReport):
            self._drift = drift if self._drift is None else self._drift.merge(drift)
        return out

    def finish(self) -> dict[str, Any]:
        """The drift over every batch, where the encoder reports one."""
        return {} if self._drift is None else {"drift": self._drift}


mapper = Apply


def _ask_for_arrow(plugin: Encoder) -> None:
    """Ask for Arrow output where the encoder offers it; otherwise its output is converted."""
    set_output = getattr(plugin, "set_output", None)
    if set_output is None:
        return
    try:
        set_output(transform="arrow")
    except ValueError:
        return  # a scikit-learn transformer knows only "default", "pandas" and "polars"
