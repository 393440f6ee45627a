"""report.html: the report's data as a page a person reads, the plots beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from engine.report.text import headline_sentence, number

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.headline { font-size: 1.2rem; background: #f3f6fb; padding: 0.8rem 1rem; border-radius: 6px; }
img { max-width: 100%; }
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _plans(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    truth = any("true" in plan for _, plan in entries)
    header = ["plan", "status", "treated", "cost", "estimated value", *(["true value"] if truth else [])]
    rows = [[label, p["status"], number(p["treated"]), number(p["cost"]), number(p["estimated"]),
             *([number(p.get("true"))] if truth else [])] for label, p in entries]
    return _table(header, rows)


def render(data: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    """The whole page; sections appear for the figures `data` has."""
    figures = data["figures"]
    title = f"Hookyard report: {data['pipeline']}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"]
    sampled = figures.get("sampled")
    if sampled:
        parts.append(f"<p class='headline'>Sampled: {escape(sampled['note'])}.</p>")
    headline = figures.get("headline")
    if headline:
        sentence = headline_sentence(headline)
        parts.append(f"<p class='headline'>{escape(sentence[0].upper() + sentence[1:])}.</p>")
        parts.append(f"<p>{number(headline['rows'])} rows; treatments {escape(', '.join(headline['treatments']))} "
                     f"costing {escape(str(headline['costs']))}. Naive is the seed article's baseline: every unit's "
                     "treatment with the largest estimated effect, then units by that effect until the budget "
                     "is spent (at most the budget).</p>")
        parts.append(_plans([(headline["optimised"]["solver"], headline["optimised"]), ("naive", headline["naive"])]))
    cate = figures.get("cate")
    if cate:
        parts.append("<h2>Estimated effects</h2>")
        rows = [[t, number(cate["mean_estimated"][t], 4), number(cate.get("mean_true", {}).get(t), 4),
                 number(cate.get("pehe", {}).get(t), 4)] for t in cate["treatments"]]
        parts.append(_table(["treatment", "mean estimated", "mean true", "PEHE"], rows))
        if "cate" in plots:
            parts.append(f"<img src='{escape(plots['cate'])}' alt='estimated against true effect per treatment'>")
    overlap = figures.get("overlap")
    if overlap:
        parts.append("<h2>Overlap</h2>")
        parts.append("<p>The estimator's out-of-fold propensity of each treatment, over its treated rows and "
                     "the control rows; where one arm has no rows the effects there are extrapolated.</p>")
        parts.append(_table(["treatment", "propensities clipped"],
                            [[arm, f"{100 * h['clipped_share']:.1f}%"] for arm, h in overlap.items()]))
        if "overlap" in plots:
            parts.append(f"<img src='{escape(plots['overlap'])}' alt='propensity histograms per treatment'>")
    solver = figures.get("solver")
    if solver:
        parts.append("<h2>Solver</h2>")
        keys = ("backend", "status", "objective", "bound", "gap_abs", "gap_rel", "total_cost", "message")
        parts.append(_table(["", "value"], [[k, number(solver.get(k), 6)] for k in keys if k in solver]))
    frontier = figures.get("frontier")
    if frontier:
        parts.append("<h2>Value against budget</h2>")
        parts.append(f"<p>Other budgets re-solved with {escape(frontier['solver'])}; the run's budget shows the run's own plan.</p>")
        if "frontier" in plots:
            parts.append(f"<img src='{escape(plots['frontier'])}' alt='value-budget frontier'>")
        rows = [[number(p["budget"]), *(number(p[plan].get(k)) for plan in ("optimised", "naive")
                                        for k in ("estimated", "true"))] for p in frontier["points"]]
        parts.append(_table(["budget", "optimised estimated", "optimised true", "naive estimated", "naive true"], rows))
    oracle = figures.get("oracle")
    if oracle:
        parts.append("<h2>Against the oracle</h2>")
        parts.append(f"<p>The oracle is the {escape(oracle['solver'])} plan made from the true effects. On the "
                     f"true {escape(oracle['objective'])} objective the run's plan reaches "
                     f"{number(oracle['share_of_oracle_pct'], 1)}% of it (regret {number(oracle['regret'])}).</p>")
        parts.append(_plans([("the run's plan", oracle["plan"]), ("oracle", oracle["oracle"])]))
    parts.append("<h2>What ran</h2>")
    run = data["run"]
    rows = [[s["step"], s["kind"], s["name"], s["distribution"], s["version"], number(s["seconds"], 3),
             number(s["rows_in"]), number(s["rows_out"])] for s in run["steps"]]
    parts.append(_table(["step", "kind", "plugin", "distribution", "version", "seconds", "rows in", "rows out"], rows))
    parts.append(f"<p>Run {escape(run['id'])}: {number(run['seconds'], 2)} s; report {number(run['report_seconds'], 2)} s.</p>")
    for output in data["outputs"]:
        parts.append(f"<p>Wrote {number(output['rows'])} rows to {escape(output['location'])} ({escape(output['format'])}).</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
