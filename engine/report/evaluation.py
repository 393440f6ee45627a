"""The report's honest evaluation: what the plan is worth on the experiment's own outcomes, without
the truth, by doubly robust (AIPW) scores, with the uplift curves and calibration drawn from them.

Honesty by cross-fitting. The run's plan came from effects fitted on every row, so no model that saw
a row may grade the plan there: its outcome would help choose its own treatment and then grade the
choice. `dml`'s fold nuisances cannot be reused: its final stage, and so every effect, saw all the
rows; its outcome model is E[Y|X] over the arms, not the per-arm E[Y|X, T=a] AIPW needs; and it keeps
no first stage after fitting. Instead the rows are split into `FOLDS` folds (stratified by arm, seeded) and, for
each fold, the run's CATE step (same plugin, same options) is refitted on the other folds, the fold's
plans are made from those out-of-fold effects with the budget scaled to the fold's share of rows, and
the AIPW nuisances (an outcome model per arm and a multinomial propensity model) are fitted on the
other folds too. Nothing that decides or scores a row has seen its outcome, so its AIPW score is
unbiased for the value of the plan made for it, and the rows' scores give the interval. What is
evaluated is the run's procedure (estimator, solver, budget per row) fitted on (FOLDS-1)/FOLDS of the
rows, which is a little worse than the plan fitted on them all: the estimate errs low, not high.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from engine.errors import DataError, HookyardError
from engine.flow import Flow
from engine.names import normalize
from engine.report.plans import Planner

FOLDS = 2
"""As `dml`'s own cross-fitting: each fold's plans come from the estimator fitted on the other half of the rows."""
ALPHA = 0.10
"""The intervals are 90%."""
CURVE_POINTS = 50
"""Points of each Qini / uplift curve kept in report.json (evenly spaced shares targeted)."""
BINS = 10
"""Calibration bins: deciles of the out-of-fold predicted effect."""
OOF = "__oof_"
"""Prefix of the out-of-fold effect columns the fold plans are made from (never persisted)."""
BASIS_RUN = "the run's own rows, cross-fitted"
BASIS_TRAINING = "the training experiment of the model bundle (the scored base has no outcomes)"


@attrs.frozen(eq=False)
class Experiment:
    """Rows with outcomes and treatments: what the evaluation needs from a run's table."""

    table: Any
    y: Any
    codes: Any
    X: Any
    treatments: tuple[str, ...]
    effects: tuple[str, ...]
    truth: tuple[str, ...]
    costs: Any
    control: str = "control"

    @property
    def rows(self) -> int:
        return len(self.y)


def experiment(flow: Flow, cate_params: Mapping[str, Any], solver_params: Mapping[str, Any],
               control: Any = None) -> Experiment | None:
    """The flow's rows as an experiment, or None when its table lacks the outcome or the treatment, or
    has no control rows. The control is `control`, else the one treatment value that is no treatment."""
    import numpy as np

    table = flow.table
    outcome, treatment = cate_params.get("outcome", "y"), cate_params.get("treatment", "t")
    if table is None or outcome not in table.column_names or treatment not in table.column_names:
        return None
    from engine.policy_value import arm_codes

    treatments = tuple(str(t) for t in flow.facts["treatments"])
    effects = tuple(flow.facts["effects"])
    truth = tuple(flow.facts.get("true_effects", ()))
    features = cate_params.get("features") or _features(flow, outcome, treatment)
    T = np.asarray([str(v) for v in table.column(treatment).to_pylist()], dtype=object)
    if control is None:
        others = sorted(set(T.tolist()) - set(treatments))
        if len(others) != 1:
            return None
        control = others[0]
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in features]).astype(float)
    return Experiment(table, table.column(outcome).to_numpy(zero_copy_only=False).astype(float),
                      arm_codes(T, treatments, str(control)), X, treatments, effects, truth,
                      _cost_matrix(table, solver_params.get("costs"), effects), str(control))


def _features(flow: Flow, outcome: str, treatment: str) -> list[str]:
    """The numeric columns the cate step fitted on: those of the final table less the outcome, the
    treatment, the true effects and what the cate and solver steps added."""
    import pyarrow as pa

    skip = {outcome, treatment, *flow.facts.get("true_effects", ()), *flow.facts["effects"],
            flow.facts.get("assignment", "")}
    metadata = flow.table.schema.metadata or {}
    skip |= set(metadata.get(b"hookyard.true_effects", b"").decode().split(","))
    return [f.name for f in flow.table.schema
            if f.name not in skip and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))]


def _cost_matrix(table: Any, costs: Any, effects: Sequence[str]) -> Any:
    import numpy as np

    if costs is None:
        return np.ones((table.num_rows, len(effects)))
    if isinstance(costs, str):
        return np.column_stack([table.column(f"{costs}{c}").to_numpy() for c in effects]).astype(float)
    return np.broadcast_to(np.asarray(costs, float), (table.num_rows, len(effects)))


def fold_index(codes: Any, folds: int, seed: int) -> Any:
    """Each row's fold, stratified by arm."""
    import numpy as np

    from plugins.cate.first_stage import folds as splits

    fold = np.empty(len(codes), dtype=np.int64)
    for k, (_, test) in enumerate(splits(codes, folds, seed)):
        fold[test] = k
    return fold


def out_of_fold_effects(make_estimator: Any, data: Experiment, fold: Any) -> Any:
    """(n, K) effects, each row's from an estimator `make_estimator()` fitted on the other folds."""
    import numpy as np

    T = np.asarray((data.control, *data.treatments), dtype=object)[data.codes]
    effects = np.empty((data.rows, len(data.treatments)))
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        estimator = make_estimator()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run's own fit has said what there is to say
            estimator.fit(data.y[train], T[train], data.X[train])
        names = [str(n) for n in getattr(estimator, "treatment_names_", data.treatments)]
        if tuple(names) != data.treatments:
            raise DataError(f"refitted on a fold the estimator has treatments {names}, not {list(data.treatments)}")
        effects[test] = np.asarray(estimator.effect(data.X[test]), float).reshape(int(test.sum()), -1)
    return effects


def fold_plans(data: Experiment, fold: Any, effects: Any, params: Mapping[str, Any], solver: Any,
               naive: Any, naive_params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Per plan (the solver's, naive's, no one, each treatment alone, random of the solver's spend) the
    (n,) assignment, made fold by fold from that fold's out-of-fold effects and its share of the budget."""
    import numpy as np
    import pyarrow as pa

    from engine.report.figures import scaled_params

    rng = np.random.default_rng(seed)
    plans = {name: np.full(data.rows, -1, dtype=np.int64)
             for name in ("chosen", "naive", "none", *(f"all {t}" for t in data.treatments), "random")}
    columns = tuple(f"{OOF}{t}" for t in data.treatments)
    for k in np.unique(fold):
        rows = np.flatnonzero(fold == k)
        table = data.table.take(pa.array(rows))
        for name, values in zip(columns, effects[rows].T):
            table = table.append_column(name, pa.array(values, pa.float64()))
        if isinstance(params.get("costs"), str):
            for name, values in zip(columns, data.costs[rows].T):
                table = table.append_column(f"{params['costs']}{name}", pa.array(values, pa.float64()))
        budget_params = scaled_params(params, rows.size / data.rows)
        planner = Planner(Flow(table, {"effects": columns}), budget_params)
        plans["chosen"][rows] = planner.plan(solver)[0]
        plans["naive"][rows] = planner.plan(naive, **naive_params)[0]
        budget, costs = float(budget_params["budget"]), data.costs[rows]
        for j, name in enumerate(data.treatments):
            plans[f"all {name}"][rows] = _greedy(rng.permutation(rows.size), np.full(rows.size, j), costs, budget)
        spent = float(_spend(plans["chosen"][rows], costs))
        plans["random"][rows] = _greedy(rng.permutation(rows.size), rng.integers(len(columns), size=rows.size),
                                        costs, spent)
    return plans


def _greedy(order: Any, arms: Any, costs: Any, budget: float) -> Any:
    """Rows in `order` given their `arms` while the total cost stays within `budget`; the rest none."""
    import numpy as np

    cost = costs[order, arms[order]]
    keep = np.cumsum(cost) <= budget + 1e-9
    plan = np.full(len(arms), -1, dtype=np.int64)
    plan[order[keep]] = arms[order[keep]]
    return plan


def _spend(plan: Any, costs: Any) -> float:
    import numpy as np

    rows = np.flatnonzero(plan >= 0)
    return float(costs[rows, plan[rows]].sum())


def policy_value_section(data: Experiment, scores: Any, plans: Mapping[str, Any], basis: str) -> dict[str, Any]:
    """Per plan the DR mean outcome net of cost, its gain over treating no one and its difference from
    naive, each with its 90% interval (and the true gain where the truth is known); the chosen plan's lift
    over naive in value (the sum of the effects it buys, as the headline's)."""
    import numpy as np

    from engine.policy_value import estimate, plan_rows, ratio_lift

    truth = np.column_stack([data.table.column(c).to_numpy() for c in data.truth]) if data.truth else None
    net = {name: plan_rows(scores, plan, data.costs) for name, plan in plans.items()}
    value = {name: plan_rows(scores, plan, np.zeros_like(data.costs)) - scores[:, 0] for name, plan in plans.items()}
    section: dict[str, Any] = {"basis": basis, "rows": data.rows, "folds": FOLDS, "level": 1 - ALPHA, "plans": {}}
    for name, plan in plans.items():
        treated = np.flatnonzero(plan >= 0)
        entry = {
            "treated": int(treated.size),
            "cost_per_row": _spend(plan, data.costs) / data.rows,
            "value": estimate(net[name], ALPHA).to_dict(),
            "gain": estimate(net[name] - scores[:, 0], ALPHA).to_dict(),
            "vs_naive": None if name == "naive" else estimate(net[name] - net["naive"], ALPHA).to_dict(),
        }
        if truth is not None:
            effect = np.zeros(data.rows)
            effect[treated] = truth[treated, plan[treated]]
            entry["true_gain"] = float(effect.mean()) - entry["cost_per_row"]
            entry["true_value_sum"] = float(effect.sum())
        section["plans"][name] = entry
    lift = ratio_lift(value["chosen"], value["naive"], ALPHA)
    section["lift_dr_pct"] = None if lift is None else lift.to_dict()
    if truth is not None:
        ours, base = section["plans"]["chosen"]["true_value_sum"], section["plans"]["naive"]["true_value_sum"]
        section["lift_true_pct"] = 100.0 * (ours / base - 1.0) if base > 0 else None
    return section


def qini_section(data: Experiment, effects: Any) -> dict[str, Any]:
    """Per treatment, on its rows and the control's: the Qini and uplift curves of the out-of-fold effect
    against the share targeted (CURVE_POINTS points), with the Qini coefficient and the AUUC."""
    import numpy as np

    from engine.metrics import auuc, qini, uplift_curves

    section: dict[str, Any] = {}
    for k, name in enumerate(data.treatments):
        rows = np.flatnonzero((data.codes == 0) | (data.codes == k + 1))
        args = (data.y[rows], data.codes[rows] == k + 1, effects[rows, k])
        curves = uplift_curves(*args)
        at = np.unique(np.linspace(0, len(rows) - 1, CURVE_POINTS).astype(np.int64))
        section[name] = {
            "rows": int(rows.size),
            "fraction": [0.0, *curves.fraction[at].tolist()],
            "qini": [0.0, *curves.qini[at].tolist()],
            "uplift": [0.0, *curves.uplift[at].tolist()],
            "qini_coefficient": qini(*args),
            "auuc": auuc(*args),
        }
    return section


def calibration_section(data: Experiment, scores: Any, effects: Any) -> dict[str, Any]:
    """Per treatment and decile of the out-of-fold predicted effect: the mean prediction against the mean
    DR pseudo-outcome (the arm's AIPW score less the control's) with its 90% interval."""
    import numpy as np

    from engine.policy_value import estimate

    truth = [data.table.column(c).to_numpy() for c in data.truth]
    section: dict[str, Any] = {}
    for k, name in enumerate(data.treatments):
        pseudo = scores[:, k + 1] - scores[:, 0]
        order = np.argsort(effects[:, k], kind="stable")
        bins = []
        for decile, part in enumerate(np.array_split(order, BINS), start=1):
            observed = estimate(pseudo[part], ALPHA)
            entry = {"decile": decile, "rows": int(part.size), "predicted": float(effects[part, k].mean()),
                     "observed": observed.value, "lower": observed.lower, "upper": observed.upper}
            if truth:
                entry["true"] = float(truth[k][part].mean())
            bins.append(entry)
        section[name] = bins
    return section


def evaluation_sections(flow: Flow, pipeline: Any) -> dict[str, Any]:
    """The "policy_value", "qini" and "calibration" sections of a run with a cate and a solver step whose
    final table has the outcomes; on an apply run over a base without them, the same sections made on
    the bundle's training experiment, labelled so; {} where neither is possible. Where the evaluation
    cannot be made (an arm too rare to fit on a fold), the "policy_value" section says why instead."""
    cate_step, solver_step = _step(pipeline, "cate"), _step(pipeline, "solver")
    if cate_step is None or solver_step is None or not flow.facts.get("effects") or "assignment" not in flow.facts:
        return {}
    from engine.report.figures import sampled_params, scaled_params

    params = sampled_params(flow, solver_step.params)
    cate_params, options = _cate_settings(pipeline, cate_step)
    control = options.get("control")
    data = experiment(flow, cate_params, params, control)
    basis = BASIS_RUN
    if data is None:
        from engine.report.training import training_flow

        train_flow = training_flow(pipeline, cate_step)
        if train_flow is None:
            return {}
        # The same spend per row on the experiment as on the base (count limits likewise).
        params = scaled_params(params, train_flow.rows / flow.rows)
        data = experiment(train_flow, cate_params, params, control)
        basis = BASIS_TRAINING
        if data is None:
            return {}
    try:
        return evaluate(data, pipeline, cate_step, options, solver_step, params, basis)
    except HookyardError as exc:
        return {"policy_value": {"basis": basis, "rows": data.rows, "unavailable": str(exc)}}


def evaluate(data: Experiment, pipeline: Any, cate_step: Any, options: Mapping[str, Any], solver_step: Any,
             params: Mapping[str, Any], basis: str) -> dict[str, Any]:
    """Cross-fit effects, nuisances and plans on `data` and build the three sections."""
    from engine import progress
    from engine.policy_value import cross_fit_scores
    from engine.report.figures import NAIVE, _replanner

    seed = int(getattr(pipeline, "seed", 0) or 0)
    fold = fold_index(data.codes, FOLDS, seed)
    with progress.bar(3, desc="report: evaluation", unit="stage") as bar:
        effects = out_of_fold_effects(lambda: pipeline.registry.build("cate", cate_step.name, **options), data, fold)
        bar.update(1)
        scores = cross_fit_scores(data.y, data.codes, data.X, fold, model_y=_model(options.get("model_y")),
                                  model_t=_model(options.get("model_t")), random_state=seed)
        bar.update(1)
        solver, _ = _replanner(pipeline, solver_step)
        plans = fold_plans(data, fold, effects, params, solver, pipeline.registry.build("solver", "naive"),
                           NAIVE, seed)
        bar.update(1)
    return {"policy_value": policy_value_section(data, scores, plans, basis),
            "qini": {"basis": basis, "treatments": qini_section(data, effects)},
            "calibration": {"basis": basis, "level": 1 - ALPHA, "treatments": calibration_section(data, scores, effects)}}


def _model(spec: Any) -> str:
    """The nuisance model: the cate step's first-stage model when it names one, else "hgb"."""
    return spec if spec in ("hgb", "lightgbm", "linear") else "hgb"


def _step(pipeline: Any, kind: str) -> Any:
    return next((s for s in getattr(pipeline, "steps", ()) if normalize(str(s.kind)) == kind), None)


def _cate_settings(pipeline: Any, step: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cate step's params and options as fitted: a bundle's resolved ones under the step's own."""
    bundle = pipeline.bundle if getattr(pipeline, "model", None) else None
    if bundle is not None and step.id in bundle.plugins:
        fitted = bundle.step(step.id)
        return {**fitted.params, **step.params}, dict(fitted.options)
    return dict(step.params), dict(step.options)

