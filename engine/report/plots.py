"""The report's PNG plots, drawn by matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_POINTS = 10_000
"""Rows drawn per scatter at most (evenly spaced), as many as one of the seed's experiments."""
PLOT_FILES = {"cate": "cate.png", "frontier": "frontier.png", "overlap": "overlap.png",
              "policy_value": "policy_value.png", "qini": "qini.png", "calibration": "calibration.png"}
"""Each plot's file in the report folder, beside report.html (linked relatively, so the folder can move)."""
WIDTH = 9.0
"""The widest figure in inches: at 100 dpi 900 px, which fits a laptop's page and A4's printable width."""


def draw(figures: Mapping[str, Any], table: Any, folder: Path) -> dict[str, str]:
    """Draw every plot the figures allow into `folder`; returns each drawn plot's file name by section."""
    drawn: dict[str, Path] = {}
    if figures.get("cate", {}).get("pehe") and table is not None:
        drawn["cate"] = cate_scatter(table, figures["cate"], folder / PLOT_FILES["cate"])
    if figures.get("overlap"):
        drawn["overlap"] = overlap(figures["overlap"], folder / PLOT_FILES["overlap"])
    if figures.get("frontier"):
        drawn["frontier"] = frontier(figures["frontier"], figures["headline"]["budget"], figures["frontier"]["solver"],
                                     folder / PLOT_FILES["frontier"])
    if figures.get("policy_value", {}).get("plans"):
        drawn["policy_value"] = policy_value(figures["policy_value"], folder / PLOT_FILES["policy_value"])
    if figures.get("qini"):
        drawn["qini"] = qini(figures["qini"]["treatments"], folder / PLOT_FILES["qini"])
    if figures.get("calibration"):
        drawn["calibration"] = calibration(figures["calibration"]["treatments"], folder / PLOT_FILES["calibration"])
    return {key: path.name for key, path in drawn.items()}


def _panels(count: int, height: float) -> tuple[Any, Any]:
    """One row of `count` panels, together at most WIDTH inches wide."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, count, figsize=(min(WIDTH, 4.5 * count), height), squeeze=False)
    return fig, axes[0]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def cate_scatter(table: Any, section: Mapping[str, Any], path: Path) -> Path:
    """Estimated (x) against true (y) effect, one panel per treatment, with the diagonal and PEHE."""
    import numpy as np

    treatments = section["treatments"]
    rows = np.unique(np.linspace(0, table.num_rows - 1, min(table.num_rows, MAX_POINTS)).astype(np.int64))
    fig, axes = _panels(len(treatments), 3.6)
    for ax, name, est_col, true_col in zip(axes, treatments, section["effects"], section["true_effects"]):
        est = table.column(est_col).to_numpy()[rows]
        true = table.column(true_col).to_numpy()[rows]
        ax.scatter(est, true, s=3, alpha=0.3, linewidths=0, rasterized=True)
        low, high = float(min(est.min(), true.min())), float(max(est.max(), true.max()))
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
        ax.set_title(f"{name}  (PEHE {section['pehe'][name]:.3f})", fontsize="medium")
        ax.set_xlabel("Estimated CATE")
        ax.set_ylabel("Actual CATE")
    fig.suptitle("Actual vs estimated effect per treatment")
    return _save(fig, path)


def frontier(section: Mapping[str, Any], budget: float, solver: str, path: Path) -> Path:
    """Value of the optimised and the naive plan against the budget: estimated (solid), true (dashed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
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
    arms = list(section)
    fig, axes = _panels(len(arms), 3.3)
    for ax, arm in zip(axes, arms):
        histogram = section[arm]
        edges = histogram["bin_edges"]
        for rows, color in (("treated", "tab:blue"), ("control", "tab:orange")):
            ax.stairs(histogram[rows], edges, color=color, label=rows)
        ax.set_title(f"{arm}: {100 * histogram['clipped_share']:.1f}% clipped", fontsize="medium")
        ax.set_xlabel(f"P(T = {arm} | X), out of fold")
        ax.set_ylabel("rows")
        ax.legend(fontsize="small")
    return _save(fig, path)


def policy_value(section: Mapping[str, Any], path: Path) -> Path:
    """Per plan the DR gain over treating no one, net of cost per row, with its interval; the true gain beside."""
    plt = _pyplot()
    names = list(section["plans"])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.4))
    gains = [section["plans"][n]["gain"] for n in names]
    centre = [g["value"] for g in gains]
    ax.errorbar(centre, range(len(names)), xerr=[[c - g["lower"] for c, g in zip(centre, gains)],
                                                 [g["upper"] - c for c, g in zip(centre, gains)]],
                fmt="o", color="tab:blue", capsize=3, label=f"doubly robust ({100 * section['level']:.0f}% interval)")
    truth = [section["plans"][n].get("true_gain") for n in names]
    if all(t is not None for t in truth):
        ax.plot(truth, range(len(names)), "x", color="black", label="true")
    ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("Gain over treating no one, net of cost, per row")
    ax.set_title("What each plan is worth (cross-fitted)")
    ax.legend(fontsize="small")
    return _save(fig, path)


def qini(section: Mapping[str, Any], path: Path) -> Path:
    """Per treatment the Qini and cumulative uplift curves of the out-of-fold effect against the share
    targeted, beside random targeting."""
    fig, axes = _panels(len(section), 3.3)
    for ax, (name, curves) in zip(axes, section.items()):
        ax.plot(curves["fraction"], curves["qini"], color="tab:blue", label="Qini")
        ax.plot(curves["fraction"], curves["uplift"], color="tab:green", linestyle="-.", label="cumulative uplift")
        ax.plot([0, 1], [0, curves["qini"][-1]], color="grey", linestyle="--", label="random")
        ax.set_title(f"{name}: Qini {curves['qini_coefficient']:.4f}", fontsize="medium")
        ax.set_xlabel("Share targeted")
        ax.set_ylabel("Incremental outcome")
        ax.legend(fontsize="small")
    return _save(fig, path)


def calibration(section: Mapping[str, Any], path: Path) -> Path:
    """Per treatment and decile of prediction, the mean DR pseudo-outcome (with its interval) against the
    mean predicted effect, and the diagonal."""
    fig, axes = _panels(len(section), 3.3)
    for ax, (name, bins) in zip(axes, section.items()):
        predicted = [b["predicted"] for b in bins]
        observed = [b["observed"] for b in bins]
        ax.errorbar(predicted, observed, yerr=[[o - b["lower"] for o, b in zip(observed, bins)],
                                               [b["upper"] - o for o, b in zip(observed, bins)]],
                    fmt="o", color="tab:blue", capsize=2)
        low, high = min(predicted), max(predicted)
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("Mean predicted effect")
        ax.set_ylabel("Mean DR pseudo-outcome")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path
