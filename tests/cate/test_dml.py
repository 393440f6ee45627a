"""The native `dml` against econml and the truth: accuracy, clipping, options and its JSON state (and corrupt ones)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

import engine
from engine.testing import CATEContract
from plugins.cate.base import CATEWarning


def small_models() -> dict:
    return {
        "model_y": HistGradientBoostingRegressor(max_iter=50, random_state=0),
        "model_t": HistGradientBoostingClassifier(max_iter=50, random_state=0),
    }


def synthetic(seed: int, n: int = 3000, layout: str = "multi-arm") -> tuple:
    return CATEContract.arrays(engine.source("synthetic", n=n, layout=layout, seed=seed).to_arrow())


@pytest.mark.filterwarnings("ignore:dml has only 17.9 rows per final-stage coefficient")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rmse_is_within_ten_percent_of_econml_linear_dml(seed: int) -> None:
    Y, T, X, tau = synthetic(seed)
    ours = engine.cate("dml", **small_models(), featurizer="interactions", random_state=seed).fit(Y, T, X)
    theirs = engine.cate("econml-linear-dml", **small_models(), featurizer="interactions", random_state=seed)
    theirs.fit(Y, T, X)
    ours_rmse = np.sqrt(((ours.effect(X) - tau) ** 2).mean(axis=0))
    theirs_rmse = np.sqrt(((theirs.effect(X) - tau) ** 2).mean(axis=0))
    assert np.all(ours_rmse <= 1.10 * theirs_rmse), (ours_rmse, theirs_rmse)


def test_seed_layout_pools_the_three_experiments() -> None:
    Y, T, X, tau = synthetic(123, n=2000, layout="per-treatment")
    estimator = engine.cate("dml", **small_models(), featurizer="linear", random_state=0).fit(Y, T, X)
    rmse = np.sqrt(((estimator.effect(X) - tau) ** 2).mean(axis=0))
    assert np.all(rmse < tau.std(axis=0) * 1.5), rmse
    assert np.all(np.abs(estimator.ate(X) - tau.mean(axis=0)) < 0.25)


def test_propensity_clipping_is_applied_and_reported() -> None:
    Y, T, X, _ = synthetic(3, n=1500)
    loose = engine.cate("dml", model_y="linear", model_t="linear", clip=0.0, random_state=0).fit(Y, T, X)
    with pytest.warns(CATEWarning, match=r"clipped the propensities of many rows to \[0.3, 0.7\] .*'T1': '5"):
        tight = engine.cate("dml", model_y="linear", model_t="linear", clip=0.3, random_state=0).fit(Y, T, X)
    assert loose.propensity_clipped_ == {"T1": 0.0, "T2": 0.0, "T3": 0.0}
    assert all(share > 0.1 for share in tight.propensity_clipped_.values())
    assert not np.allclose(loose.effect(X), tight.effect(X))


def test_declared_treatment_without_rows_is_an_error() -> None:
    Y, T, X, _ = synthetic(4, n=300)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", treatments=["T1", "T2", "T3", "T4"])
    with pytest.raises(engine.DataError, match=r"\['T4'\] have no rows"):
        estimator.fit(Y, T, X)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"featurizer": "cubic"}, "featurizer"), ({"model_y": "xgboost"}, "model_y"), ({"cv": "3"}, "cv")],
)
def test_bad_options_are_rejected_before_fitting(options: dict, message: str) -> None:
    with pytest.raises(engine.OptionError, match=message):
        engine.cate("dml", **options)


def test_one_fold_is_rejected_at_fit() -> None:
    Y, T, X, _ = synthetic(5, n=300)
    with pytest.raises(engine.OptionError, match="at least 2 folds"):
        engine.cate("dml", cv=1).fit(Y, T, X)


def test_state_is_plain_json_and_keeps_intervals(tmp_path) -> None:
    Y, T, X, _ = synthetic(6, n=1500)
    estimator = engine.cate("dml", model_y="linear", model_t="linear", random_state=0).fit(Y, T, X)
    path = tmp_path / "dml.json"
    engine.save(estimator, path)
    document = json.loads(path.read_text())
    assert document["kind"] == "cate" and document["name"] == "dml"
    loaded = engine.load(path)
    for got, want in zip(loaded.effect_interval(X[:50], alpha=0.1), estimator.effect_interval(X[:50], alpha=0.1)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert loaded.propensity_clipped_ == estimator.propensity_clipped_
    document["state"]["version"] = 99
    path.write_text(json.dumps(document))
    with pytest.raises(engine.StateError, match="version 99"):
        engine.load(path)


@pytest.mark.filterwarnings("ignore:dml has only")
def test_custom_first_stage_is_described_in_the_state() -> None:
    Y, T, X, _ = synthetic(8, n=600)
    estimator = engine.cate("dml", **small_models(), random_state=0).fit(Y, T, X)
    state = estimator.to_state()
    assert state["options"]["model_y"].startswith("custom HistGradientBoostingRegressor")
    json.dumps(state)


@pytest.fixture(scope="module")
def dollar_fit() -> tuple:
    """A dml fitted on dollar-sized features with an aliased pair, and its X."""
    Y, T, X, _ = synthetic(9, n=1500)
    X = np.column_stack([X[:, :4] * 1e4, X[:, 4] < 0.3, X[:, 4] > 0.7])
    with pytest.warns(CATEWarning, match="dropped"):
        estimator = engine.cate("dml", model_y="linear", model_t="linear", featurizer="interactions", random_state=0)
        estimator.fit(Y, T, X)
    return estimator, X


def test_state_keeps_the_standardisation_aliased_columns_and_overlap(dollar_fit: tuple, tmp_path) -> None:
    estimator, X = dollar_fit
    path = tmp_path / "dml.json"
    engine.save(estimator, path)
    assert json.loads(path.read_text())["state"]["version"] == 2
    loaded = engine.load(path)
    np.testing.assert_allclose(loaded.effect(X), estimator.effect(X), rtol=1e-12)
    for got, want in zip(loaded.ate_interval(X), estimator.ate_interval(X)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert loaded.aliased_ == estimator.aliased_ == {arm: ["x4*x5"] for arm in ("T1", "T2", "T3")}
    assert loaded.overlap_ == estimator.overlap_ and loaded.featurizer_ == "interactions"
    assert loaded.explain() == estimator.explain()


CORRUPTIONS = {
    "old version": lambda s: s.update(version=1),
    "unknown option": lambda s: s["options"].update(depth=3),
    "no final stage": lambda s: s["fitted"].pop("final_stage"),
    "short coefficients": lambda s: s["fitted"]["final_stage"]["coef_std"][0].pop(),
    "zero scale": lambda s: s["fitted"]["final_stage"]["scale"][1].__setitem__(2, 0.0),
    "text in covariance": lambda s: s["fitted"]["final_stage"]["cov_std"][0][0].__setitem__(0, "x"),
    "unresolved featurizer": lambda s: s["fitted"].update(featurizer="auto"),
    "other featurizer": lambda s: s["fitted"].update(featurizer="linear"),
    "overlap of other arms": lambda s: s["fitted"].update(overlap={"T9": {}}),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_state_is_a_state_error(dollar_fit: tuple, corruption: str) -> None:
    state = json.loads(json.dumps(dollar_fit[0].to_state()))
    CORRUPTIONS[corruption](state)
    with pytest.raises(engine.StateError, match="version 1|corrupt"):
        type(dollar_fit[0]).from_state(state)
