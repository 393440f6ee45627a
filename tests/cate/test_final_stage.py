"""The final stage's least squares and robust covariances against statsmodels, its aliased columns,
the "auto" featurizer's rule and the average effect's variance."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

import engine
from engine.testing import CATEContract
from plugins.cate.base import CATEWarning
from plugins.cate.final_stage import MIN_ROWS_PER_COEFFICIENT, feature_names, featurize, fit_linear_final


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


@pytest.mark.filterwarnings("ignore:dml has only 8.9 rows")
def test_average_effect_interval_is_the_mean_features_quadratic_form() -> None:
    """The average effect is linear in the coefficients: its variance is g' cov g with g the mean featurized row,
    which is narrower than the root mean square of the per-row standard errors (econml's fallback)."""
    table = engine.source("synthetic", n=1500, layout="multi-arm", nuisance="linear", seed=0).to_arrow()
    Y, T, X, _ = CATEContract.arrays(table)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", featurizer="interactions", random_state=0)
    estimator.fit(Y, T, X)
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


def aliased_residuals(rows: int = 800) -> tuple:
    """Residuals on features with built-in aliasing: two exclusive dummies and v = 3u + 1."""
    rng = np.random.default_rng(1)
    group = rng.integers(0, 3, size=rows)
    u = rng.normal(size=rows)
    X = np.column_stack([group == 1, group == 2, u, 3 * u + 1]).astype(float)
    t_res = rng.normal(size=(rows, 2)) * 0.5
    y_res = t_res[:, 0] * (1 + X[:, 0]) + t_res[:, 1] * u + rng.normal(size=rows)
    return y_res, t_res, X


def test_aliased_columns_are_dropped_and_the_rest_is_least_squares() -> None:
    y_res, t_res, X = aliased_residuals()
    stage = fit_linear_final(y_res, t_res, X, "interactions", "HC2")
    names = feature_names(["b1", "b2", "u", "v"], "interactions")
    for k in range(2):
        assert [names[j] for j in np.flatnonzero(stage.aliased[k])] == ["v", "b1*b2", "b1*v", "b2*v"]
    kept = np.flatnonzero(~stage.aliased[0])
    phi = featurize(X, "interactions")[:, kept]
    reference = sm.OLS(y_res, np.column_stack([t_res[:, [k]] * phi for k in range(2)])).fit(cov_type="HC2")
    width = len(kept)
    for k in range(2):
        np.testing.assert_allclose(stage.coef[k, kept], reference.params[k * width:(k + 1) * width], rtol=1e-9)
        np.testing.assert_array_equal(stage.coef[k, stage.aliased[k]], 0.0)
        block = reference.cov_params()[k * width:(k + 1) * width, k * width:(k + 1) * width]
        np.testing.assert_allclose(stage.cov[k][np.ix_(kept, kept)], block, rtol=1e-8)


def test_poly2_squares_of_indicators_are_aliased_with_them() -> None:
    y_res, t_res, X = aliased_residuals()
    stage = fit_linear_final(y_res, t_res, X[:, :3], "poly2")
    names = feature_names(["b1", "b2", "u"], "poly2")
    assert [names[j] for j in np.flatnonzero(stage.aliased[0])] == ["b1*b1", "b1*b2", "b2*b2"]


def test_dml_reports_aliased_columns_in_an_attribute_and_a_warning() -> None:
    rng = np.random.default_rng(2)
    rows = 3000
    group = rng.integers(0, 3, size=rows)
    X = np.column_stack([group == 1, group == 2, rng.normal(size=rows)]).astype(float)
    T = np.where(rng.uniform(size=rows) < 0.5, "T1", "control")
    Y = X[:, 2] + (T == "T1") * (1 + X[:, 0]) + rng.normal(size=rows)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", featurizer="interactions", random_state=0)
    with pytest.warns(CATEWarning, match=r"dropped final-stage columns .*\(treatment 'T1': x0\*x1\)"):
        estimator.fit(Y, T, X)
    assert estimator.aliased_ == {"T1": ["x0*x1"]}
    assert "aliased (dropped) columns: treatment 'T1': x0*x1" in estimator.explain()
    effects = estimator.effect(X)[:, 0]
    for level in (0, 1, 2):
        assert abs(effects[group == level].mean() - (2.0 if level == 1 else 1.0)) < 0.3


@pytest.mark.parametrize(("rows", "mode", "expected"), [
    (3360, "multi-arm", "interactions"), (3300, "multi-arm", "linear"), (1500, "per-treatment", "interactions"),
])
def test_auto_featurizer_wants_twenty_rows_per_coefficient(rows: int, mode: str, expected: str) -> None:
    """10 features: 56 interaction columns per arm; multi-arm fits 3 arms at once (3,360 rows = 20 x 168),
    per-treatment fits each arm on its 2 x 1,500 rows (20 x 56 = 1,120)."""
    layout = "multi-arm" if mode == "multi-arm" else "per-treatment"
    table = engine.source("synthetic", n=rows, layout=layout, seed=0).to_arrow()
    Y, T, X, _ = CATEContract.arrays(table)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", mode=mode, random_state=0).fit(Y, T, X)
    assert estimator.featurizer_ == expected
    assert estimator.rows_per_coefficient_ >= MIN_ROWS_PER_COEFFICIENT
    assert len(estimator.get_feature_names_out()) == (56 if expected == "interactions" else 11)


def test_few_rows_per_coefficient_are_warned_about() -> None:
    table = engine.source("synthetic", n=600, layout="multi-arm", seed=0).to_arrow()
    Y, T, X, _ = CATEContract.arrays(table)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", featurizer="interactions", random_state=0)
    with pytest.warns(CATEWarning, match=r"only 3\.6 rows per final-stage coefficient .*featurizer='auto'"):
        estimator.fit(Y, T, X)
