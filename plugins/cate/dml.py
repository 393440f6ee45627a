"""The native `dml` estimator: multi-arm Double Machine Learning with k-fold cross-fitting.

One outcome model E[Y|X] and one multinomial propensity model P(T=k|X), both cross-fitted; then
the outcome residual is regressed on every arm's treatment residual times a featurizer of X
(intercept and X, plus pairwise products once there are rows enough). `mode="per-treatment"`
instead fits each arm against the control on its own rows, as the seed's three separate
experiments do. Overlap (the out-of-fold propensities per arm) is kept for `explain()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.errors import OptionError
from plugins.cate.base import CATEBase, check_alpha, check_matrix, check_outcome, treatment_levels, warn
from plugins.cate.final_stage import (
    FEATURIZERS,
    MIN_ROWS_PER_COEFFICIENT,
    CovType,
    FeaturizerName,
    choose_featurizer,
    chunks,
    feature_names,
    featurize,
    fit_linear_final,
    stack,
    width,
)
from plugins.cate.first_stage import (
    Classifier,
    ModelName,
    FoldFits,
    Regressor,
    cross_fit,
    folds,
)

STATE_VERSION = 2
OPTIONS = (
    "model_y", "model_t", "featurizer", "cv", "mode", "control", "treatments", "clip", "cov_type", "random_state"
)
CLIP_WARN_SHARE = 0.10
OVERLAP_BINS = 20


class DML(CATEBase):
    """Linear-final-stage DML for discrete treatments with any number of arms.

    `model_y` / `model_t` are "hgb" (scikit-learn HistGradientBoosting), "lightgbm", "linear",
    or any scikit-learn regressor / classifier. `featurizer="auto"` is "interactions" when that
    leaves at least 20 rows per final-stage coefficient, else "linear" (`featurizer_` says which).
    Propensities are clipped to [clip, 1 - clip]; `overlap_` holds per arm the clipped share and
    the propensity histograms. Intervals use the final stage's `cov_type` sandwich covariance
    ("HC2" by default; "HC1" is econml's choice).
    """

    def __init__(
        self,
        model_y: ModelName | Regressor = "hgb",
        model_t: ModelName | Classifier = "hgb",
        featurizer: FeaturizerName = "auto",
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
        if self.featurizer not in FEATURIZERS:
            raise OptionError(f"featurizer must be one of {', '.join(FEATURIZERS)}, got {self.featurizer!r}")
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
            groups, stage_arms = [np.arange(len(X))], arms
        else:
            groups, stage_arms = [np.flatnonzero((codes == 0) | (codes == k)) for k in range(1, arms + 1)], 1
        rows = min(len(g) for g in groups)
        featurizer = choose_featurizer(self.featurizer, rows, X.shape[1], stage_arms)
        rows_per_coefficient = rows / (stage_arms * width(X.shape[1], featurizer))
        stages, overlap = [], []
        for k, group in enumerate(groups, start=1):
            arm_codes = codes[group] if self.mode == "multi-arm" else (codes[group] == k).astype(np.int64)
            y_res, t_res, arm_overlap = self._residuals(X[group], Y[group], arm_codes, stage_arms + 1)
            stages.append(fit_linear_final(y_res, t_res, X[group], featurizer, self.cov_type))
            overlap.extend(arm_overlap)
        self.levels_ = levels
        self.control_ = control
        self.treatment_names_ = [str(v) for v in levels]
        self.n_features_in_ = X.shape[1]
        self.featurizer_ = featurizer
        self.rows_per_coefficient_ = float(rows_per_coefficient)
        self.final_stage_ = stack(stages)
        self.overlap_ = dict(zip(self.treatment_names_, overlap))
        self._warn_about_fit()
        return self

    def _residuals(self, X: Any, Y: Any, codes: Any, levels: int) -> tuple[Any, Any, list[dict[str, Any]]]:
        """Outcome residuals (n,), arm residuals (n, levels - 1) and each arm's overlap record."""
        import numpy as np

        splits = folds(codes, self.cv, self.random_state)
        fits = FoldFits(X, Y, codes, self.model_y, self.model_t, self.random_state)
        y_hat, probs = cross_fit(fits, splits, levels)
        probs = probs[:, 1:]
        clipped = np.clip(probs, self.clip, 1.0 - self.clip)
        onehot = codes[:, None] == np.arange(1, levels)[None, :]
        edges = np.linspace(0.0, 1.0, OVERLAP_BINS + 1)
        overlap = [
            {
                "clipped_share": float((clipped[:, k] != probs[:, k]).mean()),
                "bin_edges": edges.tolist(),
                "treated": np.histogram(probs[codes == k + 1, k], bins=edges)[0].tolist(),
                "control": np.histogram(probs[codes == 0, k], bins=edges)[0].tolist(),
            }
            for k in range(levels - 1)
        ]
        return Y - y_hat, onehot - clipped, overlap

    def _warn_about_fit(self) -> None:
        """Say so when the estimates rest on thin data: aliased products of the featurizer (collinear columns of
        X itself, such as every level of a one-hot encoding beside the intercept, are only listed in
        `aliased_`), few rows per coefficient, poor overlap."""
        made = 1 + self.n_features_in_  # columns past the intercept and X are the featurizer's products
        products = self._aliased(made)
        if products:
            dropped = "; ".join(f"treatment {arm!r}: {', '.join(names)}" for arm, names in products.items())
            warn(
                f"dml dropped final-stage columns that are constant or linear combinations of others ({dropped}); "
                "their coefficients are 0 and the effects are estimated on the remaining columns (see aliased_)"
            )
        if self.rows_per_coefficient_ < MIN_ROWS_PER_COEFFICIENT:
            warn(
                f"dml has only {self.rows_per_coefficient_:.1f} rows per final-stage coefficient with featurizer="
                f"{self.featurizer_!r} (under {MIN_ROWS_PER_COEFFICIENT}): per-row effects will be noisy; "
                + ("use fewer features or more rows" if self.featurizer_ == "linear"
                   else "use featurizer='auto' or 'linear'")
            )
        shares = self.propensity_clipped_
        poor = {arm: f"{share:.1%}" for arm, share in shares.items() if share > CLIP_WARN_SHARE}
        if poor:
            warn(
                f"dml clipped the propensities of many rows to [{self.clip}, {1 - self.clip}] (share per arm: {poor}): "
                "treated and control rows overlap poorly in X, so the effects extrapolate and the intervals "
                "understate the uncertainty; see overlap_ or explain(), and trim to rows with common support"
            )

    @property
    def propensity_clipped_(self) -> dict[str, float]:
        """Per arm, the share of rows whose propensity was clipped."""
        return {arm: record["clipped_share"] for arm, record in self.overlap_.items()}

    @property
    def aliased_(self) -> dict[str, list[str]]:
        """Per arm with any, the final-stage columns dropped as constant or linear combinations of earlier ones."""
        return self._aliased(0)

    def _aliased(self, first: int) -> dict[str, list[str]]:
        """`aliased_` among the final-stage columns from index `first` on."""
        names = self.get_feature_names_out()
        return {
            arm: [names[j] for j in mask.nonzero()[0] if j >= first]
            for arm, mask in zip(self.treatment_names_, self.final_stage_.aliased) if mask[first:].any()
        }

    def explain(self) -> str:
        """What was fitted and how far to trust it: featurizer, rows per coefficient, aliased columns, overlap."""
        self._check_fitted()
        lines = [
            f"dml ({self.mode}): control {self.control_!r}, treatments {', '.join(self.treatment_names_)}",
            f"final stage: featurizer {self.featurizer_!r} (asked: {self.featurizer!r}), "
            f"{self.final_stage_.coef_std.size} coefficients, {self.rows_per_coefficient_:.1f} rows per coefficient",
            "aliased (dropped) columns: "
            + ("; ".join(f"treatment {a!r}: {', '.join(n)}" for a, n in self.aliased_.items()) or "none"),
            f"overlap: rows per bin of the out-of-fold P(T = arm | X), {OVERLAP_BINS} bins over [0, 1], "
            f"clipped to [{self.clip}, {1 - self.clip}]",
        ]
        for arm, record in self.overlap_.items():
            lines.append(f"  treatment {arm!r}: {record['clipped_share']:.1%} of rows clipped")
            lines.append(f"    treated: {' '.join(str(c) for c in record['treated'])}")
            lines.append(f"    control: {' '.join(str(c) for c in record['control'])}")
        return "\n".join(lines)

    def const_marginal_effect(self, X: Any) -> Any:
        """The (n, K) effect of every treatment against the control at X."""
        import numpy as np

        X = self._checked(X)
        out = np.empty((len(X), len(self.levels_)))
        for part in chunks(len(X)):
            out[part] = self.final_stage_.effects_at(X[part], self.featurizer_)
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
            phi = featurize(X[part], self.featurizer_)
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
        total = sum(featurize(X[part], self.featurizer_).sum(axis=0) for part in chunks(len(X)))
        return (total / len(X))[None, :]

    def _checked(self, X: Any) -> Any:
        self._check_fitted()
        return check_matrix(X, n_features=self.n_features_in_)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> list[str]:
        """Names of the final stage's features (its coefficients' columns)."""
        self._check_fitted()
        names = list(input_features) if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return feature_names(names, self.featurizer_)

    def to_state(self) -> dict[str, Any]:
        """Options and fitted final stage (its standardisation and aliased columns included) and the
        overlap record, as plain JSON data (first stages are not needed to predict)."""
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
                "featurizer": self.featurizer_,
                "rows_per_coefficient": self.rows_per_coefficient_,
                "final_stage": self.final_stage_.to_state(),
                "overlap": self.overlap_,
            }
        return state

    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OPTIONS}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DML:
        """Rebuild a DML saved by `to_state` (every field checked, see `dml_state`); a custom
        first-stage model is kept as its description."""
        from plugins.cate import dml_state

        return dml_state.load(cls, state)
