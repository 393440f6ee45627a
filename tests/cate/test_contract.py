"""Every built-in cate estimator passes the cate contract suite (small first stages keep it fast)."""

from __future__ import annotations

from typing import Any, ClassVar

from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from engine.testing import CATEContract

SMALL_FIRST_STAGES: dict[str, Any] = {
    "model_y": HistGradientBoostingRegressor(max_iter=50, random_state=0),
    "model_t": HistGradientBoostingClassifier(max_iter=50, random_state=0),
    "random_state": 0,
}


class TestDML(CATEContract):
    name = "dml"
    options: ClassVar[dict[str, Any]] = {**SMALL_FIRST_STAGES, "featurizer": "linear"}


class TestDMLPerTreatment(CATEContract):
    name = "dml"
    options: ClassVar[dict[str, Any]] = {**SMALL_FIRST_STAGES, "featurizer": "linear", "mode": "per-treatment"}


class TestEconMLLinearDML(CATEContract):
    name = "econml-linear-dml"
    options: ClassVar[dict[str, Any]] = {**SMALL_FIRST_STAGES, "featurizer": "linear"}


class TestEconMLCausalForest(CATEContract):
    name = "econml-causal-forest"
    options: ClassVar[dict[str, Any]] = {**SMALL_FIRST_STAGES, "n_estimators": 40}
    min_correlation = 0.15  # an honest forest of 40 trees on 3,000 rows is coarse


class TestEconMLDR(CATEContract):
    name = "econml-dr"
    options: ClassVar[dict[str, Any]] = SMALL_FIRST_STAGES
    min_correlation = 0.2  # doubly robust pseudo-outcomes divide by propensities down to 0.05 here
