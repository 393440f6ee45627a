"""The `synthetic` source: the seed article's generator, seeded, in both layouts."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.testing import SourceContract
from plugins.sources.synthetic import nuisance, true_effects


class TestSyntheticSource(SourceContract):
    name = "synthetic"
    options = {"n": 50, "layout": "multi-arm", "categorical": True}


def test_seed_layout_has_one_binary_experiment_per_treatment() -> None:
    table = engine.source("synthetic", n=400, seed=1).to_arrow().to_pandas()
    assert len(table) == 1200
    for name, rows in table.groupby("experiment"):
        assert set(rows["t"]) == {name, "control"}
        assert len(rows) == 400


def test_true_effects_and_outcome_follow_the_seed_formulas() -> None:
    table = engine.source("synthetic", n=4000, layout="multi-arm", seed=2).to_arrow()
    X = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(10)])
    tau = np.column_stack([table.column(f"tau_T{k}").to_numpy() for k in (1, 2, 3)])
    np.testing.assert_allclose(tau[:, 0], 0.75 * (X[:, 0] * X[:, 1] + X[:, 2]))
    np.testing.assert_allclose(tau, true_effects(X))
    t = table.column("t").to_numpy(zero_copy_only=False)
    assert set(t) == {"control", "T1", "T2", "T3"}
    given = np.select([t == "T1", t == "T2", t == "T3"], [tau[:, 0], tau[:, 1], tau[:, 2]], 0.0)
    noise = table.column("y").to_numpy() - nuisance(X) - given
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1.0) < 0.05
    treated = t != "control"
    assert treated[nuisance(X) > 3].mean() > treated[nuisance(X) < 1.5].mean()


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = engine.source("synthetic", n=100, seed=5).to_arrow()
    assert first.equals(engine.source("synthetic", n=100, seed=5).to_arrow())
    assert not first.equals(engine.source("synthetic", n=100, seed=6).to_arrow())


def test_categorical_features_and_projection() -> None:
    table = engine.source("synthetic", n=300, categorical=True, columns=["region", "channel", "y"]).to_arrow()
    assert table.column_names == ["region", "channel", "y"]
    assert set(table.column("region").to_pylist()) == {"north", "south", "east", "west"}
    with pytest.raises(engine.DataError, match="nope"):
        engine.source("synthetic", n=10, columns=["nope"]).to_arrow()


def test_linear_nuisance_keeps_the_effects_and_swaps_the_baseline() -> None:
    seed_table = engine.source("synthetic", n=4000, layout="multi-arm", seed=9).to_arrow()
    table = engine.source("synthetic", n=4000, layout="multi-arm", seed=9, nuisance="linear").to_arrow()
    X = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(10)])
    np.testing.assert_allclose(table.column("tau_T1").to_numpy(), seed_table.column("tau_T1").to_numpy())
    np.testing.assert_allclose(nuisance(X, "linear"), X[:, 3] + 0.5 * X[:, 4] + X[:, 5] + X[:, 7] + X[:, 9] - 1.5)
    t = table.column("t").to_numpy(zero_copy_only=False)
    tau = np.column_stack([table.column(f"tau_T{k}").to_numpy() for k in (1, 2, 3)])
    given = np.select([t == "T1", t == "T2", t == "T3"], [tau[:, 0], tau[:, 1], tau[:, 2]], 0.0)
    noise = table.column("y").to_numpy() - nuisance(X, "linear") - given
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1.0) < 0.05
    with pytest.raises(engine.OptionError, match="nuisance"):
        engine.source("synthetic", nuisance="cubic")
