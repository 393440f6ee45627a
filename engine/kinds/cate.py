"""The CATE estimator contract: per-unit effects of each treatment, econml's fit/effect API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from engine.errors import DataError
from engine.flow import Flow


@runtime_checkable
class CATEEstimator(Protocol):
    """`fit(Y, T, X)` then `effect(X)`: an (n, K) matrix, one column per treatment."""

    def fit(self, Y: Any, T: Any, X: Any, *, W: Any = None) -> CATEEstimator: ...

    def effect(self, X: Any) -> Any: ...


protocol = CATEEstimator


def run_step(
    plugin: CATEEstimator,
    flow: Flow,
    *,
    outcome: str = "y",
    treatment: str = "t",
    features: Sequence[str] | None = None,
    prefix: str = "cate_",
) -> Flow:
    """Fit on the table's outcome, treatment and features; add one effect column per treatment."""
    import numpy as np
    import pyarrow as pa

    table = flow.table
    missing = [c for c in (outcome, treatment, *(features or ())) if c not in table.column_names]
    if missing:
        raise DataError(f"columns {missing} are not in the table; it has {table.column_names}")
    if features is None:
        skip = {outcome, treatment}
        features = [
            field.name for field in table.schema
            if field.name not in skip and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))
        ]
    X = np.column_stack([table.column(c).to_numpy() for c in features]).astype(float)
    Y = table.column(outcome).to_numpy()
    T = table.column(treatment).to_numpy(zero_copy_only=False)
    plugin.fit(Y, T, X)
    effects = np.asarray(plugin.effect(X))
    names = list(getattr(plugin, "treatment_names_", range(1, effects.shape[1] + 1)))
    columns = [f"{prefix}{n}" for n in names]
    for col, values in zip(columns, effects.T):
        table = table.append_column(col, pa.array(values))
    return flow.evolve(table=table, effects=tuple(columns))
