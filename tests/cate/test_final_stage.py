"""The final stage's least squares and robust covariances against statsmodels, and the average effect's variance."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

import engine
from engine.testing import CATEContract
from plugins.cate.final_stage import featurize, fit_linear_final


def residuals(rows: int = 600) -> tuple:
    """Heteroskedastic outcome residuals, two arms' treatment residuals and three features."""
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(rows, 3))
    t_res = rng.normal(size=(rows, 2))
    y_res = t_res[:, 0] * X[:, 1] - 0.5 * t_res[:, 1] + rng.normal(size=rows) * (0.2 + X[:, 0])
    return y_res, t_res, X


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2"])
def test_covariance_matches_statsmodels(cov_type: str) -> None:
    y_res, t_res, X = residuals()
    stage = fit_linear_final(y_res, t_res, X, "interactions", cov_type)
    phi = featurize(X, "interactions")
    design = np.column_stack([t_res[:, [k]] * phi for k in range(2)])
    reference = sm.OLS(y_res, design).fit(cov_type=cov_type)
    width = phi.shape[1]
    np.testing.assert_allclose(stage.coef.ravel(), reference.params, rtol=1e-9, atol=1e-12)
    for k in range(2):
        block = reference.cov_params()[k * width:(k + 1) * width, k * width:(k + 1) * width]
        np.testing.assert_allclose(stage.cov[k], block, rtol=1e-8, atol=1e-14)


def test_average_effect_interval_is_the_mean_features_quadratic_form() -> None:
    """The average effect is linear in the coefficients: its variance is g' cov g with g the mean featurized row,
    which is narrower than the root mean square of the per-row standard errors (econml's fallback)."""
    table = engine.source("synthetic", n=1500, layout="multi-arm", nuisance="linear", seed=0).to_arrow()
    Y, T, X, _ = CATEContract.arrays(table)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", random_state=0).fit(Y, T, X)
    lower, upper = estimator.ate_interval(X, alpha=0.1)
    mean_features = featurize(X, "interactions").mean(axis=0)
    stage = estimator.final_stage_
    stderr = np.sqrt(np.einsum("d,kde,e->k", mean_features, stage.cov, mean_features))
    np.testing.assert_allclose(estimator.ate(X), stage.coef @ mean_features)
    np.testing.assert_allclose((upper - lower) / 2, 1.6448536269514722 * stderr, rtol=1e-9)
    unit_lower, unit_upper = estimator.effect_interval(X, alpha=0.1)
    root_mean_square = np.sqrt((((unit_upper - unit_lower) / 2) ** 2).mean(axis=0))
    assert np.all((upper - lower) / 2 < root_mean_square)
    with pytest.raises(engine.DataError, match="alpha must be between 0 and 1"):
        estimator.ate_interval(X, alpha=5)


def test_unknown_cov_type_is_rejected() -> None:
    with pytest.raises(engine.OptionError, match="cov_type"):
        engine.cate("dml", cov_type="HC3")
