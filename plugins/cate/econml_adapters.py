"""econml's LinearDML, CausalForestDML and DRLearner behind the cate contract.

Treatments are passed to econml as codes with the control first, so its baseline is ours; effects
come back as one column per non-control level. econml's fitted models are Python objects that only
pickle could store, so these adapters cannot be saved (Hookyard never pickles): refit them, or use
the native `dml`, whose state is plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import OptionError, StateError
from plugins.cate.base import CATEBase, check_alpha, check_matrix, check_outcome, treatment_levels
from plugins.cate.final_stage import FeaturizerName, choose_featurizer
from plugins.cate.first_stage import Classifier, ModelName, Regressor, make_model


def sklearn_featurizer(kind: str) -> Any:
    """The scikit-learn transformer that makes the same final-stage features as `featurize` (less the intercept)."""
    from sklearn.preprocessing import PolynomialFeatures

    if kind == "linear":
        return None
    return PolynomialFeatures(degree=2, interaction_only=kind == "interactions", include_bias=False)


class EconMLAdapter(CATEBase):
    """Shared fit/effect plumbing; a subclass says which econml estimator to build."""

    model_y: Any
    model_t: Any
    cv: int
    control: Any
    treatments: Sequence[Any] | None
    random_state: int | None

    def _estimator(self, categories: list[int], featurizer: str | None) -> Any:
        """The unfitted econml estimator, with `featurizer` ("auto" resolved; None for the forest)."""
        raise NotImplementedError(f"{type(self).__name__} must say which econml estimator it wraps")

    def _models(self) -> tuple[Any, Any]:
        return (
            make_model(self.model_y, role="regressor", random_state=self.random_state),
            make_model(self.model_t, role="classifier", random_state=self.random_state),
        )

    def fit(self, Y: Any, T: Any, X: Any, *, W: Any = None) -> EconMLAdapter:
        """Fit the wrapped econml estimator; returns self."""
        if not isinstance(self.cv, int) or self.cv < 2:
            raise OptionError(f"cv must be an integer of at least 2 folds, got {self.cv!r}")
        X = check_matrix(X)
        Y = check_outcome(Y, len(X))
        W = None if W is None else check_matrix(W, name="W")
        codes, levels, control = treatment_levels(
            T, len(X), control=self.control, treatments=self.treatments, min_rows=self.cv
        )
        featurizer = getattr(self, "featurizer", None)  # the forest takes none
        if featurizer is not None:
            featurizer = choose_featurizer(featurizer, len(X), X.shape[1], len(levels))
        estimator = self._estimator(list(range(len(levels) + 1)), featurizer)
        estimator.fit(Y, codes, X=X, W=W)
        self.estimator_ = estimator
        self.featurizer_ = featurizer
        self.levels_ = levels
        self.control_ = control
        self.treatment_names_ = [str(v) for v in levels]
        self.n_features_in_ = X.shape[1]
        return self

    def _checked(self, X: Any) -> Any:
        self._check_fitted()
        return check_matrix(X, n_features=self.n_features_in_)

    def const_marginal_effect(self, X: Any) -> Any:
        """The (n, K) effect of every treatment against the control at X."""
        X = self._checked(X)
        return self.estimator_.const_marginal_effect(X).reshape(len(X), len(self.levels_))

    def const_marginal_effect_interval(self, X: Any, *, alpha: float = 0.05) -> tuple[Any, Any]:
        """econml's (1 - alpha) intervals of `const_marginal_effect`."""
        X = self._checked(X)
        lower, upper = self.estimator_.const_marginal_effect_interval(X, alpha=alpha)
        shape = (len(X), len(self.levels_))
        return lower.reshape(shape), upper.reshape(shape)

    def ate(self, X: Any) -> Any:
        """The average effect (K,) of every treatment over the rows of X."""
        return self.const_marginal_effect(X).mean(axis=0)

    def ate_interval(self, X: Any, *, alpha: float = 0.05) -> tuple[Any, Any]:
        """econml's (1 - alpha) interval of `ate`: each arm's (lower (K,), upper (K,))."""
        check_alpha(alpha)
        X = self._checked(X)
        lower, upper = self.estimator_.const_marginal_ate_interval(X, alpha=alpha)
        return lower.reshape(len(self.levels_)), upper.reshape(len(self.levels_))

    def to_state(self) -> dict[str, Any]:
        """Refuses plainly: econml's fitted models cannot be stored without pickle."""
        raise StateError(
            f"{type(self).__name__} cannot be saved: econml's fitted models are Python objects that only "
            "pickle could store, and Hookyard never pickles. Refit it, or use the native 'dml', which saves as JSON."
        )

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EconMLAdapter:
        """There is no saved state of an econml adapter to load."""
        raise StateError(f"{cls.__name__} has no saved state to load; refit it instead")


class EconMLLinearDML(EconMLAdapter):
    """econml LinearDML for discrete treatments, with the same featurizer names (and "auto" rule) as `dml`."""

    def __init__(
        self,
        model_y: ModelName | Regressor = "hgb",
        model_t: ModelName | Classifier = "hgb",
        featurizer: FeaturizerName = "auto",
        cv: int = 2,
        control: str | int | None = None,
        treatments: Sequence[str | int] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.featurizer = featurizer
        self.cv = cv
        self.control = control
        self.treatments = treatments
        self.random_state = random_state

    def _estimator(self, categories: list[int], featurizer: str) -> Any:
        from econml.dml import LinearDML

        model_y, model_t = self._models()
        return LinearDML(
            model_y=model_y, model_t=model_t, featurizer=sklearn_featurizer(featurizer),
            discrete_treatment=True, categories=categories, cv=self.cv, random_state=self.random_state,
        )


class EconMLCausalForest(EconMLAdapter):
    """econml CausalForestDML for discrete treatments: a forest final stage, no featurizer."""

    def __init__(
        self,
        model_y: ModelName | Regressor = "hgb",
        model_t: ModelName | Classifier = "hgb",
        n_estimators: int = 100,
        min_samples_leaf: int = 5,
        cv: int = 2,
        control: str | int | None = None,
        treatments: Sequence[str | int] | None = None,
        n_jobs: int = 1,
        random_state: int | None = None,
    ) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.cv = cv
        self.control = control
        self.treatments = treatments
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _estimator(self, categories: list[int], featurizer: str | None) -> Any:
        from econml.dml import CausalForestDML

        model_y, model_t = self._models()
        return CausalForestDML(
            model_y=model_y, model_t=model_t, discrete_treatment=True, categories=categories, cv=self.cv,
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf, n_jobs=self.n_jobs,
            random_state=self.random_state,
        )


class EconMLDRLearner(EconMLAdapter):
    """econml DRLearner (doubly robust) with a linear final stage on the featurizer; `clip` is its
    `min_propensity`."""

    def __init__(
        self,
        model_y: ModelName | Regressor = "hgb",
        model_t: ModelName | Classifier = "hgb",
        featurizer: FeaturizerName = "linear",
        clip: float = 0.05,
        cv: int = 2,
        control: str | int | None = None,
        treatments: Sequence[str | int] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.featurizer = featurizer
        self.clip = clip
        self.cv = cv
        self.control = control
        self.treatments = treatments
        self.random_state = random_state

    def _estimator(self, categories: list[int], featurizer: str) -> Any:
        from econml.dr import DRLearner

        model_y, model_t = self._models()
        return DRLearner(
            model_regression=model_y, model_propensity=model_t, featurizer=sklearn_featurizer(featurizer),
            min_propensity=self.clip, categories=categories, cv=self.cv, random_state=self.random_state,
        )
