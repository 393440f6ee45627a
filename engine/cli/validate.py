"""`hookyard validate PIPELINE.toml`: check a pipeline file without running it."""

from __future__ import annotations

import argparse

from engine.cli.run import add_set_argument


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "validate", parents=[common], help="check a pipeline file without running it",
        description="Check a pipeline file: its TOML, its kinds and plugin names, the options each "
        "plugin declares, and that each step gets the data it needs. Every problem is reported at once.",
    )
    parser.add_argument("pipeline", help="the pipeline's TOML file")
    add_set_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.config import load_pipeline

    pipeline = load_pipeline(args.pipeline, args.overrides)
    pipeline.check()
    print(f"{args.pipeline}: ok ({len(pipeline.steps)} steps: {' -> '.join(s.id for s in pipeline.steps)})")
    return 0
