"""The `hookyard` command: each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence

from engine.errors import ConfigError, HookyardError, shorten

COMMANDS = ("plugins", "show", "run", "fit", "apply", "validate", "solve", "sweep", "new-plugin")

DESCRIPTION = """\
Hookyard composes decision and text-generation pipelines from plugins chosen by name.

Plugins come in seven kinds (encoder, decoder, cate, solver, source, sink, and the executor that
runs a pipeline) and are found through the 'hookyard' entry-point group of every installed
distribution. Pipelines stream: `fit` a model once on an experiment, `apply` it to any number of rows.

environment:
  HOOKYARD_LOAD_PLUGINS     comma-separated distributions to load besides the built-ins
                            (set but empty: built-ins only)
  HOOKYARD_DISABLE_PLUGINS  comma-separated distributions (or entry-point names) to skip;
                            'hookyard' skips every built-in plugin
  HOOKYARD_STRICT_PLUGINS   1: a plugin that fails to load, a name claimed by two distributions,
                            a misspelt name in these variables or an observer whose event hook
                            raises is an error, not a warning
"""


def _common(suppress: bool) -> argparse.ArgumentParser:
    default = argparse.SUPPRESS if suppress else False
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")
    parent.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars or notes on stderr")
    parent.add_argument("-C", "--chdir", metavar="DIR", default=argparse.SUPPRESS if suppress else None,
                        help="run as if started in DIR. Relative paths in a pipeline file (sources, sinks, "
                        "report, model) resolve against the current folder, not the file's: give -C to run a "
                        "file written for another folder")
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
        importlib.import_module(f"engine.cli.{name.replace('-', '_')}").add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
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
        _refuse_nul(argv)
        _enter(args.chdir)
        _check_registry()
        status = int(args.handler(args) or 0)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except HookyardError as exc:
        return _fail(args, exc, "error")
    except KeyboardInterrupt:
        print("hookyard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _fail(args, exc, f"unexpected {type(exc).__name__} (a bug; please report it)")


def _refuse_nul(argv: Sequence[str]) -> None:
    """No argument may hold a NUL byte: no path (the pipeline file, --report, --chdir) can, and
    the operating system would refuse it only later, as a bare ValueError."""
    for arg in argv:
        if "\0" in arg:
            raise ConfigError(f"the argument {shorten(repr(arg))} holds a NUL byte, which no path or name can hold; remove it")


def _enter(folder: str | None) -> None:
    """`--chdir`: make `folder` the working folder, or say why it cannot be."""
    if folder is None:
        return
    try:
        os.chdir(folder)
    except OSError as exc:
        raise ConfigError(f"--chdir {folder!r}: {exc.strerror}; give an existing folder") from None


def _check_registry() -> None:
    """In strict mode, report a registry problem (a plugin that fails to load, a name conflict)
    once, as itself, before a command blames it on whatever plugin it asks for first."""
    from engine.registry import default_registry

    registry = default_registry()
    if registry.strict:
        registry.check()


def _stdout_closed() -> int:
    """The reader of stdout went away (`hookyard plugins | head`): stop quietly, as Unix tools
    do, with the status of a process ended by SIGPIPE. Stdout is pointed at /dev/null so that
    the interpreter's final flush does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + getattr(signal, "SIGPIPE", 13)


def _fail(args: argparse.Namespace, exc: BaseException, label: str) -> int:
    if args.debug:
        traceback.print_exception(exc)
    else:
        print(f"hookyard: {label}: {bounded(str(exc))}", file=sys.stderr)
        cause = exc.__cause__
        if cause is not None and str(cause) not in str(exc):
            print(f"  caused by {type(cause).__name__}: {bounded(str(cause))}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(f"  {bounded(note)}", file=sys.stderr)
        print("  (rerun with --debug for the traceback)", file=sys.stderr)
    return 1


MAX_LINES, MAX_LINE = 40, 1000
"""The most lines of one error or warning shown, and the most characters of each; --debug shows all."""


def bounded(message: str) -> str:
    """`message` cut to MAX_LINES lines of bounded length, saying what was left out, so that an error
    quoting a huge value (an option list of millions) stays a readable line or two."""
    lines = message.split("\n")
    shown = [shorten(line, MAX_LINE) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"  ... and {len(lines) - MAX_LINES:,} more lines (rerun with --debug to see them all)")
    return "\n".join(shown)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"hookyard: warning: {bounded(str(message))}", file=sys.stderr)
