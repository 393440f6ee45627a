"""First-stage (nuisance) models of Double Machine Learning, chosen by name or given as estimators,
and their k-fold cross-fitting: every row's prediction comes from a model that never saw it."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

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


def cross_fit_outcome(model: Any, X: Any, Y: Any, splits: list[tuple[Any, Any]], random_state: int | None) -> Any:
    """Out-of-fold predictions of E[Y | X]."""
    import numpy as np

    predicted = np.empty(len(Y))
    for train, test in splits:
        fitted = make_model(model, role="regressor", random_state=random_state).fit(X[train], Y[train])
        predicted[test] = fitted.predict(X[test])
    return predicted


def cross_fit_propensity(
    model: Any, X: Any, codes: Any, levels: int, splits: list[tuple[Any, Any]], random_state: int | None
) -> Any:
    """Out-of-fold P(T = k | X) for k = 0..levels-1, an (n, levels) matrix (one multinomial model)."""
    import numpy as np

    probs = np.zeros((len(codes), levels))
    for train, test in splits:
        fitted = make_model(model, role="classifier", random_state=random_state).fit(X[train], codes[train])
        probs[np.ix_(test, np.asarray(fitted.classes_, dtype=np.int64))] = fitted.predict_proba(X[test])
    return probs
