"""A sweep's comparison: sweep.json and sweep.html (one row per combination, the best by the chosen
metric, each run's report linked) and a plot of the metric against time per combination."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from engine.atomic import check_marked
from engine.sweep_runs import METRICS

SCHEMA = 1
PLOT = "value_time.png"
COLUMNS = ("value_estimated", "value_true", "lift_estimated_pct", "lift_true_pct", "pehe_mean",
           "solver_status", "gap_rel", "seconds")


def check_out(target: str | Path) -> Path:
    """The comparison folder as a Path, if a sweep may (re)place it: new, empty or an earlier sweep's
    (its `.hookyard` marker says so); otherwise a ConfigError, so that `--out .` can never delete other files."""
    return check_marked(target, "sweep")


def best_row(rows: Sequence[Mapping[str, Any]], metric: str) -> int | None:
    """The index of the best finished combination by `metric` (None when no row has it)."""
    scored = [(r["metrics"][metric], r["index"]) for r in rows
              if r["status"] == "ok" and r["metrics"].get(metric) is not None]
    if not scored:
        return None
    pick = max if METRICS[metric] == "max" else min
    return pick(scored, key=lambda pair: pair[0])[1]


def comparison(name: str, axes: Sequence[str], shared: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
               metric: str) -> dict[str, Any]:
    """The JSON-ready comparison."""
    return {"schema": SCHEMA, "pipeline": name, "swept": list(axes), "shared": dict(shared),
            "metric": {"key": metric, "goal": METRICS[metric]}, "best": best_row(rows, metric),
            "runs": list(rows)}


def write(folder: Path, data: Mapping[str, Any]) -> None:
    """sweep.json, sweep.html and the plot into `folder` (the caller makes it appear whole)."""
    plotted = _plot(data, folder / PLOT)
    (folder / "sweep.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / "sweep.html").write_text(render(data, plotted), encoding="utf-8")


def render(data: Mapping[str, Any], plotted: bool) -> str:
    """The comparison page."""
    from engine.report.html import STYLE
    from engine.report.text import number

    title = f"Hookyard sweep: {data['pipeline']}"
    axes, metric, best = data["swept"], data["metric"]["key"], data["best"]
    head = "".join(f"<th>{escape(h)}</th>" for h in ["#", *axes, "status", *COLUMNS, "seconds per step", "report"])
    body = []
    for row in data["runs"]:
        metrics = row.get("metrics") or {}
        cells = [str(row["index"] + 1), *(escape(row["values"][a]) for a in axes), escape(row["status"]),
                 *(escape(number(metrics.get(c), 4)) for c in COLUMNS),
                 escape(", ".join(f"{s['step']} {s['seconds']:.2f}" for s in row.get("steps", ())))]
        link = f"<a href='{escape(row['report'])}'>report</a>" if row.get("report") else escape(row.get("error", ""))
        style = " style='background:#eaf6ea'" if row["index"] == best else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in [*cells, link]) + "</tr>")
    shared = data["shared"]
    said = (f"Shared steps (run once, {shared['seconds']:.2f}s): {escape(', '.join(shared['steps']))}."
            if shared["steps"] else "No steps shared: every combination ran whole.")
    winner = "none finished with this figure" if best is None else f"combination {best + 1}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>", f"<p>{said}</p>",
             f"<p class='headline'>Best by {escape(metric)} ({data['metric']['goal']}): {winner}.</p>",
             f"<table><tr>{head}</tr>{''.join(body)}</table>"]
    if plotted:
        parts.append(f"<h2>{escape(metric)} against time</h2><img src='{PLOT}' alt='value against time'>")
    return "".join(parts) + "</body></html>\n"


def _plot(data: Mapping[str, Any], path: Path) -> bool:
    """The metric (y) against the run's seconds (x), one labelled point per finished combination."""
    from engine.report.plots import _pyplot, _save

    metric = data["metric"]["key"]
    points = [(r["metrics"]["seconds"], r["metrics"][metric], r["index"] + 1) for r in data["runs"]
              if r["status"] == "ok" and r["metrics"].get(metric) is not None]
    if not points:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([p[0] for p in points], [p[1] for p in points])
    for x, y, label in points:
        ax.annotate(str(label), (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("Seconds (shared steps included)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against time, per combination")
    _save(fig, path)
    return True
