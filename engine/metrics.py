"""How good estimated treatment effects are: PEHE (RMSE against the true effect), Qini / AUUC
(ranking quality on observed outcomes) and policy regret (what a plan made from the estimates
loses against the plan made from the true effects, for a given solver and budget). What a plan is
worth without the truth, by doubly robust evaluation on the experiment, is `engine.policy_value`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from engine.errors import DataError
from engine.flow import Flow


def _matrix(values: Any, name: str) -> Any:
    import numpy as np

    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise DataError(f"{name} must be an (n, K) matrix of effects, got {values.ndim} dimensions")
    if not np.isfinite(values).all():
        raise DataError(f"{name} has NaN or inf; effects must be finite numbers")
    return values


def _paired(true_effects: Any, estimated: Any) -> tuple[Any, Any]:
    truth = _matrix(true_effects, "true_effects")
    guess = _matrix(estimated, "estimated")
    if truth.shape != guess.shape:
        raise DataError(f"true effects have shape {truth.shape} but estimates {guess.shape}; they must match")
    return truth, guess


def pehe(true_effects: Any, estimated: Any, names: Sequence[str] | None = None) -> dict[str, float]:
    """RMSE of the estimated against the true effect (PEHE), per treatment column, by name."""
    import numpy as np

    truth, guess = _paired(true_effects, estimated)
    names = [str(n) for n in (names if names is not None else range(1, truth.shape[1] + 1))]
    if len(names) != truth.shape[1]:
        raise DataError(f"{len(names)} names for {truth.shape[1]} treatment columns")
    rmse = np.sqrt(((truth - guess) ** 2).mean(axis=0))
    return dict(zip(names, (float(v) for v in rmse)))


def pehe_from_flow(flow: Flow) -> dict[str, float]:
    """PEHE per treatment of a flow a cate step ran on, from its "effects" and "true_effects" facts."""
    import numpy as np

    missing = [key for key in ("effects", "true_effects", "treatments") if key not in flow.facts]
    if missing:
        raise DataError(
            f"the flow has no {missing} facts: run a cate step on data with known true effects "
            "(the synthetic source) or pass true_effects= to the step"
        )
    truth, guess = (
        np.column_stack([flow.table.column(c).to_numpy() for c in flow.facts[key]]) for key in ("true_effects", "effects")
    )
    return pehe(truth, guess, flow.facts["treatments"])


@attrs.frozen
class UpliftCurves:
    """Gains when targeting the top `fraction` of rows by score: the Qini curve (treated outcome
    total minus the control total scaled to the treated count) and the uplift curve (difference in
    means times the rows targeted)."""

    fraction: Any
    qini: Any
    uplift: Any


def uplift_curves(y: Any, treated: Any, score: Any) -> UpliftCurves:
    """Qini and uplift curves of a binary experiment (`treated` 0/1) ranked by `score`, highest first."""
    import numpy as np

    y = np.asarray(y, dtype=float)
    treated = np.asarray(treated).astype(bool)
    score = np.asarray(score, dtype=float)
    if not (len(y) == len(treated) == len(score)):
        raise DataError(f"y, treated and score have {len(y)}, {len(treated)} and {len(score)} rows; they must match")
    if treated.all() or not treated.any():
        raise DataError("Qini and AUUC need both treated and control rows")
    order = np.argsort(-score, kind="stable")
    y, treated = y[order], treated[order]
    n_t = np.cumsum(treated)
    n_c = np.cumsum(~treated)
    y_t = np.cumsum(np.where(treated, y, 0.0))
    y_c = np.cumsum(np.where(treated, 0.0, y))
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(n_c > 0, y_t - y_c * n_t / n_c, 0.0)
        both = (n_t > 0) & (n_c > 0)
        uplift = np.where(both, (y_t / n_t - y_c / n_c) * np.arange(1, len(y) + 1), 0.0)
    fraction = np.arange(1, len(y) + 1) / len(y)
    return UpliftCurves(fraction=fraction, qini=qini, uplift=uplift)


def qini(y: Any, treated: Any, score: Any) -> float:
    """Qini coefficient: the mean gap between the Qini curve and random targeting, per row."""
    curves = uplift_curves(y, treated, score)
    gap = curves.qini - curves.fraction * curves.qini[-1]
    return float(gap.mean() / len(gap))


def auuc(y: Any, treated: Any, score: Any) -> float:
    """Area under the uplift curve, per row: the mean over targeting depths of the gain per row."""
    curves = uplift_curves(y, treated, score)
    return float(curves.uplift.mean() / len(curves.uplift))


def uplift_by_treatment(
    y: Any, t: Any, effects: Any, treatments: Sequence[Any], control: Any = "control"
) -> dict[str, dict[str, float]]:
    """Qini and AUUC of each treatment's effect column, on the rows given that treatment or the control."""
    import numpy as np

    t = np.asarray(t, dtype=object)
    y = np.asarray(y, dtype=float)
    effects = _matrix(effects, "effects")
    if effects.shape[1] != len(treatments):
        raise DataError(f"{effects.shape[1]} effect columns for {len(treatments)} treatments")
    scores = {}
    for k, name in enumerate(treatments):
        rows = (t == name) | (t == control)
        args = (y[rows], t[rows] == name, effects[rows, k])
        scores[str(name)] = {"qini": qini(*args), "auuc": auuc(*args)}
    return scores


@attrs.frozen
class PolicyRegret:
    """The true value of the plan made from the estimates, of the plan made from the true effects
    (the oracle), and the estimated plan (-1: no treatment). Values are the solver's objective
    ("net": effect minus cost, or "value": effect) scored with the true effects."""

    value_estimated: float
    value_oracle: float
    assignment: Any

    @property
    def regret(self) -> float:
        """What planning from the estimates loses against planning from the truth."""
        return self.value_oracle - self.value_estimated

    @property
    def relative_regret(self) -> float:
        """Regret as a share of the oracle's value (0 when the oracle gains nothing)."""
        return self.regret / self.value_oracle if self.value_oracle else 0.0


def policy_regret(
    true_effects: Any,
    estimated: Any,
    costs: Any,
    budget: float,
    solver: Any = "mckp",
    *,
    objective: Literal["net", "value"] = "net",
    **solver_options: Any,
) -> PolicyRegret:
    """Plan with `solver` (a name or a built solver) from the estimates and from the true effects,
    under the same costs ((K,) per treatment or (n, K) per unit) and budget; score both plans by
    the true effects. With a heuristic solver the oracle plan is that solver's, not the optimum."""
    import engine
    from engine.kinds.solver import AssignmentProblem

    truth, guess = _paired(true_effects, estimated)
    plugin = engine.get("solver", solver, **solver_options)
    truth_problem = AssignmentProblem(truth, costs, budget, objective=objective)
    estimated_plan = plugin.solve(AssignmentProblem(guess, costs, budget, objective=objective)).assignment
    oracle_plan = plugin.solve(truth_problem).assignment
    return PolicyRegret(
        value_estimated=truth_problem.evaluate(estimated_plan)[0],
        value_oracle=truth_problem.evaluate(oracle_plan)[0],
        assignment=estimated_plan,
    )
