"""Does the doubly robust value of a plan cover the plan's true value at the nominal rate? Repeated
experiments from a generator whose every potential outcome is known, evaluated exactly as the report
does: effects, plans and AIPW nuisances cross-fitted (engine.report.evaluation, engine.policy_value)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import engine
from engine.errors import DataError
from engine.policy_value import arm_codes, cross_fit_scores, estimate, plan_rows, ratio_lift
from engine.report import evaluation

REPS = 100
ROWS = 1200
NOMINAL = 1 - evaluation.ALPHA
TOLERANCE = 3.5 * np.sqrt(NOMINAL * (1 - NOMINAL) / REPS)
COSTS = np.array([0.1, 0.2])
TREATMENTS = ("A", "B")


def generate(rng: np.random.Generator, rows: int = ROWS) -> tuple[evaluation.Experiment, Any]:
    """An observational experiment with two treatments whose assignment leans on X; the (n, 3) true
    conditional means of the outcome under control, A and B come with it."""
    X = rng.uniform(size=(rows, 3))
    logits = np.column_stack([np.zeros(rows), 0.8 * X[:, 0] - 0.6, 0.8 * X[:, 1] - 0.4])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.uniform(size=(rows, 1)) > np.cumsum(probs, axis=1)).sum(axis=1)
    base = X[:, 0] + 0.5 * X[:, 1]
    means = np.column_stack([base, base + 0.6 * X[:, 0], base + 0.8 * X[:, 1] - 0.1])
    y = means[np.arange(rows), codes] + rng.normal(size=rows)
    table = pa.table({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y})
    data = evaluation.Experiment(table, y, codes, X, TREATMENTS, (), (), np.broadcast_to(COSTS, (rows, 2)))
    return data, means


def evaluate_once(seed: int) -> dict[str, Any]:
    """The report's policy-value section for one experiment, and the true value of each plan it scored."""
    rng = np.random.default_rng(seed)
    data, means = generate(rng)
    fold = evaluation.fold_index(data.codes, evaluation.FOLDS, seed)
    effects = evaluation.out_of_fold_effects(
        lambda: engine.cate("dml", model_y="linear", model_t="linear", featurizer="linear", random_state=seed),
        data, fold)
    scores = cross_fit_scores(data.y, data.codes, data.X, fold, model_y="linear",
                              model_t="linear", random_state=seed)
    params = {"budget": 0.05 * ROWS, "costs": COSTS.tolist(), "budget_sense": "<="}
    plans = evaluation.fold_plans(data, fold, effects, params, engine.get("solver", "mckp"),
                                  engine.get("solver", "naive"), {"objective": "value"}, seed)
    section = evaluation.policy_value_section(data, scores, plans, "test")
    rows = np.arange(ROWS)
    truth = {name: (means[rows, plan + 1] - np.where(plan >= 0, COSTS[np.maximum(plan, 0)], 0.0)).mean()
             for name, plan in plans.items()}
    return {"section": section, "truth": truth, "base": means[:, 0].mean()}


@pytest.fixture(scope="module")
def study() -> list[dict[str, Any]]:
    return [evaluate_once(seed) for seed in range(REPS)]


def covered(estimate_: dict[str, float], truth: float) -> bool:
    return estimate_["lower"] <= truth <= estimate_["upper"]


@pytest.mark.parametrize("plan", ["chosen", "naive", "random"])
def test_the_value_interval_covers_the_plans_true_value_at_the_nominal_rate(study, plan: str) -> None:
    coverage = np.mean([covered(r["section"]["plans"][plan]["value"], r["truth"][plan]) for r in study])
    assert abs(coverage - NOMINAL) <= TOLERANCE, coverage


def test_the_gain_and_the_difference_from_naive_cover_theirs(study) -> None:
    gain = np.mean([covered(r["section"]["plans"]["chosen"]["gain"], r["truth"]["chosen"] - r["base"]) for r in study])
    versus = np.mean([covered(r["section"]["plans"]["chosen"]["vs_naive"], r["truth"]["chosen"] - r["truth"]["naive"])
                      for r in study])
    assert abs(gain - NOMINAL) <= TOLERANCE, gain
    assert abs(versus - NOMINAL) <= TOLERANCE, versus


def test_the_plan_from_the_estimates_beats_naive_and_random_on_average(study) -> None:
    """The evaluation can tell plans apart: the optimised plan's true and DR values both lead."""
    for source in ("truth", "estimate"):
        value = {name: np.mean([r["truth"][name] if source == "truth" else r["section"]["plans"][name]["value"]["value"]
                                for r in study]) for name in ("chosen", "naive", "random", "none")}
        assert value["chosen"] > value["random"] > value["none"], (source, value)
        assert value["chosen"] > value["naive"], (source, value)


def test_estimate_is_the_mean_with_its_standard_error() -> None:
    scores = np.array([1.0, 2.0, 4.0, 5.0])
    got = estimate(scores, alpha=0.10)
    se = scores.std(ddof=1) / 2
    assert got.value == 3.0 and got.se == pytest.approx(se)
    assert (got.lower, got.upper) == pytest.approx((3.0 - 1.6448536 * se, 3.0 + 1.6448536 * se))
    with pytest.raises(DataError, match="at least 2 rows"):
        estimate([1.0])


def test_ratio_lift_is_the_percent_change_of_the_mean_gains_with_a_paired_interval() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 1.0, size=4000)
    gain = 1.2 * base + rng.normal(0.0, 0.1, size=4000)
    got = ratio_lift(gain, base)
    assert got.value == pytest.approx(100 * (gain.mean() / base.mean() - 1))
    assert got.lower < got.value < got.upper and got.upper - got.lower < 3.0
    assert ratio_lift(gain, -np.abs(base)) is None
    noise = rng.normal(0.0, 1.0, size=4000)
    assert ratio_lift(gain, noise - noise.mean() + 0.001) is None, "a baseline gain not clearly above 0"


def test_plan_rows_take_the_planned_arms_score_less_its_cost() -> None:
    scores = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    assert plan_rows(scores, np.array([-1, 1]), np.array([[0.5, 0.7], [0.5, 0.7]])).tolist() == [1.0, 29.3]


def test_an_unknown_arm_is_an_error_that_names_it() -> None:
    assert arm_codes(["c", "A", "B", "c"], TREATMENTS, "c").tolist() == [0, 1, 2, 0]
    with pytest.raises(DataError, match="'Z'"):
        arm_codes(["c", "Z"], TREATMENTS, "c")
