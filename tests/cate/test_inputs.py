"""Inputs every cate estimator must read right or refuse plainly: which level is the control,
pandas' missing labels and a feature matrix without columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import engine

ESTIMATORS = ["dml", "econml-linear-dml", "econml-causal-forest", "econml-dr"]
LIGHT = {"model_y": "linear", "model_t": "linear", "random_state": 0}


def data(rows: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, a 0/1 assignment and X with a true effect of +2 for treated rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    treated = rng.uniform(size=rows) < 0.5
    return X[:, 0] + 2.0 * treated + rng.normal(size=rows), treated, X


def options(name: str, **extra: object) -> dict:
    return {**LIGHT, **({"n_estimators": 40} if name == "econml-causal-forest" else {}), **extra}


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(("labels", "control"), [
    (("untreated", "treated"), "untreated"), (("none", "email"), "none"), (("Control", "T1"), "Control"),
    ((0, 1), 0), ((False, True), False), (("0", "1"), "0"), (("no", "yes"), "no"),
])
def test_usual_control_names_are_recognised(name: str, labels: tuple, control: object) -> None:
    Y, treated, X = data()
    T = np.array([labels[int(t)] for t in treated], dtype=object)
    estimator = engine.cate(name, **options(name)).fit(Y, T, X)
    assert estimator.control_ == control and len(estimator.levels_) == 1
    assert 1.0 < estimator.ate(X)[0] < 3.0  # the sign is not reversed


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(("labels", "message"), [
    (("a", "b"), r"none is named like one .*control='a'"),
    (("control", "none"), r"several look like one \(\['control', 'none'\]\)"),
])
def test_no_guess_when_no_level_or_several_look_like_the_control(name: str, labels: tuple, message: str) -> None:
    Y, treated, X = data()
    T = np.where(treated, labels[1], labels[0])
    with pytest.raises(engine.DataError, match=message):
        engine.cate(name, **options(name)).fit(Y, T, X)
    estimator = engine.cate(name, **options(name, control=labels[1])).fit(Y, T, X)
    assert estimator.control_ == labels[1] and -3.0 < estimator.ate(X)[0] < -1.0


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pandas_missing_treatment_is_a_data_error(name: str) -> None:
    Y, treated, X = data()
    T = pd.array(treated.astype(int), dtype="Int64")
    T[[5, 9]] = pd.NA
    with pytest.raises(engine.DataError, match=r"missing treatment labels in 2 row\(s\) \(first at row 5\)"):
        engine.cate(name, **options(name)).fit(Y, T, X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_features_without_columns_are_a_data_error(name: str) -> None:
    Y, treated, X = data()
    with pytest.raises(engine.DataError, match="X has no feature columns"):
        engine.cate(name, **options(name)).fit(Y, treated.astype(int), X[:, :0])
