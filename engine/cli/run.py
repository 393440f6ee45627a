"""`hookyard run PIPELINE.toml`: run a pipeline file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "run", parents=[common], help="run a pipeline file",
        description="Run a pipeline file. Steps are validated first and every problem reported at "
        "once; nothing runs until the whole pipeline is valid.",
        epilog="examples:\n  hookyard run examples/quickstart.toml\n"
        "  hookyard run examples/uplift.toml --set solver.name=pulp --set cate.name=econml-linear-dml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline", help="the pipeline's TOML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="STEP.FIELD=VALUE",
                        help="change a setting without editing the file: STEP.name=PLUGIN, STEP.options.KEY=VALUE "
                        "(or STEP.KEY=VALUE), STEP.params.KEY=VALUE; values are read as TOML (repeatable)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary of the run on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.config import load_pipeline

    pipeline = load_pipeline(args.pipeline, args.overrides)
    result = pipeline.run()
    summary = summarize(result)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.quiet:
        for step in summary["steps"]:
            rows = "" if step["rows_out"] is None else f"{step['rows_out']:>10,} rows"
            print(f"{step['step']:<12} {step['kind']:<8} {step['name']:<20} {step['seconds']:>8.3f}s {rows}",
                  file=sys.stderr)
        print(f"done in {result.seconds:.2f}s (run {result.run_id})", file=sys.stderr)
    return 0


def summarize(result: Any) -> dict[str, Any]:
    """A JSON-ready account of a run: what ran, how long, how many rows, and the flow's facts."""
    return {
        "run_id": result.run_id,
        "seconds": round(result.seconds, 6),
        "steps": [
            {"step": r.step, "kind": r.kind, "name": r.name, "distribution": r.distribution,
             "version": r.version, "seconds": round(r.seconds, 6), "rows_in": r.rows_in, "rows_out": r.rows_out}
            for r in result.steps
        ],
        "facts": {k: v for k, v in result.flow.facts.items() if _jsonable(v)},
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
