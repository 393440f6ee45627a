"""The report's figures, one section per question, each present only when the run's facts allow it:
how good the effect estimates are, what the solver proved, and what the plan is worth against the
naive plan, across budgets, and against the plan made from the true effects (the oracle)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import progress
from engine.errors import DataError
from engine.flow import Flow
from engine.names import normalize
from engine.report.evaluation import BASIS_TRAINING
from engine.report.plans import Planner

FRONTIER = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Budgets of the value-budget frontier, as multiples of the run's budget."""

TIMING_KEYS = ("build_seconds", "solve_seconds")

NAIVE = {"budget_sense": "<=", "objective": "value"}
"""The seed article's baseline: every unit's treatment with the largest estimated effect, then units
by that effect until the budget is spent (at most the budget, costs ignored in the choice)."""


def cate_section(flow: Flow) -> dict[str, Any] | None:
    """Per treatment: mean estimated effect and, when the truth is known, mean true effect and PEHE."""
    if not flow.facts.get("effects"):
        return None
    import numpy as np

    from engine.metrics import pehe_from_flow

    treatments = [str(t) for t in flow.facts["treatments"]]
    section: dict[str, Any] = {
        "treatments": treatments,
        "effects": list(flow.facts["effects"]),
        "mean_estimated": _means(flow, flow.facts["effects"], treatments),
    }
    truth = flow.facts.get("true_effects")
    if truth:
        section["true_effects"] = list(truth)
        section["mean_true"] = _means(flow, truth, treatments)
        section["pehe"] = pehe_from_flow(flow)
        section["pehe_mean"] = float(np.mean(list(section["pehe"].values())))
    return section


def _means(flow: Flow, columns: Any, treatments: list[str]) -> dict[str, float]:
    import pyarrow.compute as pc

    return {t: float(pc.mean(flow.table.column(c)).as_py()) for t, c in zip(treatments, columns)}


def overlap_section(flow: Flow) -> dict[str, Any] | None:
    """Per treatment the estimator's propensity histogram, treated against control, and the share of
    propensities it clipped: where the arms do not overlap, the effects there are extrapolated."""
    overlap = flow.facts.get("overlap")
    if not isinstance(overlap, Mapping) or not overlap:
        return None
    return {str(arm): dict(histogram) for arm, histogram in overlap.items()}


def drift_section(flow: Flow) -> dict[str, Any] | None:
    """The encoder's drift report (levels the scored rows brought that training did not, and fitted levels
    they lacked), where the encoder made one."""
    drift = flow.facts.get("drift")
    if drift is None:
        return None
    report = drift.to_dict() if hasattr(drift, "to_dict") else dict(drift)
    return {**report, "drifted": any(c["unseen"] or c["absent"] for c in report["columns"])}


def solver_section(flow: Flow) -> dict[str, Any] | None:
    """The solver's result summary (status, objective, proven bound and gap), timings aside."""
    summary = flow.facts.get("solver")
    if not isinstance(summary, Mapping):
        return None
    return {k: v for k, v in summary.items() if k not in TIMING_KEYS}


def planning_sections(flow: Flow, pipeline: Any, solver_label: str) -> dict[str, Any]:
    """Headline, frontier and oracle sections for a run whose pipeline has a solver step.

    The run's plan is compared with `naive` (the seed article's baseline, which spends at most the
    budget) at the run's budget and across the frontier's budgets; with the truth known, also with
    the plan made from the true effects. Those re-solves use `mckp`, whose gap is certified, so a
    slow exact backend runs once, not once per budget; where mckp cannot plan the problem (count
    limits) the solver that ran re-solves.
    """
    step = _solver_step(pipeline)
    if step is None or not flow.facts.get("effects") or "assignment" not in flow.facts:
        return {}
    params = sampled_params(flow, step.params)
    planner = Planner(flow, params)
    solver, replanner = _replanner(pipeline, step)
    budget = float(params["budget"])
    summary = flow.facts["solver"]
    plan = flow.table.column(flow.facts["assignment"]).to_numpy()
    if "sample" in flow.facts:
        summary = {**summary, "total_cost": planner.cost(plan)}
    ran = planner.score(plan, summary)
    sections: dict[str, Any] = {}
    naive = _naive(pipeline, planner, budget)
    if naive is not None:
        sections["headline"] = _headline(flow, params, solver_label, ran, naive)
        sections["frontier"] = {"solver": replanner, **_frontier(planner, solver, pipeline, budget, ran, naive)}
    if planner.truth:
        sections["oracle"] = _oracle(planner, solver, replanner, params, ran)
    return sections


def sampled_params(flow: Flow, params: Mapping[str, Any]) -> dict[str, Any]:
    """The solver step's params for the rows the report has: as they are, or for a sample of the run's
    rows (the "sample" fact) the budget and count limits scaled by the sample's share of the rows."""
    sample = flow.facts.get("sample")
    if not sample:
        return dict(params)
    return scaled_params(params, sample["kept"] / sample["rows"])


def scaled_params(params: Mapping[str, Any], share: float) -> dict[str, Any]:
    """The solver step's params for `share` of its rows: the budget and count limits scaled by it."""
    scaled = {**params, "budget": float(params["budget"]) * share}
    for limit in ("min_count", "max_count"):
        if params.get(limit) is not None:
            scaled[limit] = [None if v is None else float(v) * share for v in params[limit]]
    return scaled


def sampled_note(flow: Flow, figures: Mapping[str, Any]) -> dict[str, Any] | None:
    """Which figures come from a seeded sample of the run's rows (None when the report has every row)."""
    sample = flow.facts.get("sample")
    if not sample:
        return None
    sections = [key for key in ("cate", "headline", "frontier", "oracle", "policy_value", "qini", "calibration")
                if key in figures and figures[key].get("basis", "") != BASIS_TRAINING]
    return {**sample, "share": sample["kept"] / sample["rows"], "sections": sections,
            "note": (f"{', '.join(sections)} are figures over a seeded sample of {sample['kept']:,} of the run's "
                     f"{sample['rows']:,} rows (seed {sample['seed']}), budgets scaled by the sample's share; "
                     "the solver section is the run's own, over every row")}


def _replanner(pipeline: Any, step: Any) -> tuple[Any, str]:
    """The solver for the report's re-solves, and its name: mckp unless the step has count limits."""
    if any(step.params.get(limit) is not None for limit in ("min_count", "max_count")):
        return pipeline.registry.build("solver", step.name, **step.options), str(step.name)
    return pipeline.registry.build("solver", "mckp"), "mckp"


def _solver_step(pipeline: Any) -> Any:
    return next((s for s in getattr(pipeline, "steps", ()) if normalize(str(s.kind)) == "solver"), None)


def _naive(pipeline: Any, planner: Planner, budget: float) -> dict[str, Any] | None:
    """Naive's plan at `budget`, or None where naive cannot plan this problem (count limits)."""
    try:
        return planner.solve(pipeline.registry.build("solver", "naive"), budget=budget, **NAIVE)
    except DataError:
        return None


def _lift(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline <= 0:
        return None
    return 100.0 * (ours / baseline - 1.0)


def _headline(flow: Flow, params: Mapping[str, Any], solver_label: str, ran: dict[str, Any],
              naive: dict[str, Any]) -> dict[str, Any]:
    headline = {
        "rows": flow.facts["sample"]["rows"] if "sample" in flow.facts else flow.rows,
        "treatments": [str(t) for t in flow.facts.get("treatments", flow.facts["effects"])],
        "costs": params.get("costs"),
        "budget": float(params["budget"]),
        "budget_sense": params.get("budget_sense", "<="),
        "optimised": {"solver": solver_label, **ran},
        "naive": {"solver": "naive", **naive},
        "lift_estimated_pct": _lift(ran["estimated"], naive["estimated"]),
    }
    if "true" in ran:
        headline["lift_true_pct"] = _lift(ran["true"], naive["true"])
    return headline


def _frontier(planner: Planner, solver: Any, pipeline: Any, budget: float, ran: dict[str, Any],
              naive: dict[str, Any]) -> dict[str, Any]:
    naive_solver = pipeline.registry.build("solver", "naive")
    points = []
    dearest = planner.dearest()
    for share in progress.track(FRONTIER, total=len(FRONTIER), desc="report: frontier", unit="budget"):
        at = budget * share if share <= 1.0 else min(budget * share, max(dearest, budget))
        if share == 1.0:
            points.append({"budget": at, "optimised": ran, "naive": naive})
            continue
        points.append({
            "budget": at,
            "optimised": planner.solve(solver, budget=at),
            "naive": planner.solve(naive_solver, budget=at, **NAIVE),
        })
    return {"multiples": list(FRONTIER), "points": points}


def _oracle(planner: Planner, solver: Any, solver_label: str, params: Mapping[str, Any],
            ran: dict[str, Any]) -> dict[str, Any]:
    """The run's plan against the same solver's plan on the true effects, both scored by the truth,
    on the solver's objective ("net": effect minus cost; "value": effect)."""
    oracle = planner.solve(solver, effects=planner.truth)
    objective = params.get("objective", "net")

    def true_objective(scored: dict[str, Any]) -> float | None:
        if scored["true"] is None:
            return None
        return scored["true"] - scored["cost"] if objective == "net" else scored["true"]

    ours, best = true_objective(ran), true_objective(oracle)
    section = {
        "solver": solver_label,
        "objective": objective,
        "plan": {**ran, "true_objective": ours},
        "oracle": {**oracle, "true_objective": best},
        "regret": None if ours is None or best is None else best - ours,
        "share_of_oracle_pct": None if ours is None or not best else 100.0 * ours / best,
    }
    return section
