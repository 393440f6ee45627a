"""A T-learner: one least-squares outcome model per treatment level; an effect is the difference
between a treatment's prediction and the control's."""

from __future__ import annotations

from typing import Any

from engine import DataError, NotFittedError


class ExampleCATE:
    """Linear outcome models per arm. `control` names the control level (default: the level
    "control" or 0); `min_rows` is the fewest rows an arm may have."""

    def __init__(self, control: str | int | None = None, min_rows: int = 20) -> None:
        self.control = control
        self.min_rows = min_rows

    def fit(self, Y: Any, T: Any, X: Any, *, W: Any = None) -> ExampleCATE:
        """Fit one outcome model per treatment level."""
        import numpy as np

        Y, X = np.asarray(Y, dtype=float), np.asarray(X, dtype=float)
        T = np.asarray(T)
        if X.ndim != 2 or X.shape[1] == 0:
            raise DataError(f"X has no feature columns (shape {X.shape}); pass rows x numeric features")
        for name, array in (("X", X), ("Y", Y)):
            if not np.isfinite(array).all():
                raise DataError(f"{name} has NaN or inf values; fill or drop them before fitting")
        if not len(Y) == len(T) == len(X):
            raise DataError(f"Y has {len(Y)} rows but X has {len(X)} and T has {len(T)}; give one row each")
        if any(t is None or t != t for t in T.tolist()):
            raise DataError("T has missing treatment labels; give every row its treatment")
        levels = sorted(set(T.tolist()), key=str)
        if len(levels) < 2:
            raise DataError(f"T has no variation (only {levels}); give rows of the control and a treatment")
        control = self.control if self.control is not None else next((c for c in ("control", 0) if c in levels), None)
        if control not in levels:
            raise DataError(f"no control level among T's levels {levels}; set the control option")
        counts = {level: int((T == level).sum()) for level in levels}
        small = {level: n for level, n in counts.items() if n < self.min_rows}
        if small:
            raise DataError(f"too few rows for levels {small}: each needs at least {self.min_rows} (min_rows)")
        design = np.column_stack([np.ones(len(X)), X])
        self.coef_ = {
            level: np.linalg.lstsq(design[T == level], Y[T == level], rcond=None)[0] for level in levels
        }
        self.control_ = control
        self.treatment_names_ = [level for level in levels if level != control]
        self.n_features_ = X.shape[1]
        return self

    def _predict(self, level: Any, X: Any) -> Any:
        import numpy as np

        if level not in self.coef_:
            raise DataError(f"treatment level {level!r} was not seen in fit; the levels are {list(self.coef_)}")
        return np.column_stack([np.ones(len(X)), X]) @ self.coef_[level]

    def effect(self, X: Any, *, T0: Any = None, T1: Any = None) -> Any:
        """(n, K) effects of each treatment against the control; with T1 (and T0) the (n,) effect of
        moving each row from T0 (default: the control) to T1."""
        import numpy as np

        if not hasattr(self, "coef_"):
            raise NotFittedError("this estimator is not fitted yet: call fit first")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise DataError(f"X has shape {X.shape}, but the estimator was fitted on {self.n_features_} features")
        if not np.isfinite(X).all():
            raise DataError("X has NaN or inf values; fill or drop them first")
        base = self._predict(self.control_ if T0 is None else T0, X)
        if T1 is not None:
            return self._predict(T1, X) - base
        return np.column_stack([self._predict(level, X) - base for level in self.treatment_names_])

    def ate(self, X: Any) -> Any:
        """The average effect of each treatment over the rows of X: (K,)."""
        return self.effect(X).mean(axis=0)
