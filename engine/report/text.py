"""The report's figures as text: the numbers' format, the headline sentence and the terminal summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(value: Any, digits: int = 2) -> str:
    """A figure as the report prints it: thousands separated, `digits` decimals unless whole, "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    """A change in percent with its sign, "—" for none."""
    return "—" if value is None else f"{value:+.1f}%"


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
