"""`hookyard sweep PIPELINE.toml --set a.b=x,y ...`: run every combination of the swept settings and
compare them in one report (sweep.html, sweep.json), the steps before the first swept one shared."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from engine.cli.output import stdout_to_stderr
from engine.errors import OptionError

EPILOG = """\
examples:
  hookyard sweep examples/uplift.toml --set cate.name=dml,econml-linear-dml --set solver.name=mckp,pulp
  hookyard sweep examples/uplift.toml --set cate.options.cv=2,3 --jobs 2 --metric lift_true_pct
  hookyard sweep examples/uplift.toml --set 'source.layout="per-treatment",pooled' --out /tmp/sweep

metrics (--metric): value_estimated (default), value_dr_per_row, value_true, lift_estimated_pct,
lift_dr_pct, lift_true_pct, share_of_oracle_pct (more is better); pehe_mean, gap_rel, seconds (less
is better). The _dr figures are the report's doubly robust evaluation, which needs no true effects.
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from engine.sweep import MAX_RUNS

    parser = sub.add_parser(
        "sweep", parents=[common], help="run every combination of settings and compare them",
        description="Run a pipeline once per combination of the swept settings: a --set value with commas "
        "(A,B,...) is a list, and the lists expand to their cartesian product (quote a value to keep a "
        "comma: 'x=\"a,b\"'). Every combination is validated before anything runs. The steps before the "
        "first swept step run once and their table is shared. A failing combination is recorded as failed "
        "and the others go on. The comparison (sweep.html, sweep.json, a plot, and under runs/NNN/ each "
        "combination's report and the files its sinks wrote) appears whole in --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline", help="the pipeline's TOML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="STEP.FIELD=A,B,...",
                        help="a setting and its values, as `hookyard run --set` takes one (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="run N combinations at once: in processes, or as tasks on the pipeline's Ray cluster "
                        "when its executor is ray")
    parser.add_argument("--metric", default="value_estimated", help="the figure that picks the best combination")
    parser.add_argument("--max-runs", type=int, metavar="N", help=f"allow up to N combinations (default {MAX_RUNS:,})")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failing combination")
    parser.add_argument("--out", metavar="DIR", help="the comparison's folder (default runs/PIPELINE-NAME/sweep)")
    parser.add_argument("--json", action="store_true", help="print the comparison (less the figures) on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.report import require_matplotlib
    from engine.atomic import marked_folder
    from engine.sweep import plan_sweep
    from engine.sweep_ray import cluster, on_ray
    from engine.sweep_report import check_out, comparison, write
    from engine.sweep_runs import ENV_SWEEP, METRICS, run_all

    if args.metric not in METRICS:
        raise OptionError(f"--metric {args.metric!r} is not a sweep figure; choose one of {', '.join(METRICS)}")
    if args.jobs < 1 or (args.max_runs is not None and args.max_runs < 1):
        raise OptionError("--jobs and --max-runs take a whole number of at least 1")
    require_matplotlib()
    plan = plan_sweep(args.pipeline, args.overrides, max_runs=args.max_runs)
    name = str(plan.document.get("pipeline", {}).get("name", Path(args.pipeline).stem))
    out = check_out(args.out or f"runs/{name}/sweep")
    os.environ[ENV_SWEEP] = uuid.uuid4().hex[:12]
    say = _say(args)
    say(f"sweep: {len(plan.combinations)} combinations of {', '.join(a.target for a in plan.axes)}")
    ran = {"jobs": args.jobs, "on": "ray" if on_ray(plan) else "processes" if args.jobs > 1 else "this process"}
    with stdout_to_stderr():
        with marked_folder(out, "sweep") as fresh:
            with cluster(plan):
                table, facts, shared = _shared(plan, say)
                rows = run_all(plan, table, fresh, jobs=args.jobs, fail_fast=args.fail_fast,
                               shared_seconds=shared["seconds"], facts=facts, on_row=lambda row: say(_line(row)))
            data = comparison(name, [a.target for a in plan.axes], shared, rows, args.metric, ran)
            write(fresh, data)
        _committed(plan, name, out, data, rows)
    if args.json:
        print(json.dumps({**data, "runs": [{k: v for k, v in r.items() if k != "figures"} for r in data["runs"]]},
                         indent=2, default=str))
    elif not args.quiet:
        best = data["best"]
        print(f"comparison: {out / 'sweep.html'}")
        if best is not None:
            print(f"best by {args.metric}: #{best + 1} {plan.combinations[best].label} "
                  f"({rows[best]['metrics'][args.metric]:.6g})")
    return 1 if any(r["status"] != "ok" for r in rows) else 0


def _shared(plan: Any, say: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Run the shared steps once: their table, their facts and what the comparison says of them."""
    prefix = plan.prefix()
    if prefix is None:
        say("shared: no steps (the first step is swept, or the pipeline fits on a sample or a model)")
        return None, {}, {"steps": [], "seconds": 0.0, "run_id": None}
    from engine.sweep_runs import ENV_VALUES

    os.environ[ENV_VALUES] = json.dumps({"shared": ",".join(plan.shared_ids)})
    started = time.perf_counter()
    result = prefix.run()
    seconds = time.perf_counter() - started
    say(f"shared: {', '.join(plan.shared_ids)} ran once ({seconds:.2f}s, {result.table.num_rows:,} rows)")
    return result.table, result.flow.facts, {"steps": plan.shared_ids, "seconds": seconds, "run_id": result.run_id,
                          "rows": result.table.num_rows}


def _committed(plan: Any, name: str, out: Path, data: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Once the sweep folder is in place, tell the observers where each finished combination's outputs
    and report are, with its figures, then the sweep's own (its id as the run id, the comparison's folder)."""
    from engine.events import OutputsCommitted
    from engine.sweep_runs import ENV_SWEEP, run_folder

    events = plan.pipeline(plan.combinations[0]).registry.events
    for row, combination in zip(rows, plan.combinations):
        if row["status"] == "ok":
            report = str(run_folder(out, combination) / "report")
            written = tuple(str(out / o) if not os.path.isabs(o) else o for o in row["outputs"])
            events.outputs_committed(event=OutputsCommitted(row["run_id"], name, (*written, report), report,
                                                            row["figures"]))
    best = data["best"]
    figures = {"best": {"combination": best + 1, **rows[best]["metrics"]}} if best is not None else {}
    events.outputs_committed(event=OutputsCommitted(os.environ[ENV_SWEEP], name, (str(out),), str(out), figures))


def _line(row: dict[str, Any]) -> str:
    values = ", ".join(f"{k}={v}" for k, v in row["values"].items())
    if row["status"] != "ok":
        return f"  #{row['index'] + 1} {values}: {row['status']}{': ' + row['error'] if 'error' in row else ''}"
    return f"  #{row['index'] + 1} {values}: ok in {row['seconds']:.2f}s"


def _say(args: argparse.Namespace) -> Any:
    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)
    return say
