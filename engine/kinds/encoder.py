"""The encoder contract: scikit-learn's transformer API over tables, plus the drift report of a transform."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

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


def run_step(plugin: Encoder, flow: Flow, *, fit: bool = True) -> Flow:
    """Fit on the incoming table (unless `fit` is false: an already fitted encoder only transforms)
    and pass on an Arrow table of the encoded and passed-through columns.

    The drift report of the transform, where the encoder makes one, becomes the "drift" fact. The
    incoming table's schema metadata (what a source says of its columns) is kept.
    """
    _ask_for_arrow(plugin)
    encoded = plugin.fit_transform(flow.table) if fit else plugin.transform(flow.table)
    table = to_arrow(encoded, names=plugin.get_feature_names_out())
    metadata = {**(flow.table.schema.metadata or {}), **(table.schema.metadata or {})}
    if metadata:
        table = table.replace_schema_metadata(metadata)
    drift = getattr(plugin, "drift_report_", None)
    if drift is None:
        return flow.evolve(table=table)
    return flow.evolve(table=table, drift=drift)


def _ask_for_arrow(plugin: Encoder) -> None:
    """Ask for Arrow output where the encoder offers it; otherwise its output is converted."""
    set_output = getattr(plugin, "set_output", None)
    if set_output is None:
        return
    try:
        set_output(transform="arrow")
    except ValueError:
        return  # a scikit-learn transformer knows only "default", "pandas" and "polars"
