"""The CATE estimator contract: per-unit effects of each treatment, econml's fit/effect API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from engine.errors import DataError
from engine.flow import Flow

TRUE_EFFECTS_KEY = b"hookyard.true_effects"
TREATMENTS_KEY = b"hookyard.treatments"


@runtime_checkable
class CATEEstimator(Protocol):
    """`fit(Y, T, X)` then `effect(X)`: an (n, K) matrix, one column per non-control treatment,
    named by the fitted `treatment_names_`. Estimators with intervals also offer
    `effect_interval(X, alpha=...)` returning (lower, upper) of the same shape."""

    def fit(self, Y: Any, T: Any, X: Any, *, W: Any = None) -> CATEEstimator: ...

    def effect(self, X: Any) -> Any: ...


protocol = CATEEstimator


def true_effect_columns(table: Any, treatments: Sequence[str], given: Sequence[str] | None = None) -> tuple[str, ...]:
    """The columns holding each treatment's true effect: `given`, else what the table's schema
    metadata says (the `synthetic` source records it), else none."""
    if given is not None:
        if len(given) != len(treatments):
            raise DataError(
                f"true_effects names {len(given)} column(s) but the estimator has {len(treatments)} "
                f"treatment(s) {list(treatments)}; give one column per treatment, in that order"
            )
        missing = [c for c in given if c not in table.column_names]
        if missing:
            raise DataError(f"true-effect columns {missing} are not in the table; it has {table.column_names}")
        return tuple(given)
    metadata = table.schema.metadata or {}
    if TRUE_EFFECTS_KEY not in metadata or TREATMENTS_KEY not in metadata:
        return ()
    by_treatment = dict(zip(metadata[TREATMENTS_KEY].decode().split(","), metadata[TRUE_EFFECTS_KEY].decode().split(",")))
    columns = tuple(by_treatment.get(name, "") for name in treatments)
    return columns if all(c in table.column_names for c in columns) else ()


def _declared_true_effects(table: Any) -> set[str]:
    metadata = table.schema.metadata or {}
    return set(metadata.get(TRUE_EFFECTS_KEY, b"").decode().split(","))


def run_step(
    plugin: CATEEstimator,
    flow: Flow,
    *,
    outcome: str = "y",
    treatment: str = "t",
    features: Sequence[str] | None = None,
    prefix: str = "cate_",
    true_effects: Sequence[str] | None = None,
) -> Flow:
    """Fit on the table's outcome, treatment and features; add one effect column per treatment.

    Without `features`, every numeric column but the outcome, the treatment and true-effect
    columns is a feature. Facts added: "effects" (the new columns), "treatments" (their names)
    and, when the true effects are known, "true_effects" (one column per treatment, same order).
    """
    import numpy as np
    import pyarrow as pa

    table = flow.table
    missing = [c for c in (outcome, treatment, *(features or ())) if c not in table.column_names]
    if missing:
        raise DataError(f"columns {missing} are not in the table; it has {table.column_names}")
    if features is None:
        skip = {outcome, treatment, *(true_effects or ()), *_declared_true_effects(table)}
        features = [
            field.name for field in table.schema
            if field.name not in skip and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))
        ]
    if not features:
        raise DataError(f"no numeric feature columns to fit on in {table.column_names}; encode categorical ones first")
    X = np.column_stack([table.column(c).to_numpy() for c in features]).astype(float)
    Y = table.column(outcome).to_numpy()
    T = table.column(treatment).to_numpy(zero_copy_only=False)
    plugin.fit(Y, T, X)
    effects = np.asarray(plugin.effect(X))
    names = [str(n) for n in getattr(plugin, "treatment_names_", range(1, effects.shape[1] + 1))]
    columns = [f"{prefix}{n}" for n in names]
    clash = [c for c in columns if c in table.column_names]
    if clash:
        raise DataError(f"effect columns {clash} already exist in the table; choose another prefix")
    truth = true_effect_columns(table, names, true_effects)
    for col, values in zip(columns, effects.T):
        table = table.append_column(col, pa.array(values))
    facts: dict[str, Any] = {"effects": tuple(columns), "treatments": tuple(names)}
    if truth:
        facts["true_effects"] = truth
    return flow.evolve(table=table, **facts)
