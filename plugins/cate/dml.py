"""The native `dml` estimator: multi-arm Double Machine Learning with k-fold cross-fitting.

One outcome model E[Y|X] and one multinomial propensity model P(T=k|X), both cross-fitted; then
the outcome residual is regressed on every arm's treatment residual times a featurizer of X
(intercept, X and pairwise products by default). `mode="per-treatment"` instead fits each arm
against the control on its own rows, as the seed's three separate experiments do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.errors import OptionError, StateError
from plugins.cate.base import CATEBase, check_alpha, check_matrix, check_outcome, treatment_levels
from plugins.cate.final_stage import (
    CovType,
    FeaturizerName,
    LinearFinalStage,
    chunks,
    feature_names,
    featurize,
    fit_linear_final,
)
from plugins.cate.first_stage import (
    Classifier,
    ModelName,
    Regressor,
    cross_fit_outcome,
    cross_fit_propensity,
    folds,
)

STATE_VERSION = 1


class DML(CATEBase):
    """Linear-final-stage DML for discrete treatments with any number of arms.

    `model_y` / `model_t` are "hgb" (scikit-learn HistGradientBoosting), "lightgbm", "linear",
    or any scikit-learn regressor / classifier. Propensities are clipped to [clip, 1 - clip];
    the share of rows clipped per arm is reported in `propensity_clipped_`. Intervals use the
    final stage's `cov_type` sandwich covariance ("HC2" by default; "HC1" is econml's choice).
    """

    def __init__(
        self,
        model_y: ModelName | Regressor = "hgb",
        model_t: ModelName | Classifier = "hgb",
        featurizer: FeaturizerName = "interactions",
        cv: int = 2,
        mode: Literal["multi-arm", "per-treatment"] = "multi-arm",
        control: str | int | None = None,
        treatments: Sequence[str | int] | None = None,
        clip: float = 0.01,
        cov_type: CovType = "HC2",
        random_state: int | None = None,
    ) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.featurizer = featurizer
        self.cv = cv
        self.mode = mode
        self.control = control
        self.treatments = treatments
        self.clip = clip
        self.cov_type = cov_type
        self.random_state = random_state

    def _check_options(self) -> None:
        if not isinstance(self.cv, int) or self.cv < 2:
            raise OptionError(f"cv must be an integer of at least 2 folds, got {self.cv!r}")
        if not 0.0 <= self.clip < 0.5:
            raise OptionError(f"clip must be in [0, 0.5), got {self.clip!r}")
        if self.cov_type not in ("HC0", "HC1", "HC2"):
            raise OptionError(f"cov_type must be one of HC0, HC1, HC2, got {self.cov_type!r}")

    def fit(self, Y: Any, T: Any, X: Any, *, W: Any = None) -> DML:
        """Cross-fit the first stages and fit the final stage; returns self."""
        import numpy as np

        self._check_options()
        if W is not None:
            raise OptionError("dml takes no separate controls W: pass every feature in X")
        X = check_matrix(X)
        Y = check_outcome(Y, len(X))
        codes, levels, control = treatment_levels(
            T, len(X), control=self.control, treatments=self.treatments, min_rows=self.cv
        )
        arms = len(levels)
        if self.mode == "multi-arm":
            y_res, t_res, clipped = self._residuals(X, Y, codes, arms + 1)
            stage = fit_linear_final(y_res, t_res, X, self.featurizer, self.cov_type)
        else:
            stages, clipped = [], []
            for k in range(1, arms + 1):
                rows = np.flatnonzero((codes == 0) | (codes == k))
                y_res, t_res, share = self._residuals(X[rows], Y[rows], (codes[rows] == k).astype(np.int64), 2)
                stages.append(fit_linear_final(y_res, t_res, X[rows], self.featurizer, self.cov_type))
                clipped.extend(share)
            stage = LinearFinalStage(
                coef=np.concatenate([s.coef for s in stages]), cov=np.concatenate([s.cov for s in stages])
            )
        self.levels_ = levels
        self.control_ = control
        self.treatment_names_ = [str(v) for v in levels]
        self.n_features_in_ = X.shape[1]
        self.final_stage_ = stage
        self.propensity_clipped_ = dict(zip(self.treatment_names_, clipped))
        return self

    def _residuals(self, X: Any, Y: Any, codes: Any, levels: int) -> tuple[Any, Any, list[float]]:
        """Outcome residuals (n,), arm residuals (n, levels - 1) and each arm's share of clipped propensities."""
        import numpy as np

        splits = folds(codes, self.cv, self.random_state)
        y_hat = cross_fit_outcome(self.model_y, X, Y, splits, self.random_state)
        probs = cross_fit_propensity(self.model_t, X, codes, levels, splits, self.random_state)[:, 1:]
        clipped = np.clip(probs, self.clip, 1.0 - self.clip)
        onehot = codes[:, None] == np.arange(1, levels)[None, :]
        return Y - y_hat, onehot - clipped, [float(v) for v in (clipped != probs).mean(axis=0)]

    def const_marginal_effect(self, X: Any) -> Any:
        """The (n, K) effect of every treatment against the control at X."""
        import numpy as np

        X = self._checked(X)
        out = np.empty((len(X), len(self.levels_)))
        for part in chunks(len(X)):
            out[part] = self.final_stage_.effects(featurize(X[part], self.featurizer))
        return out

    def const_marginal_effect_interval(self, X: Any, *, alpha: float = 0.05) -> tuple[Any, Any]:
        """Normal (1 - alpha) intervals of `const_marginal_effect` from the robust covariance."""
        import numpy as np
        from scipy.stats import norm

        X = self._checked(X)
        z = norm.ppf(1.0 - alpha / 2.0)
        lower = np.empty((len(X), len(self.levels_)))
        upper = np.empty_like(lower)
        for part in chunks(len(X)):
            phi = featurize(X[part], self.featurizer)
            center, spread = self.final_stage_.effects(phi), z * self.final_stage_.stderr(phi)
            lower[part], upper[part] = center - spread, center + spread
        return lower, upper

    def ate(self, X: Any) -> Any:
        """The average effect (K,) of every treatment over the rows of X."""
        return self.final_stage_.effects(self._mean_features(X))[0]

    def ate_interval(self, X: Any, *, alpha: float = 0.05) -> tuple[Any, Any]:
        """The (1 - alpha) interval of `ate`, for the mean true effect over the rows of X (conditional on
        those rows, so not widened for how X was sampled): mean featurized row g, variance g' cov g."""
        from scipy.stats import norm

        check_alpha(alpha)
        phi = self._mean_features(X)
        center = self.final_stage_.effects(phi)[0]
        spread = norm.ppf(1.0 - alpha / 2.0) * self.final_stage_.stderr(phi)[0]
        return center - spread, center + spread

    def _mean_features(self, X: Any) -> Any:
        X = self._checked(X)
        total = sum(featurize(X[part], self.featurizer).sum(axis=0) for part in chunks(len(X)))
        return (total / len(X))[None, :]

    def _checked(self, X: Any) -> Any:
        self._check_fitted()
        return check_matrix(X, n_features=self.n_features_in_)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> list[str]:
        """Names of the final stage's features (its coefficients' columns)."""
        self._check_fitted()
        names = list(input_features) if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return feature_names(names, self.featurizer)

    def to_state(self) -> dict[str, Any]:
        """Options and fitted final stage as plain JSON data (first stages are not needed to predict)."""
        options = {
            name: (value if isinstance(value, (str, int, float, type(None))) else f"custom {value!r}")
            for name, value in self._options().items()
        }
        if options["treatments"] is not None:
            options["treatments"] = list(self.treatments)
        state: dict[str, Any] = {"version": STATE_VERSION, "options": options}
        if hasattr(self, "levels_"):
            state["fitted"] = {
                "levels": self.levels_,
                "control": self.control_,
                "n_features_in": self.n_features_in_,
                "coef": self.final_stage_.coef.tolist(),
                "cov": self.final_stage_.cov.tolist(),
                "propensity_clipped": self.propensity_clipped_,
            }
        return state

    def _options(self) -> dict[str, Any]:
        names = (
            "model_y", "model_t", "featurizer", "cv", "mode", "control", "treatments", "clip", "cov_type", "random_state"
        )
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DML:
        """Rebuild a DML saved by `to_state`; a custom first-stage model is kept as its description."""
        import numpy as np

        version = state.get("version")
        if version != STATE_VERSION:
            raise StateError(f"dml state version {version!r} is not one this hookyard reads ({STATE_VERSION})")
        estimator = cls(**state["options"])
        fitted = state.get("fitted")
        if fitted is not None:
            estimator.levels_ = list(fitted["levels"])
            estimator.control_ = fitted["control"]
            estimator.treatment_names_ = [str(v) for v in estimator.levels_]
            estimator.n_features_in_ = int(fitted["n_features_in"])
            estimator.final_stage_ = LinearFinalStage(
                coef=np.asarray(fitted["coef"], dtype=float), cov=np.asarray(fitted["cov"], dtype=float)
            )
            estimator.propensity_clipped_ = dict(fitted["propensity_clipped"])
            width = len(featurize(np.zeros((1, estimator.n_features_in_)), estimator.featurizer)[0])
            if estimator.final_stage_.coef.shape != (len(estimator.levels_), width):
                raise StateError("dml state is corrupt: coefficients do not match the levels and features")
        return estimator
