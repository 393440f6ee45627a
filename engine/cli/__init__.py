"""The `hookyard` command: each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from engine.errors import HookyardError

COMMANDS = ("plugins", "show", "run", "validate", "solve")

DESCRIPTION = """\
Hookyard composes decision and text-generation pipelines from plugins chosen by name.

Plugins come in six kinds (encoder, decoder, cate, solver, source, sink) and are found through
the 'hookyard' entry-point group of every installed distribution.

environment:
  HOOKYARD_LOAD_PLUGINS     comma-separated distributions to load besides the built-ins
                            (set but empty: built-ins only)
  HOOKYARD_DISABLE_PLUGINS  comma-separated distributions (or entry-point names) to skip
  HOOKYARD_STRICT_PLUGINS   1: a plugin that fails to load is an error, not a warning
"""


def _common(suppress: bool) -> argparse.ArgumentParser:
    default = argparse.SUPPRESS if suppress else False
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")
    parent.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars or notes on stderr")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every subcommand registered)."""
    from engine import __version__

    parser = argparse.ArgumentParser(
        prog="hookyard", description=DESCRIPTION, parents=[_common(False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hookyard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common(True)
    for name in COMMANDS:
        importlib.import_module(f"engine.cli.{name}").add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from engine import progress

    progress.set_quiet(bool(args.quiet))
    # OpenMP threads (scikit-learn, LightGBM) that spin while waiting slow a shared or busy machine
    # many times over; sleeping instead costs little when the machine is idle. Users may override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    warnings.showwarning = _show_warning
    try:
        return int(args.handler(args) or 0)
    except HookyardError as exc:
        return _fail(args, exc, "error")
    except KeyboardInterrupt:
        print("hookyard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _fail(args, exc, f"unexpected {type(exc).__name__} (a bug; please report it)")


def _fail(args: argparse.Namespace, exc: BaseException, label: str) -> int:
    if args.debug:
        traceback.print_exception(exc)
    else:
        print(f"hookyard: {label}: {exc}", file=sys.stderr)
        cause = exc.__cause__
        if cause is not None and str(cause) not in str(exc):
            print(f"  caused by {type(cause).__name__}: {cause}", file=sys.stderr)
        print("  (rerun with --debug for the traceback)", file=sys.stderr)
    return 1


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"hookyard: warning: {message}", file=sys.stderr)
