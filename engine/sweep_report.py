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
COLUMNS = ("value_estimated", "value_dr_per_row", "value_true", "lift_estimated_pct", "lift_dr_pct", "lift_true_pct",
           "pehe_mean", "solver_status", "gap_rel", "seconds")


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
               metric: str, ran: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready comparison; `ran` says how the combinations ran (how many at once, where). The
    generations of a generation pipeline's combinations leave their rows for one side-by-side table."""
    runs = [{k: v for k, v in r.items() if k != "generations"} for r in rows]
    data = {"schema": SCHEMA, "pipeline": name, "swept": list(axes), "shared": dict(shared),
            "metric": {"key": metric, "goal": METRICS[metric]}, "best": best_row(rows, metric),
            "ran": dict(ran or {}), "runs": runs}
    generations = generation_table(rows)
    return data if generations is None else {**data, "generations": generations}


def generation_table(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Texts and scores per prompt, one column per finished combination of a generation pipeline
    (None when no row generated): the prompts are the first finished combination's, row for row (the
    combinations read the same source rows)."""
    generated = [r for r in rows if r.get("generations")]
    if not generated:
        return None
    first = generated[0]["generations"]
    return {"prompt_column": first["prompt_column"], "prompts": first["prompts"], "rows": first["rows"],
            "columns": [{"index": r["index"], "values": r["values"], "texts": r["generations"]["texts"],
                         "scores": r["generations"]["scores"]} for r in generated]}


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
    if data.get("generations"):
        parts.append(_generations_html(data["generations"], axes))
    if plotted:
        parts.append(f"<h2>{escape(metric)} against time</h2><img src='{PLOT}' alt='value against time'>")
    return "".join(parts) + "</body></html>\n"


def _generations_html(table: Mapping[str, Any], axes: Sequence[str]) -> str:
    """The side-by-side table: a prompt per row, a combination's text and score per column."""
    from engine.report.text import number

    columns = table["columns"]
    head = "".join(f"<th>#{c['index'] + 1} {escape(', '.join(c['values'][a] for a in axes))}</th>" for c in columns)
    body = []
    for i, prompt in enumerate(table["prompts"]):
        cells = "".join(
            f"<td>{escape(str(_at(c['texts'], i)))}<br>"
            f"<small>score {escape(number(_at(c['scores'], i), 4))}</small></td>" for c in columns)
        body.append(f"<tr><td>{escape(str(prompt))}</td>{cells}</tr>")
    shown = len(table["prompts"])
    note = f" (the first {shown:,} of {table['rows']:,})" if shown < table["rows"] else ""
    return (f"<h2>Generations per prompt{note}</h2><table><tr><th>{escape(table['prompt_column'])}</th>{head}</tr>"
            f"{''.join(body)}</table>")


def _at(values: Sequence[Any], i: int) -> Any:
    return values[i] if i < len(values) else None


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
