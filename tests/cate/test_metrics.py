"""engine.metrics: PEHE, Qini / AUUC and policy regret with the real solver plugins."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.flow import Flow
from engine.kinds.cate import run_step
from engine.metrics import auuc, pehe, pehe_from_flow, policy_regret, qini, uplift_by_treatment


def test_pehe_is_rmse_per_named_treatment() -> None:
    truth = np.array([[1.0, 0.0], [3.0, 2.0]])
    guess = np.array([[2.0, 0.0], [3.0, 0.0]])
    assert pehe(truth, guess, ["a", "b"]) == {"a": pytest.approx(np.sqrt(0.5)), "b": pytest.approx(np.sqrt(2.0))}
    with pytest.raises(engine.DataError, match="must match"):
        pehe(truth, guess[:1])


def test_qini_and_auuc_reward_a_ranking_by_the_true_effect() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    effect = rng.uniform(-1, 2, n)
    treated = rng.uniform(size=n) < 0.5
    y = rng.normal(size=n) + treated * effect
    assert qini(y, treated, effect) > 0.1 > abs(qini(y, treated, rng.uniform(size=n)))
    assert auuc(y, treated, effect) > auuc(y, treated, -effect)
    with pytest.raises(engine.DataError, match="both treated and control"):
        qini(y, np.ones(n), effect)


def test_uplift_by_treatment_and_pehe_from_a_pipeline_flow() -> None:
    table = engine.source("synthetic", n=1500, layout="multi-arm", seed=3).to_arrow()
    flow = run_step(engine.cate("dml", model_y="linear", model_t="linear", featurizer="linear"), Flow(table=table))
    scores = pehe_from_flow(flow)
    assert set(scores) == {"T1", "T2", "T3"} and all(0 < v < 1 for v in scores.values())
    effects = np.column_stack([flow.table.column(c).to_numpy() for c in flow.facts["effects"]])
    uplift = uplift_by_treatment(
        table.column("y").to_numpy(), table.column("t").to_numpy(zero_copy_only=False), effects, ["T1", "T2", "T3"]
    )
    assert set(uplift) == {"T1", "T2", "T3"} and all(set(v) == {"qini", "auuc"} for v in uplift.values())
    with pytest.raises(engine.DataError, match="true_effects"):
        pehe_from_flow(Flow(table=table, facts={"effects": ("x0",)}))


@pytest.mark.parametrize("solver", ["mckp", "naive"])
def test_policy_regret_is_zero_for_the_truth_and_positive_for_a_reversed_ranking(solver: str) -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 1, size=(200, 3))
    costs = [0.1, 0.2, 0.3]
    perfect = policy_regret(truth, truth, costs, budget=10.0, solver=solver)
    assert perfect.regret == pytest.approx(0.0)
    reversed_ = policy_regret(truth, -truth, costs, budget=10.0, solver=solver, objective="value")
    assert reversed_.regret > 0 and reversed_.value_oracle > reversed_.value_estimated
    assert reversed_.assignment.shape == (200,)


def test_policy_regret_matches_a_hand_worked_case() -> None:
    truth = np.array([[5.0], [1.0], [3.0]])
    estimate = np.array([[1.0], [5.0], [3.0]])
    result = policy_regret(truth, estimate, [1.0], budget=2.0, solver="mckp", objective="value")
    assert result.value_oracle == pytest.approx(8.0)
    assert result.value_estimated == pytest.approx(4.0)
    assert result.relative_regret == pytest.approx(0.5)
