"""The CATE estimator contract: per-unit effects of each treatment, econml's fit/effect API."""

from __future__ import annotations

import sys
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
    fit: bool = True,
) -> Flow:
    """Fit on the table's outcome, treatment and features (unless `fit` is false: an already fitted
    estimator only scores); add one effect column per treatment.

    Without `features`, every numeric column but the outcome, the treatment and true-effect
    columns is a feature; the fit resolves them once, so later batches and bundles use exactly
    those columns. Facts added: "effects" (the new columns), "treatments" (their names), when
    the true effects are known "true_effects" (one column per treatment, same order), and when the
    estimator reports its overlap (`overlap_`: per arm the propensity histogram) "overlap".
    """
    from engine.stages import run_in_memory

    params = {"outcome": outcome, "treatment": treatment, "features": features, "prefix": prefix,
              "true_effects": true_effects, "fit": fit}
    return run_in_memory(sys.modules[__name__], plugin, flow, params)


def wants_fit(params: dict[str, Any]) -> bool:
    """Whether the step fits its estimator before scoring."""
    return bool(params.get("fit", True))


def fit(
    plugin: CATEEstimator,
    table: Any,
    *,
    outcome: str = "y",
    treatment: str = "t",
    features: Sequence[str] | None = None,
    prefix: str = "cate_",
    true_effects: Sequence[str] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Fit the estimator on `table`; returns what scoring needs: the resolved feature columns, the prefix."""
    _require(table, (outcome, treatment, *(features or ())))
    if features is None:
        features = _numeric_features(table, {outcome, treatment, *(true_effects or ()), *_declared_true_effects(table)})
    Y = table.column(outcome).to_numpy()
    T = table.column(treatment).to_numpy(zero_copy_only=False)
    plugin.fit(Y, T, _matrix(table, features))
    return {"features": list(features), "prefix": prefix}


def _require(table: Any, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(f"columns {missing} are not in the table; it has {table.column_names}")


def _numeric_features(table: Any, skip: set[str]) -> list[str]:
    import pyarrow as pa

    features = [
        field.name for field in table.schema
        if field.name not in skip and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))
    ]
    if not features:
        raise DataError(f"no numeric feature columns to fit on in {table.column_names}; encode categorical ones first")
    return features


def _matrix(table: Any, features: Sequence[str]) -> Any:
    import numpy as np

    return np.column_stack([table.column(c).to_numpy() for c in features]).astype(float, copy=False)


class Apply:
    """The fitted estimator's effects, one batch at a time, as one column per treatment."""

    def __init__(
        self,
        plugin: CATEEstimator,
        *,
        outcome: str = "y",
        treatment: str = "t",
        features: Sequence[str] | None = None,
        prefix: str = "cate_",
        true_effects: Sequence[str] | None = None,
        **_: Any,
    ) -> None:
        self.plugin = plugin
        self.skip = {outcome, treatment, *(true_effects or ())}
        self.features = features
        self.prefix = prefix
        self.true_effects = true_effects
        self.facts: dict[str, Any] = {}
        self._columns: list[str] = []

    def __call__(self, table: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        if not self.facts:
            self._plan(table)
        features = self.features
        if features is None:
            features = _numeric_features(table, self.skip | _declared_true_effects(table))
        _require(table, features)
        width = len(self._columns)
        effects = np.asarray(self.plugin.effect(_matrix(table, features))) if table.num_rows else np.empty((0, width))
        if effects.size != table.num_rows * width:
            raise DataError(f"the estimator's effect() gave shape {effects.shape} for {table.num_rows} rows; a cate plugin "
                            f"returns one column per treatment ({width}: {', '.join(self.facts['treatments'])})")
        for column, values in zip(self._columns, effects.reshape(len(effects), width).T):
            table = table.append_column(column, pa.array(values, pa.float64()))
        return table

    def _plan(self, table: Any) -> None:
        """The effect columns and facts, from the fitted treatment names and the first batch's schema."""
        names = getattr(self.plugin, "treatment_names_", None)
        if names is None:
            raise DataError(f"the {type(self.plugin).__name__} has no treatment_names_: fit it first (or set fit = true)")
        names = [str(n) for n in names]
        self._columns = [f"{self.prefix}{n}" for n in names]
        clash = [c for c in self._columns if c in table.column_names]
        if clash:
            raise DataError(f"effect columns {clash} already exist in the table; choose another prefix")
        self.facts = {"effects": tuple(self._columns), "treatments": tuple(names)}
        truth = true_effect_columns(table, names, self.true_effects)
        if truth:
            self.facts["true_effects"] = truth
        overlap = getattr(self.plugin, "overlap_", None)
        if overlap:
            self.facts["overlap"] = overlap

    def finish(self) -> dict[str, Any]:
        return {}


mapper = Apply
