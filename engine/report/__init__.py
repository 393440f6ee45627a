"""The run report: after a successful run, what it estimated, planned and is worth, in report.json
and report.html with PNG plots, written into a folder that appears whole or not at all.

    result = pipeline.run()
    report = engine.report.build_report(result, pipeline)
    report.write("runs/uplift/report")
    print(report.data["figures"]["headline"])

Sections appear when the run's facts allow them: effect estimates against the truth (PEHE and a
scatter per treatment), the estimator's overlap (propensity histograms per arm, the share clipped),
the encoder's drift report, the solver's objective, bound and gap, the plan against `naive` at the
run's budget and across budgets, the plan against the oracle, what each plan is worth by doubly robust
evaluation with intervals, Qini and uplift curves, calibration (`engine.report.evaluation`), a batch-
generation run's lengths, scores, EOS share and sample (`engine.report.generation`), and the plugins
that ran. Every number the page shows is in report.json; plots are files beside it. A streamed
run too large to keep every row keeps a seeded sample; the figures drawn from rows then come from
that sample and the report says which ("sampled").
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import attrs

from engine.errors import PluginMissingError
from engine.report.figures import (
    TIMING_KEYS,
    cate_section,
    drift_section,
    overlap_section,
    planning_sections,
    sampled_note,
    solver_section,
)
from engine.report.evaluation import evaluation_sections
from engine.report.generation import generation_section
from engine.atomic import check_marked, marked_folder

SCHEMA = 1
UNMARKED = ("report.json", "report.html", "cate.png", "frontier.png", "overlap.png")
"""The files of a report written before reports held a `.hookyard` marker: a folder of only these is
one, and may be replaced."""
ROWS = 1_000_000
"""The most rows of a run's final table a report works from; past it, a seeded sample of this many."""

__all__ = ["Report", "build_report", "check_target", "outputs", "require_matplotlib", "strict"]


@attrs.frozen(eq=False)
class Report:
    """A built report: JSON-ready `data` (schema, pipeline, run, outputs, figures) and the run's
    final `table`, from which the scatter plots draw."""

    data: dict[str, Any]
    table: Any = None

    @property
    def figures(self) -> dict[str, Any]:
        """The sections whose numbers depend only on the data and settings (the same seed gives the same)."""
        return self.data["figures"]

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write report.json, report.html and the plots into `folder`, replacing an earlier report
        there; on any error nothing changes. Returns the folder."""
        from engine.report import html, plots

        figures = self.figures
        with marked_folder(folder, "report", UNMARKED) as fresh:
            drawn = plots.draw(figures, self.table, fresh)
            data = strict({**self.data, "plots": drawn})
            (fresh / "report.json").write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
            (fresh / "report.html").write_text(html.render(data, drawn), encoding="utf-8")
        return Path(os.path.expanduser(folder))


def strict(value: Any) -> Any:
    """`value` with every NaN or infinite float as None, so that the JSON is strict (what `JSON.parse`
    and other readers accept): a figure that does not exist is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def check_target(folder: str | os.PathLike[str]) -> Path:
    """`folder` as a Path if a report may be written there: new, empty, or an earlier report (its
    `.hookyard` marker says so); otherwise a ConfigError saying why. Nothing else is ever replaced."""
    return check_marked(folder, "report", UNMARKED)


def require_matplotlib() -> None:
    """Raise PluginMissingError with the install hint when the plots cannot be drawn here."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise PluginMissingError("the run report draws its plots with matplotlib: pip install 'hookyard[report]'")


def build_report(result: Any, pipeline: Any = None) -> Report:
    """The report of a successful run (`engine.pipeline.RunResult`). With the `pipeline` that ran,
    the plan is also re-solved against naive, across budgets and on the true effects."""
    started = time.perf_counter()
    flow = result.flow
    solver_label = next((r.name for r in result.steps if r.kind == "solver"), "solver")
    figures: dict[str, Any] = {}
    for key, section in (("cate", cate_section(flow)), ("overlap", overlap_section(flow)),
                         ("drift", drift_section(flow)), ("solver", solver_section(flow)),
                         ("generation", generation_section(flow, pipeline))):
        if section is not None:
            figures[key] = section
    if pipeline is not None:
        figures.update(planning_sections(flow, pipeline, solver_label))
        figures.update(evaluation_sections(flow, pipeline))
    note = sampled_note(flow, figures)
    if note is not None:
        figures["sampled"] = note
    data = {
        "schema": SCHEMA,
        "pipeline": getattr(pipeline, "name", "pipeline"),
        "run": {
            "id": result.run_id,
            "seconds": result.seconds,
            "report_seconds": time.perf_counter() - started,
            "steps": [attrs.asdict(r) for r in result.steps],
            "solver_seconds": {k: v for k, v in (flow.facts.get("solver") or {}).items() if k in TIMING_KEYS},
        },
        "outputs": outputs(flow),
        "figures": figures,
    }
    return Report(data, flow.table)


def outputs(flow: Any) -> list[dict[str, Any]]:
    """Where the run's sinks wrote (its "written" fact: an `engine.kinds.sink.Written` per sink)."""
    return [attrs.asdict(written) for written in flow.facts.get("written", ())]
