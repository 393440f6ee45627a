"""The report's PNG plots, drawn by matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_POINTS = 10_000
"""Rows drawn per scatter at most (evenly spaced), as many as one of the seed's experiments."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def cate_scatter(table: Any, section: Mapping[str, Any], path: Path) -> Path:
    """Estimated (x) against true (y) effect, one panel per treatment, with the diagonal and PEHE."""
    import numpy as np

    plt = _pyplot()
    treatments = section["treatments"]
    rows = np.unique(np.linspace(0, table.num_rows - 1, min(table.num_rows, MAX_POINTS)).astype(np.int64))
    fig, axes = plt.subplots(1, len(treatments), figsize=(4.5 * len(treatments), 4.2), squeeze=False)
    for ax, name, est_col, true_col in zip(axes[0], treatments, section["effects"], section["true_effects"]):
        est = table.column(est_col).to_numpy()[rows]
        true = table.column(true_col).to_numpy()[rows]
        ax.scatter(est, true, s=3, alpha=0.3, linewidths=0, rasterized=True)
        low, high = float(min(est.min(), true.min())), float(max(est.max(), true.max()))
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
        ax.set_title(f"{name}  (PEHE {section['pehe'][name]:.3f})")
        ax.set_xlabel("Estimated CATE")
        ax.set_ylabel("Actual CATE")
    fig.suptitle("Actual vs estimated effect per treatment")
    return _save(fig, path)


def frontier(section: Mapping[str, Any], budget: float, solver: str, path: Path) -> Path:
    """Value of the optimised and the naive plan against the budget: estimated (solid), true (dashed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    budgets = [p["budget"] for p in section["points"]]
    for plan, label, color in (("optimised", solver, "tab:blue"), ("naive", "naive", "tab:orange")):
        for kind, style in (("estimated", "-"), ("true", "--")):
            values = [p[plan].get(kind) for p in section["points"]]
            if any(v is not None for v in values):
                shown = [float("nan") if v is None else v for v in values]
                ax.plot(budgets, shown, style, marker="o", color=color, label=f"{label} ({kind})")
    ax.axvline(budget, color="grey", linewidth=0.8, linestyle=":", label="the run's budget")
    ax.set_xlabel("Budget")
    ax.set_ylabel("Value of the plan (sum of the chosen effects)")
    ax.set_title("Value-budget frontier")
    ax.legend(fontsize="small")
    return _save(fig, path)


def overlap(section: Mapping[str, Any], path: Path) -> Path:
    """Per treatment, the propensity histogram of its treated rows against the control rows."""
    plt = _pyplot()
    arms = list(section)
    fig, axes = plt.subplots(1, len(arms), figsize=(4.5 * len(arms), 3.6), squeeze=False)
    for ax, arm in zip(axes[0], arms):
        histogram = section[arm]
        edges = histogram["bin_edges"]
        for rows, color in (("treated", "tab:blue"), ("control", "tab:orange")):
            ax.stairs(histogram[rows], edges, color=color, label=rows)
        ax.set_title(f"{arm}: {100 * histogram['clipped_share']:.1f}% clipped")
        ax.set_xlabel(f"P(T = {arm} | X), out of fold")
        ax.set_ylabel("rows")
        ax.legend(fontsize="small")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path
