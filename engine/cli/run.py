"""`hookyard run PIPELINE.toml`: run a pipeline file, then write its report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from engine import commit
from engine.cli.output import stdout_to_stderr


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "run", parents=[common], help="run a pipeline file",
        description="Run a pipeline file. Steps are validated first and every problem reported at "
        "once; nothing runs until the whole pipeline is valid. After a successful run the report "
        "(report.html, report.json and plots) is written to the folder the file's [pipeline] report "
        "names, or --report. The sinks' outputs and the report take their places together, only once all "
        "of them have been written: a failing step or report, or a killed run, changes none of them; a "
        "second run writing into the same folders meanwhile fails at once.",
        epilog="examples:\n  hookyard run examples/uplift.toml\n"
        "  hookyard run examples/uplift.toml --set solver.name=pulp --set cate.name=econml-linear-dml\n"
        "  hookyard run examples/uplift.toml --set source.n=2000 --set solver.params.budget=600 "
        "--report /tmp/uplift-report --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline", help="the pipeline's TOML file")
    add_set_argument(parser)
    add_output_arguments(parser)
    parser.set_defaults(handler=run)


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """--set STEP.FIELD=VALUE, shared by the commands that build a pipeline."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="STEP.FIELD=VALUE",
                        help="change a setting without editing the file: STEP.name=PLUGIN, STEP.options.KEY=VALUE "
                        "(or STEP.KEY=VALUE), STEP.params.KEY=VALUE, pipeline.KEY=VALUE (e.g. "
                        "pipeline.executor.options.batch_size=131072); values are read as TOML (repeatable)")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--json, --report DIR and --no-report, shared by the commands that run a pipeline."""
    parser.add_argument("--json", action="store_true",
                        help="print a JSON summary of the run (and the report's figures) on stdout")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--report", metavar="DIR",
                       help="write the run report into DIR (replacing an earlier report there) instead of the "
                       "folder the file's [pipeline] report names")
    where.add_argument("--no-report", action="store_true", help="write no report")


def run(args: argparse.Namespace) -> int:
    from engine.config import load_pipeline

    return run_and_report(load_pipeline(args.pipeline, args.overrides), args)


def run_and_report(pipeline: Any, args: argparse.Namespace) -> int:
    """Check and run `pipeline`, write its report where `args` say, print the summary (`run`, `apply`).
    The run's outputs and its report commit together, only once both have succeeded (`engine.commit`)."""
    pipeline.check()
    folder = None if args.no_report else (args.report or pipeline.report)
    collect = 0
    if folder:
        from engine.report import ROWS, check_target, require_matplotlib

        require_matplotlib()
        check_target(folder)
        collect = ROWS
    report = None
    with stdout_to_stderr(), commit.outputs(*([os.path.dirname(os.path.abspath(folder))] if folder else [])):
        result = pipeline.run(collect=collect)
        if folder:
            from engine.report import build_report

            report = build_report(result, pipeline)
            report.write(folder)
    summary = summarize(result)
    if report is not None:
        summary["report"] = {"folder": str(folder), "figures": report.figures}
    _committed(pipeline, summary)
    if args.json:
        from engine.report import strict

        print(json.dumps(strict(summary), indent=2, default=str))
    elif not args.quiet:
        _print(summary, result)
    return 0


def _committed(pipeline: Any, summary: dict[str, Any]) -> None:
    """Tell the observers the run's outputs are in place (`engine.events.OutputsCommitted`)."""
    from engine.events import OutputsCommitted

    report = summary.get("report") or {}
    written = tuple(str(o["location"]) for o in summary["outputs"] if o.get("location"))
    written += (report["folder"],) if report else ()
    pipeline.registry.events.outputs_committed(event=OutputsCommitted(
        summary["run_id"], pipeline.name, written, report.get("folder"), report.get("figures") or {}))


def _print(summary: dict[str, Any], result: Any) -> None:
    """Timings on stderr; where the outputs went and the headline figures on stdout."""
    from engine.report.text import summary_lines

    for step in summary["steps"]:
        rows = "" if step["rows_out"] is None else f"{step['rows_out']:>10,} rows"
        print(f"{step['step']:<12} {step['kind']:<8} {step['name']:<20} {step['seconds']:>8.3f}s {rows}",
              file=sys.stderr)
    print(f"done in {result.seconds:.2f}s (run {result.run_id})", file=sys.stderr)
    for output in summary["outputs"]:
        print(f"wrote {output['rows']:,} rows to {output['location']}")
    if "report" in summary:
        print(f"report: {os.path.join(summary['report']['folder'], 'report.html')}")
        for line in summary_lines(summary["report"]["figures"]):
            print(line)


def summarize(result: Any) -> dict[str, Any]:
    """A JSON-ready account of a run: what ran, how long, how many rows, where it wrote, and the flow's facts."""
    from engine.report import outputs

    return {
        "run_id": result.run_id,
        "seconds": round(result.seconds, 6),
        "steps": [
            {"step": r.step, "kind": r.kind, "name": r.name, "distribution": r.distribution,
             "version": r.version, "seconds": round(r.seconds, 6), "rows_in": r.rows_in, "rows_out": r.rows_out}
            for r in result.steps
        ],
        "outputs": outputs(result.flow),
        "facts": {k: v for k, v in result.flow.facts.items() if _jsonable(v)},
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
