"""What a plan is worth on experimental data, without the truth: doubly robust (AIPW) off-policy values.

A plan gives each row one arm (-1: no treatment, k: treatment k). The AIPW score of arm a on row i,
mu_a(x_i) + 1{t_i = a} (y_i - mu_a(x_i)) / e_a(x_i), is unbiased for the row's outcome under a when
either nuisance (the outcome model mu_a or the propensity e_a) is right; a plan's value is the mean of
its rows' scores less their costs, and the variance of those per-row scores (their influence function)
gives the interval. Differences and lifts between plans pair the rows' scores, so the noise they share
cancels. Honesty needs the nuisances of a row, and the plan's choice for it, to come from models that
never saw its outcome: `cross_fit_scores` fits them on the other folds (see `engine.report.evaluation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from engine.errors import DataError

CLIP = 0.01
"""Propensities are clipped to at least this, so that a rare arm's few rows cannot dominate."""


@attrs.frozen
class Estimate:
    """A mean over rows with its standard error and normal (1 - alpha) interval."""

    value: float
    se: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, float]:
        return attrs.asdict(self)


def estimate(per_row: Any, alpha: float = 0.1) -> Estimate:
    """The mean of per-row scores, its influence-function standard error and (1 - alpha) interval."""
    import numpy as np
    from scipy.stats import norm

    per_row = np.asarray(per_row, dtype=float)
    if per_row.ndim != 1 or per_row.size < 2:
        raise DataError(f"a value needs the scores of at least 2 rows, got shape {per_row.shape}")
    if not 0.0 < alpha < 1.0:
        raise DataError(f"alpha must be in (0, 1), got {alpha}")
    mean = float(per_row.mean())
    se = float(per_row.std(ddof=1) / np.sqrt(per_row.size))
    spread = float(norm.ppf(1.0 - alpha / 2.0)) * se
    return Estimate(mean, se, mean - spread, mean + spread)


def ratio_lift(gain: Any, baseline: Any, alpha: float = 0.1) -> Estimate | None:
    """100 (mean(gain) / mean(baseline) - 1), in percent, with its delta-method interval from the paired
    per-row gains (both over the same reference plan); None unless the baseline's gain is clearly
    positive (its interval above 0), where a ratio and its linearisation mean nothing."""
    import numpy as np

    gain, baseline = np.asarray(gain, dtype=float), np.asarray(baseline, dtype=float)
    base = float(baseline.mean())
    if estimate(baseline, alpha).lower <= 0:
        return None
    ratio = float(gain.mean()) / base
    influence = estimate((gain - ratio * baseline) / base, alpha)
    center, half = 100.0 * (ratio - 1.0), 100.0 * (influence.upper - influence.value)
    return Estimate(center, 100.0 * influence.se, center - half, center + half)


def arm_codes(t: Any, treatments: Sequence[Any], control: Any) -> Any:
    """Each row's arm: 0 for the control, k for the k-th treatment; DataError for any other value."""
    import numpy as np

    t = np.asarray(t, dtype=object)
    codes = np.full(len(t), -1, dtype=np.int64)
    for code, level in enumerate((control, *treatments)):
        codes[t == level] = code
    if (codes < 0).any():
        others = sorted({str(v) for v in t[codes < 0]})[:5]
        raise DataError(f"treatment values {others} are neither the control {control!r} nor a treatment "
                        f"{list(treatments)}; the evaluation needs every row's arm")
    return codes


def cross_fit_scores(y: Any, codes: Any, X: Any, fold: Any, *, model_y: Any = "hgb", model_t: Any = "hgb",
                     clip: float = CLIP, random_state: int | None = 0) -> Any:
    """The (n, K + 1) AIPW scores (control first) with every row's nuisances fitted on the other folds:
    an outcome model per arm on that arm's rows, one multinomial propensity model."""
    import numpy as np

    from plugins.cate.first_stage import cross_fit_propensity, make_model

    y, codes, X, fold = np.asarray(y, float), np.asarray(codes), np.asarray(X, float), np.asarray(fold)
    arms = int(codes.max()) + 1
    mu = np.empty((len(y), arms))
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in np.unique(fold)]
    for train, test in splits:
        for arm in range(arms):
            rows = train[codes[train] == arm]
            if rows.size < 2:
                raise DataError(f"arm {arm} has {rows.size} rows outside a fold; the evaluation needs rows of "
                                "every arm in every fold's training part")
            model = make_model(model_y, role="regressor", random_state=random_state).fit(X[rows], y[rows])
            mu[test, arm] = model.predict(X[test])
    propensity = np.clip(cross_fit_propensity(model_t, X, codes, arms, splits, random_state), clip, 1.0)
    given = codes[:, None] == np.arange(arms)[None, :]
    return mu + given * (y[:, None] - mu) / propensity


def plan_rows(scores: Any, plan: Any, costs: Any) -> Any:
    """Per row the plan's AIPW score less its cost: `plan` (n,) -1 or a treatment index, `costs` (n, K)."""
    import numpy as np

    plan = np.asarray(plan, dtype=np.int64)
    rows = np.arange(len(plan))
    spent = np.where(plan >= 0, np.asarray(costs, float)[rows, np.maximum(plan, 0)], 0.0)
    return scores[rows, plan + 1] - spent
