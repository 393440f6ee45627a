"""`hookyard apply DIR --source ... --sink ...`: score new data with a model bundle, optionally assign."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.run import add_output_arguments, add_set_argument, run_and_report


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "apply", parents=[common], help="score new data with a model bundle, then assign and write it",
        description="Build a pipeline from a model bundle (`hookyard fit --model DIR`): the --source, the "
        "bundle's fitted steps (encoder, CATE estimator) in their order, an optional --solver step, and the "
        "--sink. It streams: memory is bounded by the batch size, not by the data, and the solver keeps only "
        "the effect (and cost) columns. The source's columns are checked against those the bundle was "
        "fitted on before anything runs.",
        epilog="examples:\n"
        "  hookyard apply runs/uplift-model --source duckdb:path=customers.parquet "
        "--sink parquet:path=runs/assignment.parquet\n"
        "  hookyard apply runs/uplift-model --source duckdb:path=customers.parquet --solver mckp \\\n"
        "      --set solver.params.budget=30000 --set 'solver.params.costs=[0.1, 0.2, 0.3]' "
        "--sink parquet:path=runs/assignment.parquet --no-report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="the bundle folder written by `hookyard fit --model`")
    parser.add_argument("--source", required=True, metavar="NAME[:KEY=VALUE,...]",
                        help="the source of the rows to score, with its options (e.g. duckdb:path=base.parquet)")
    parser.add_argument("--sink", required=True, metavar="NAME[:KEY=VALUE,...]",
                        help="where the scored rows go (e.g. parquet:path=scored.parquet)")
    parser.add_argument("--solver", metavar="NAME[:KEY=VALUE,...]",
                        help="assign treatments after scoring; give its params with --set solver.params.KEY=VALUE "
                        "(budget, costs, budget_sense, ...)")
    add_set_argument(parser)
    add_output_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.bundle import load_bundle
    from engine.config import apply_override, from_dict

    bundle = load_bundle(args.model)
    document = apply_document(args.model, bundle, args.source, args.sink, args.solver)
    for override in args.overrides:
        apply_override(document, override)
    return run_and_report(from_dict(document, source=f"hookyard apply {args.model}"), args)


def apply_document(model: str, bundle: Any, source: str, sink: str, solver: str | None) -> dict[str, Any]:
    """The pipeline `apply` runs, in the parsed form of a pipeline file."""
    from engine.cli.solve import parse_spec

    def step(kind: str, spec: str, flag: str) -> dict[str, Any]:
        name, options = parse_spec(spec, flag)
        return {"id": kind, "kind": kind, "name": name, "options": options}

    fitted = [{"id": s.id, "kind": s.kind, "name": s.name} for s in bundle.steps]
    steps = [step("source", source, "--source"), *fitted]
    if solver:
        steps.append(step("solver", solver, "--solver"))
    steps.append(step("sink", sink, "--sink"))
    head = (bundle.pipeline or {}).get("pipeline", {})
    name = f"{head.get('name', 'pipeline')}-apply"
    return {"pipeline": {"name": name, "model": model}, "steps": steps}
