"""No estimate depends on units: rescaling Y scales every effect by that factor, and rescaling a
feature changes nothing (relative 1e-8), shown on the dollar-valued NSW experiment."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.testing.cate import nsw_experiment
from plugins.cate.base import CATEWarning

NSW = nsw_experiment()
SCALES = st.one_of(st.sampled_from([1e-3, 1e3]), st.floats(min_value=1e-3, max_value=1e3))


def fitted(Y: np.ndarray, X: np.ndarray, first_stage: str, featurizer: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CATEWarning)  # 12 rows per coefficient and aliased columns here
        return engine.cate(
            "dml", model_y=first_stage, model_t=first_stage, featurizer=featurizer, random_state=0
        ).fit(Y, NSW.T, X)


def summary(estimator: object, X: np.ndarray) -> np.ndarray:
    """Per-row effects and interval ends, then the average effect and its interval."""
    return np.concatenate([
        estimator.effect(X).ravel(), *(v.ravel() for v in estimator.effect_interval(X)),
        estimator.ate(X), *estimator.ate_interval(X),
    ])


def assert_scaled(got: np.ndarray, want: np.ndarray, factor: float, rtol: float) -> None:
    np.testing.assert_allclose(got, factor * want, rtol=rtol, atol=rtol * factor * np.abs(want).max())


@functools.cache
def baseline(featurizer: str) -> np.ndarray:
    return summary(fitted(NSW.Y, NSW.X, "linear", featurizer), NSW.X)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=st.integers(min_value=-1, max_value=7), scale=SCALES,
       featurizer=st.sampled_from(["linear", "interactions", "poly2"]))
def test_rescaling_y_or_a_feature_scales_the_effects_or_leaves_them(column: int, scale: float, featurizer: str) -> None:
    """column -1 is Y; the others are the features (dollars, years, 0/1 indicators)."""
    Y, X = NSW.Y.copy(), NSW.X.copy()
    if column < 0:
        Y *= scale
    else:
        X[:, column] *= scale
    got = summary(fitted(Y, X, "linear", featurizer), X)
    assert_scaled(got, baseline(featurizer), scale if column < 0 else 1.0, rtol=1e-8)


@pytest.mark.parametrize("first_stage", ["hgb", "lightgbm"])
@pytest.mark.parametrize("scale", [1e-3, 1e3])
def test_tree_first_stages_are_unit_free_too(first_stage: str, scale: float) -> None:
    """Trees split on ranks, so a rescaled feature changes nothing. Their gradients (scikit-learn)
    and labels (LightGBM) are float32, so a rescaled Y matches to float32 precision only."""
    base = summary(fitted(NSW.Y, NSW.X, first_stage, "interactions"), NSW.X)
    X = NSW.X.copy()
    X[:, 6] *= scale
    assert_scaled(summary(fitted(NSW.Y, X, first_stage, "interactions"), X), base, 1.0, rtol=1e-8)
    assert_scaled(summary(fitted(NSW.Y * scale, NSW.X, first_stage, "interactions"), NSW.X), base, scale, rtol=1e-6)
