"""What every built-in CATE estimator shares: input checks, treatment levels and econml's effect API.

A subclass fits `const_marginal_effect(X)` (an (n, K) matrix, one column per non-control level)
and `const_marginal_effect_interval(X, alpha)`; this base turns those into `effect(X, T0, T1)`
and `effect_interval(X, T0, T1, alpha)` and checks every input with an error a person can act on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from engine.errors import DataError, NotFittedError

CONTROL_NAMES: tuple[str, ...] = ("0", "control", "untreated", "none", "no", "false")  # and the number 0 / False


class CATEWarning(UserWarning):
    """A fit that ran but whose estimates deserve a second look (poor overlap, too few rows, aliased features)."""


def warn(message: str) -> None:
    """Issue a CATEWarning pointing at the code that called `fit` (warn <- its check <- fit <- caller)."""
    warnings.warn(message, CATEWarning, stacklevel=4)


def check_matrix(X: Any, *, name: str = "X", n_features: int | None = None) -> Any:
    """X as a finite 2-D float array (a 1-D array is one feature); with `n_features`, of that width."""
    import numpy as np

    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric; encode categorical columns first ({exc})") from None
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (rows x features), got {X.ndim} dimensions")
    if X.shape[1] == 0:
        raise DataError(f"{name} has no feature columns; pass at least one numeric feature per row")
    if not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise DataError(
            f"{name} has NaN or inf in {bad.size} row(s) (first at row {bad[0]}); "
            "impute or drop those rows before fitting"
        )
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{name} has {X.shape[1]} feature(s) but the estimator was fitted on {n_features}")
    return X


def check_outcome(Y: Any, rows: int) -> Any:
    """Y as a finite 1-D float array with `rows` entries."""
    import numpy as np

    try:
        Y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Y (the outcome) must be numeric ({exc})") from None
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim != 1:
        raise DataError(f"Y must be one outcome per row (1-D), got shape {Y.shape}")
    if Y.shape[0] != rows:
        raise DataError(f"Y has {Y.shape[0]} rows but X has {rows}; pass one outcome per row of X")
    if not np.isfinite(Y).all():
        bad = np.flatnonzero(~np.isfinite(Y))
        raise DataError(f"Y has NaN or inf in {bad.size} row(s) (first at row {bad[0]}); drop or fix them")
    return Y


def treatment_levels(
    T: Any, rows: int, *, control: Any, treatments: Sequence[Any] | None, min_rows: int
) -> tuple[Any, list[Any], Any]:
    """The treatment codes (0 = control, k = k-th level), the non-control levels and the control.

    The control is `control` when given, else the one level with a usual control name (0, False,
    or a string such as "control", "untreated", "none", "no" in any case); with none or several of
    those it refuses to guess. Every level (and every one in `treatments`) needs `min_rows` rows.
    """
    import numpy as np

    T = np.asarray(T, dtype=object)
    if T.ndim == 2 and T.shape[1] == 1:
        T = T[:, 0]
    if T.ndim != 1:
        raise DataError(f"T must be one treatment label per row (1-D), got shape {T.shape}")
    if T.shape[0] != rows:
        raise DataError(f"T has {T.shape[0]} rows but X has {rows}; pass one treatment per row of X")
    missing = np.array([_missing(v) for v in T])
    if missing.any():
        raise DataError(f"T has missing treatment labels in {int(missing.sum())} row(s) (first at row {np.flatnonzero(missing)[0]})")
    labels = np.array([_plain(v) for v in T], dtype=object)
    seen = sorted(set(labels), key=_sort_key)
    if control is None:
        control = _guess_control(seen)
    if control not in seen:
        raise DataError(f"the control level {control!r} has no rows; T has levels {seen}")
    levels = [v for v in seen if v != control]
    if treatments is not None:
        absent = [v for v in treatments if v not in seen]
        if absent:
            raise DataError(f"treatment level(s) {absent} have no rows; T has levels {seen}")
        extra = [v for v in levels if v not in treatments]
        if extra:
            raise DataError(f"T has level(s) {extra} not among treatments={list(treatments)}; add them or drop those rows")
        levels = list(treatments)
    if not levels:
        raise DataError(f"T has no variation: every row has the level {control!r}; a treated arm is needed")
    index = {control: 0, **{v: k + 1 for k, v in enumerate(levels)}}
    codes = np.array([index[v] for v in labels], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(levels) + 1)
    small = {lvl: int(c) for lvl, c in zip([control, *levels], counts) if c < min_rows}
    if small:
        raise DataError(
            f"too few rows for {min_rows}-fold cross-fitting in treatment level(s) {small}; "
            f"each level needs at least {min_rows} rows (use fewer folds or more data)"
        )
    return codes, levels, control


def check_alpha(alpha: float) -> None:
    """An interval's alpha must lie strictly between 0 and 1."""
    if not 0.0 < alpha < 1.0:
        raise DataError(f"alpha must be between 0 and 1 (0.05 gives 95% intervals), got {alpha}")


def _guess_control(seen: list[Any]) -> Any:
    """The one level named like a control; a DataError asking for `control` otherwise."""
    named = [v for v in seen if (v == 0 if isinstance(v, (int, float)) else str(v).strip().lower() in CONTROL_NAMES)]
    if len(named) == 1:
        return named[0]
    found = f"several look like one ({named})" if named else "none is named like one (0, 'control', 'untreated', ...)"
    raise DataError(
        f"cannot tell which treatment level is the control: T has levels {seen} and {found}; "
        "set the control option, e.g. control=" + repr(named[0] if named else seen[0])
    )


def _missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA (whose comparisons are neither true nor false)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return True


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so that levels compare, sort and serialise as JSON."""
    return value.item() if hasattr(value, "item") else value


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


class CATEBase:
    """econml's effect API on top of `const_marginal_effect`; fitted state ends in `_`."""

    treatment_names_: list[str]

    def _check_fitted(self) -> None:
        if not hasattr(self, "levels_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(Y, T, X) first")

    def _level_index(self, level: Any) -> int:
        """The column of a level in the effect matrix (-1 for the control)."""
        level = _plain(level)
        if level == self.control_:
            return -1
        try:
            return self.levels_.index(level)
        except ValueError:
            raise DataError(
                f"treatment level {level!r} was not seen in fit; known levels are {[self.control_, *self.levels_]}"
            ) from None

    def _contrast(self, matrix: Any, T0: Any, T1: Any) -> Any:
        """Rows of `matrix` (n, K) turned into the effect of T1 against T0, per row."""
        import numpy as np

        n = matrix.shape[0]
        with_control = np.column_stack([np.zeros(n), matrix])
        rows = np.arange(n)
        cols = [self._codes(level, n) for level in (T0, T1)]
        return with_control[rows, cols[1]] - with_control[rows, cols[0]]

    def _codes(self, level: Any, n: int) -> Any:
        import numpy as np

        if level is None:
            return np.zeros(n, dtype=np.int64)
        values = np.asarray(level, dtype=object)
        if values.ndim == 0:
            return np.full(n, self._level_index(values.item()) + 1)
        if values.shape != (n,):
            raise DataError(f"T0/T1 must be one level or one level per row of X ({n}), got shape {values.shape}")
        return np.array([self._level_index(v) + 1 for v in values])

    def effect(self, X: Any, T0: Any = None, T1: Any = None) -> Any:
        """Without T1: the (n, K) effects of every treatment against the control, columns named
        by `treatment_names_`. With T1 (and optionally T0, default the control): the effect of
        moving each row from T0 to T1, an (n,) vector."""
        matrix = self.const_marginal_effect(X)
        if T1 is None and T0 is None:
            return matrix
        return self._contrast(matrix, T0, T1)

    def effect_interval(self, X: Any, T0: Any = None, T1: Any = None, *, alpha: float = 0.05) -> tuple[Any, Any]:
        """The (1 - alpha) confidence interval of `effect` (lower, upper), in the same shape."""
        check_alpha(alpha)
        lower, upper = self.const_marginal_effect_interval(X, alpha=alpha)
        if T1 is None and T0 is None:
            return lower, upper
        if T0 is not None:
            raise DataError("intervals are for effects against the control: give T1 only, or neither")
        return self._contrast(lower, None, T1), self._contrast(upper, None, T1)
