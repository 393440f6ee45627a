"""First-stage (nuisance) models of Double Machine Learning, chosen by name or given as estimators,
and their k-fold cross-fitting: every row's prediction comes from a model that never saw it. Each
fold's fit is an independent task mapped by the running executor (`engine.tasks`: Ray tasks on `ray`)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from engine.errors import OptionError, PluginMissingError

ModelName = Literal["hgb", "lightgbm", "linear"]
MODEL_NAMES: tuple[str, ...] = ("hgb", "lightgbm", "linear")


@runtime_checkable
class Regressor(Protocol):
    """A scikit-learn style regressor."""

    def fit(self, X: Any, y: Any) -> Any: ...

    def predict(self, X: Any) -> Any: ...


@runtime_checkable
class Classifier(Protocol):
    """A scikit-learn style classifier with class probabilities."""

    def fit(self, X: Any, y: Any) -> Any: ...

    def predict_proba(self, X: Any) -> Any: ...


def make_model(spec: Any, *, role: Literal["regressor", "classifier"], random_state: int | None) -> Any:
    """A fresh, unfitted model: a named one, or a clone of the estimator given."""
    from sklearn.base import clone

    if not isinstance(spec, str):
        return clone(spec)
    classify = role == "classifier"
    if spec == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(random_state=random_state)
    if spec == "linear":
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        # Standardised first, so that the logistic penalty (and so every estimate) ignores X's units.
        model = LogisticRegression(solver="newton-cholesky") if classify else LinearRegression()
        return make_pipeline(StandardScaler(), model)
    if spec == "lightgbm":
        try:
            from lightgbm import LGBMClassifier, LGBMRegressor
        except ImportError:
            raise PluginMissingError(
                "first-stage model 'lightgbm' needs LightGBM: pip install 'hookyard[cate]' (or choose 'hgb')"
            ) from None
        cls = LGBMClassifier if classify else LGBMRegressor
        return cls(random_state=random_state, verbose=-1)
    raise OptionError(
        f"unknown first-stage {role} {spec!r}: choose one of {', '.join(MODEL_NAMES)} or pass a scikit-learn {role}"
    )


def folds(codes: Any, cv: int, random_state: int | None) -> list[tuple[Any, Any]]:
    """Train/test index pairs, stratified by treatment so every fold's training part sees every level."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return list(splitter.split(codes.reshape(-1, 1), codes))


@attrs.frozen(eq=False)
class FoldFits:
    """The first-stage fits of one cross-fitting, as independent tasks over the same data: a task
    ("outcome" or "propensity", train rows, test rows) fits a fresh model on the train rows and gives
    its predictions (an outcome model) or its classes and probabilities (a propensity model) on the
    test rows."""

    X: Any
    Y: Any
    codes: Any
    model_y: Any
    model_t: Any
    random_state: int | None

    def __call__(self, task: tuple[str, Any, Any]) -> Any:
        import numpy as np

        role, train, test = task
        if role == "outcome":
            fitted = make_model(self.model_y, role="regressor", random_state=self.random_state)
            return fitted.fit(self.X[train], self.Y[train]).predict(self.X[test])
        fitted = make_model(self.model_t, role="classifier", random_state=self.random_state)
        fitted.fit(self.X[train], self.codes[train])
        return np.asarray(fitted.classes_, dtype=np.int64), fitted.predict_proba(self.X[test])


def cross_fit(fits: FoldFits, splits: list[tuple[Any, Any]], levels: int) -> tuple[Any, Any]:
    """Out-of-fold E[Y | X] (n,) when `fits` has an outcome (else None) and P(T = k | X) for k = 0..levels-1,
    (n, levels), when it has codes (else None). Every fold of each model is one task of the running
    executor's task map (`engine.tasks`: Ray tasks on the `ray` executor), so they may run at once."""
    import numpy as np

    from engine.tasks import map_tasks

    roles = [role for role, given in (("outcome", fits.Y), ("propensity", fits.codes)) if given is not None]
    tasks = [(role, train, test) for role in roles for train, test in splits]
    n = len(fits.X)
    predicted = np.empty(n) if fits.Y is not None else None
    probs = np.zeros((n, levels)) if fits.codes is not None else None
    for (role, _, test), answer in zip(tasks, map_tasks(fits, tasks), strict=True):
        if role == "outcome":
            predicted[test] = answer
        else:
            classes, proba = answer
            probs[np.ix_(test, classes)] = proba
    return predicted, probs


def cross_fit_propensity(
    model: Any, X: Any, codes: Any, levels: int, splits: list[tuple[Any, Any]], random_state: int | None
) -> Any:
    """Out-of-fold P(T = k | X) for k = 0..levels-1, an (n, levels) matrix (one multinomial model)."""
    return cross_fit(FoldFits(X, None, codes, None, model, random_state), splits, levels)[1]
