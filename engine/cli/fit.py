"""`hookyard fit PIPELINE.toml --model DIR`: fit a pipeline's fitting steps once and save them as a bundle."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from engine.cli.output import stdout_to_stderr
from engine.cli.run import add_set_argument

if TYPE_CHECKING:
    from engine.pipeline import Step


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "fit", parents=[common], help="fit a pipeline's encoder and estimator once and save them as a model bundle",
        description="Run a pipeline's source and its fitting steps (encoders, CATE estimators), on all of the "
        "source or on its [pipeline] fit_sample, and write the fitted state as a model bundle: a folder with "
        "manifest.json and one JSON state per fitted step (never pickle). Steps after the last fitting one do "
        "not run. Every plugin to fit is checked to be saveable before anything fits, and the folder appears "
        "whole or not at all. Score new data with `hookyard apply DIR` or a pipeline file with "
        "[pipeline] model = \"DIR\".",
        epilog="examples:\n  hookyard fit examples/uplift-fit.toml --model runs/uplift-model\n"
        "  hookyard fit examples/uplift-fit.toml --model runs/uplift-model --set pipeline.fit_sample=20000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline", help="the pipeline's TOML file")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="the bundle folder to write (an earlier bundle there is replaced; any other folder is refused)")
    add_set_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON summary of the bundle on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.bundle import check_target, fingerprint, require_persistable, save_bundle
    from engine.config import load_pipeline, to_dict
    from engine.errors import ConfigError
    from engine.events import OutputsCommitted

    pipeline = load_pipeline(args.pipeline, args.overrides)
    pipeline.check()
    steps = pipeline.fitting_steps()
    if not steps:
        raise ConfigError(f"{args.pipeline}: no step fits (no encoder or cate step that learns from the data); "
                          "there is nothing to put in a model bundle")
    for step in steps:
        require_persistable(step.kind, step.name, pipeline.registry)
    check_target(args.model)
    with stdout_to_stderr():
        fitted = pipeline.fit()
        folder = save_bundle(args.model, [(_with_params(step, params), plugin) for step, plugin, params in fitted.steps],
                             input_schema=fitted.input_schema, training_rows=fitted.training_rows,
                             fingerprint=fingerprint(fitted.training), pipeline=to_dict(pipeline),
                             registry=pipeline.registry)
    pipeline.registry.events.outputs_committed(
        event=OutputsCommitted(fitted.run_id, pipeline.name, (str(folder),), bundle=str(folder)))
    summary = {"model": str(folder), "steps": [step.id for step, _, _ in fitted.steps],
               "training_rows": fitted.training_rows, "input_columns": fitted.input_schema.names}
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        print(f"fitted {', '.join(summary['steps'])} on {fitted.training_rows:,} rows; "
              f"wrote the model bundle {folder}")
        print(f"it reads the input columns {', '.join(summary['input_columns'])}")
    return 0


def _with_params(step: Step, params: dict[str, Any]) -> Step:
    """The step as fitted: its params resolved (the exact feature columns), for the bundle."""
    import attrs

    return attrs.evolve(step, params=params)
