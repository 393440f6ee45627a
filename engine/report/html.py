"""report.html: the report's data as a page a person reads, the plots beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from engine.report.text import dr_sentence, headline_sentence, number

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.headline { font-size: 1.2rem; background: #f3f6fb; padding: 0.8rem 1rem; border-radius: 6px; }
img { max-width: 100%; height: auto; }
figure { margin: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 0.9rem; color: #555; }
.wide { overflow-x: auto; }
pre { background: #f6f6f6; padding: 0.6rem; white-space: pre-wrap; word-break: break-word; font-size: 0.85rem; }
h2 { break-after: avoid; page-break-after: avoid; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  table { font-size: 8.5pt; break-inside: auto; }
  tr { break-inside: avoid; }
  .wide { overflow: visible; }
}
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>"


def _figure(plots: Mapping[str, str], key: str, caption: str) -> str:
    """A plot beside the page, linked by its relative file name, or nothing when it was not drawn."""
    if key not in plots:
        return ""
    return f"<figure><img src='{escape(plots[key])}' alt='{escape(caption)}'><figcaption>{escape(caption)}</figcaption></figure>"


def _interval(estimate: Mapping[str, Any] | None, digits: int = 4) -> str:
    if estimate is None:
        return "—"
    return f"{number(estimate['value'], digits)} [{number(estimate['lower'], digits)}, {number(estimate['upper'], digits)}]"


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
        parts.append(_figure(plots, "cate", "Estimated against true effect per treatment"))
    overlap = figures.get("overlap")
    if overlap:
        parts.append("<h2>Overlap</h2>")
        parts.append("<p>The estimator's out-of-fold propensity of each treatment, over its treated rows and "
                     "the control rows; where one arm has no rows the effects there are extrapolated.</p>")
        parts.append(_table(["treatment", "propensities clipped"],
                            [[arm, f"{100 * h['clipped_share']:.1f}%"] for arm, h in overlap.items()]))
        parts.append(_figure(plots, "overlap", "Propensity histograms per treatment, treated against control"))
    parts.extend(_drift(figures.get("drift")))
    parts.extend(_generation(figures.get("generation")))
    solver = figures.get("solver")
    if solver:
        parts.append("<h2>Solver</h2>")
        keys = ("backend", "status", "objective", "bound", "gap_abs", "gap_rel", "total_cost", "message")
        parts.append(_table(["", "value"], [[k, number(solver.get(k), 6)] for k in keys if k in solver]))
    frontier = figures.get("frontier")
    if frontier:
        parts.append("<h2>Value against budget</h2>")
        parts.append(f"<p>Other budgets re-solved with {escape(frontier['solver'])}; the run's budget shows the run's own plan.</p>")
        parts.append(_figure(plots, "frontier", "Value-budget frontier"))
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
    parts.extend(_policy_value(figures, plots))
    parts.extend(_qini(figures.get("qini"), plots))
    parts.extend(_calibration(figures.get("calibration"), plots))
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


def _policy_value(figures: Mapping[str, Any], plots: Mapping[str, str]) -> list[str]:
    """What each plan is worth by doubly robust evaluation, with intervals."""
    section = figures.get("policy_value")
    if not section:
        return []
    if "unavailable" in section:
        return ["<h2>Policy value (doubly robust)</h2>",
                f"<p>No doubly robust evaluation on {escape(section['basis'])}: {escape(section['unavailable'])}.</p>"]
    level = f"{100 * section['level']:.0f}%"
    parts = ["<h2>Policy value (doubly robust)</h2>",
             f"<p>Evaluated on {escape(section['basis'])}: {number(section['rows'])} rows in {number(section['folds'])} "
             "folds; each fold's plans come from the estimator refitted on the other folds, with the budget scaled "
             "to the fold's rows, and are scored by AIPW with nuisances fitted on the other folds too, so no "
             f"outcome helps choose or grade its own row's treatment. Values are means per row; intervals are {level}.</p>"]
    sentence = dr_sentence(figures)
    if sentence:
        parts.append(f"<p class='headline'>{escape(sentence[0].upper() + sentence[1:])}.</p>")
    truth = any("true_gain" in p for p in section["plans"].values())
    header = ["plan", "treated", "cost per row", "mean outcome net of cost", "gain over no one", "against naive",
              *(["true gain"] if truth else [])]
    rows = [[name, number(p["treated"]), number(p["cost_per_row"], 4), _interval(p["value"]), _interval(p["gain"]),
             _interval(p["vs_naive"]), *([number(p.get("true_gain"), 4)] if truth else [])]
            for name, p in section["plans"].items()]
    parts.append(_table(header, rows))
    parts.append(_figure(plots, "policy_value", "Gain over treating no one per plan, with its interval"))
    return parts


def _qini(section: Mapping[str, Any] | None, plots: Mapping[str, str]) -> list[str]:
    if not section:
        return []
    rows = [[name, number(c["rows"]), number(c["qini_coefficient"], 5), number(c["auuc"], 5)]
            for name, c in section["treatments"].items()]
    return ["<h2>Qini and uplift curves</h2>",
            f"<p>Per treatment, on its rows and the control's ({escape(section['basis'])}): rows ranked by the "
            "out-of-fold estimated effect; the Qini curve is the treated outcome total less the control's scaled to "
            "the treated count, the cumulative uplift curve the difference in means times the rows targeted. The "
            "coefficients are per row.</p>",
            _table(["treatment", "rows", "Qini coefficient", "AUUC"], rows),
            _figure(plots, "qini", "Qini and cumulative uplift curves per treatment against random targeting")]


def _calibration(section: Mapping[str, Any] | None, plots: Mapping[str, str]) -> list[str]:
    if not section:
        return []
    level = f"{100 * section['level']:.0f}%"
    parts = ["<h2>Calibration</h2>",
             f"<p>Per decile of the out-of-fold predicted effect, the mean prediction against the mean doubly "
             f"robust pseudo-outcome with its {level} interval ({escape(section['basis'])}).</p>",
             _figure(plots, "calibration", "Mean DR pseudo-outcome against mean predicted effect by decile")]
    for name, bins in section["treatments"].items():
        truth = all("true" in b for b in bins)
        rows = [[number(b["decile"]), number(b["rows"]), number(b["predicted"], 4),
                 _interval({"value": b["observed"], "lower": b["lower"], "upper": b["upper"]}),
                 *([number(b["true"], 4)] if truth else [])] for b in bins]
        parts.append(f"<h3>{escape(name)}</h3>")
        parts.append(_table(["decile", "rows", "predicted", "DR pseudo-outcome", *(["true"] if truth else [])], rows))
    return parts


def _drift(section: Mapping[str, Any] | None) -> list[str]:
    if not section:
        return []
    rows = [[c["column"], "; ".join(f"{u['level']} ({number(u['count'])})" for u in c["unseen"]) or "none",
             ", ".join(str(a) for a in c["absent"]) or "none"] for c in section["columns"]]
    verdict = "drifted" if section["drifted"] else "no drift"
    return ["<h2>Encoder drift</h2>",
            f"<p>Over the {number(section['rows'])} rows encoded ({verdict}): levels the encoder never saw in "
            "training (encoded as all zeros) and fitted levels absent here.</p>",
            _table(["column", "unseen levels (rows)", "absent levels"], rows)]


def _generation(section: Mapping[str, Any] | None) -> list[str]:
    if not section:
        return []
    keys = [k for k in ("characters", "words", "steps", "scores") if section.get(k)]
    rows = [[k, *(number(section[k][s], 3) for s in ("mean", "min", "median", "max"))] for k in keys]
    parts = ["<h2>Generations</h2>",
             f"<p>{number(section['sequences'])} sequences"
             + (f", at most {number(section['max_new_tokens'])} new tokens each" if section.get("max_new_tokens") else "")
             + ".</p>", _table(["per sequence", "mean", "min", "median", "max"], rows)]
    if "eos_share" in section:
        parts.append(f"<p>{100 * section['eos_share']:.1f}% of the prompts' decodings ended a sequence with the "
                     "end-of-sequence token (a finished candidate in the trace); the others ran to max_new_tokens. "
                     "Steps are decoding steps per prompt.</p>")
    else:
        parts.append("<p>How many ended with the end-of-sequence token is read from the decoding traces: set the "
                     "decoder step's trace_column param to see it.</p>")
    parts.append("<h3>Sample</h3>")
    for item in section["sample"]:
        text = f"prompt: {item['prompt']}\ngeneration: {item['generation']}"
        if item["score"] is not None:
            text += f"\nscore: {item['score']}"
        if item["trace"]:
            text += f"\n{item['trace']}"
        parts.append(f"<pre>{escape(text)}</pre>")
    return parts
