"""The report's figures as text: the numbers' format, the headline sentence and the terminal summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.report.evaluation import BASIS_TRAINING


def number(value: Any, digits: int = 2) -> str:
    """A figure as the report prints it: thousands separated, `digits` decimals unless whole, in
    scientific notation from 10^15 on, "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if abs(value) >= 1e15:
        return f"{value:.6g}"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    """A change in percent with its sign, "—" for none."""
    return "—" if value is None else f"{value:+.1f}%"


def percent_interval(estimate: Mapping[str, Any] | None) -> str:
    """A change in percent with its interval, "—" for none."""
    if estimate is None:
        return "—"
    return f"{percent(estimate['value'])} [{percent(estimate['lower'])}, {percent(estimate['upper'])}]"


def dr_sentence(figures: Mapping[str, Any]) -> str | None:
    """The plan's lift over naive three ways: estimated by the model, by doubly robust evaluation with its
    interval, and (when known) true; None without a headline and a policy value."""
    headline, value = figures.get("headline"), figures.get("policy_value")
    if not headline or not value or value.get("lift_dr_pct") is None:
        return None
    text = (f"against naive {percent(headline['lift_estimated_pct'])} estimated by the model, "
            f"{percent_interval(value['lift_dr_pct'])} by doubly robust evaluation"
            + (" on the training experiment" if value["basis"] == BASIS_TRAINING else ""))
    if headline.get("lift_true_pct") is not None:
        text += f", {percent(headline['lift_true_pct'])} true"
    if value.get("lift_true_pct") is not None:
        text += f" (the evaluated cross-fitted plans: {percent(value['lift_true_pct'])} true)"
    return text


def headline_sentence(headline: Mapping[str, Any]) -> str:
    """The headline in one line: the optimised plan against naive, estimated and (when known) true."""
    ours, naive = headline["optimised"], headline["naive"]
    text = (f"at budget {number(headline['budget'])} ({headline['budget_sense']}) the {ours['solver']} plan is worth "
            f"{number(ours['estimated'])} in estimated value against naive's {number(naive['estimated'])} "
            f"({percent(headline['lift_estimated_pct'])})")
    if "lift_true_pct" in headline:
        text += (f"; in true value {number(ours['true'])} against {number(naive['true'])} "
                 f"({percent(headline['lift_true_pct'])})")
    return text


def summary_lines(figures: Mapping[str, Any]) -> list[str]:
    """The headline figures of a report, one line each, for the terminal."""
    lines = []
    if "sampled" in figures:
        lines.append(f"sampled: {figures['sampled']['note']}")
    if "headline" in figures:
        lines.append(f"headline: {headline_sentence(figures['headline'])}")
    sentence = dr_sentence(figures)
    if sentence:
        lines.append(f"evaluation: {sentence}")
    cate = figures.get("cate", {})
    if "pehe" in cate:
        lines.append("effects: PEHE " + ", ".join(f"{t} {v:.3f}" for t, v in cate["pehe"].items()))
    solver = figures.get("solver")
    if solver:
        gap = "—" if solver["gap_abs"] is None else f"{solver['gap_abs']:.2g} (relative {solver['gap_rel']:.2g})"
        lines.append(f"solver: {solver['backend']} {solver['status']}, objective {number(solver['objective'])}, "
                     f"bound {number(solver['bound'])}, gap {gap}")
    oracle = figures.get("oracle")
    if oracle and oracle["share_of_oracle_pct"] is not None:
        lines.append(f"oracle: the plan reaches {oracle['share_of_oracle_pct']:.1f}% of the true {oracle['objective']} "
                     f"value of the {oracle['solver']} plan made from the true effects")
    return lines
