"""`hookyard solve`: run one assignment problem through several solvers and compare them."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from typing import Any

from engine.cli.output import stdout_to_stderr
from engine.cli.problem_file import MAX_ARRAY_BYTES, read_problem_file
from engine.errors import DataError, OptionError

DEFAULT_SOLVERS = ("mckp", "naive", "ortools", "pulp")

EPILOG = """\
problem files:
  .npz   arrays 'values' (units x treatments), 'costs' (one per treatment, or units x treatments)
         and 'budget'; optional 'budget_sense' ('<=' or '=='), 'min_count', 'max_count'
         (one per treatment, NaN for none), 'objective' ('net' or 'value'), 'allow_none'
  .json  one object with the same keys, arrays as (nested) lists (at most 64 MiB)
  Each array of an .npz may hold at most 1 GiB. A '<=' budget above what every unit's dearest
  treatment costs in all (inf included) does not bind: it is shown as that total.

examples:
  hookyard solve --generate 30000 3 --budget-sense ==
  hookyard solve problem.npz --solver mckp --solver ortools:backend=cp-sat --time-limit 30 --json
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "solve", parents=[common], help="compare solvers on one assignment problem",
        description="Solve one assignment problem, read from a file or generated with a seed, with several "
        "solvers by name, and print each one's objective, proven bound, gap and time.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("problem", nargs="?", help="a .npz or .json problem file (or use --generate)")
    parser.add_argument("--generate", nargs=2, type=int, metavar=("UNITS", "TREATMENTS"),
                        help="generate a problem shaped like the seed article's: costs 0.1, 0.2, ... per treatment")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --generate (default 0)")
    parser.add_argument("--budget", type=float, help="budget (default for --generate: UNITS / 10)")
    parser.add_argument("--budget-sense", choices=("<=", "=="), help="spend at most, or exactly, the budget")
    parser.add_argument("--solver", dest="solvers", action="append", metavar="NAME[:KEY=VALUE,...]",
                        help=f"a solver and its options, values read as JSON (repeatable; default: "
                        f"{' '.join(DEFAULT_SOLVERS)}, less those without count limits when the problem has them)")
    parser.add_argument("--time-limit", type=float, help="seconds (> 0), for every solver with a time_limit option")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.kinds.solver import AssignmentProblem, check_time_limit

    time_limit = check_time_limit(args.time_limit, "--time-limit")
    fields = problem_fields(args)
    try:
        problem = AssignmentProblem(**fields)
    except DataError as exc:
        raise DataError(f"{args.problem}: {exc}") if args.problem else exc from None
    with stdout_to_stderr() if args.json else contextlib.nullcontext():
        rows = [solve_one(spec, problem, time_limit) for spec in args.solvers or default_solvers(problem)]
    n, k = problem.shape
    if args.json:
        print(json.dumps({"units": n, "treatments": k, "budget": problem.budget,
                          "budget_sense": problem.budget_sense, "results": rows}, indent=2))
    else:
        print(f"{n:,} units x {k} treatments, {budget_line(float(fields['budget']), problem)}")
        print(format_table(rows))
    return 0


def budget_line(given: float, problem: Any) -> str:
    """The budget solved for, and the one given where that was lowered (a '<=' budget above what any
    plan can spend)."""
    line = f"budget {problem.budget:g} ({problem.budget_sense})"
    return line if given == problem.budget else f"{line}: {given:g} was given, more than any plan can spend"


def default_solvers(problem: Any) -> tuple[str, ...]:
    """The default comparison: every default solver, or where the problem has count limits, those that
    declare they honour them (the others would only refuse)."""
    import engine

    if not problem.has_count_limits:
        return DEFAULT_SOLVERS
    return tuple(name for name in DEFAULT_SOLVERS
                 if "count_limits" in engine.plugin_info("solver", name).registration.capabilities)


def problem_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The problem's fields from the file named, or generated; --budget and --budget-sense override either."""
    if (args.problem is None) == (args.generate is None):
        raise OptionError("give a problem file or --generate UNITS TREATMENTS (one of them)")
    fields = read_problem_file(args.problem) if args.problem else generate(*args.generate, seed=args.seed)
    if args.budget is not None:
        fields["budget"] = args.budget
    if args.budget_sense is not None:
        fields["budget_sense"] = args.budget_sense
    missing = {"values", "costs", "budget"} - set(fields)
    if missing:
        raise DataError(f"the problem lacks {sorted(missing)}; see `hookyard solve --help` for the file format")
    return fields


def generate(units: int, treatments: int, *, seed: int) -> dict[str, Any]:
    """A seeded problem shaped like the seed article's: effects around 0.5-1.5, costs 0.1 per treatment step.
    At most MAX_ARRAY_BYTES of values, as for a problem file."""
    import numpy as np

    if units < 1 or treatments < 1:
        raise OptionError("--generate needs at least one unit and one treatment")
    most = MAX_ARRAY_BYTES // 8
    if units * treatments > most:
        raise OptionError(f"--generate {units} {treatments} asks for {units * treatments:,} values; at most {most:,} "
                          "(1 GiB of float64) are generated: give fewer units or treatments")
    if seed < 0:
        raise OptionError(f"--seed must be a whole number >= 0, got {seed}")
    rng = np.random.default_rng(seed)
    lift = np.linspace(0.5, 1.0, treatments)
    values = rng.gamma(4.0, 0.25, size=(units, 1)) * lift + rng.normal(0.0, 0.2, size=(units, treatments))
    return {"values": values, "costs": np.arange(1, treatments + 1) / 10, "budget": units / 10}


def solve_one(spec: str, problem: Any, time_limit: float | None) -> dict[str, Any]:
    """Build the solver `spec` names ("name:key=value,..."), solve, and return its summary row."""
    import engine
    from engine.options import declared_options
    from engine.registry import default_registry

    name, options = parse_spec(spec)
    if time_limit is not None and "time_limit" in declared_options(default_registry().factory("solver", name)):
        options.setdefault("time_limit", time_limit)
    solver = engine.solver(name, **options)
    started = time.perf_counter()
    result = solver.solve(problem)
    return {"solver": spec, **result.summary(), "seconds": time.perf_counter() - started}


def parse_spec(spec: str, flag: str = "--solver") -> tuple[str, dict[str, Any]]:
    """'ortools:backend=cp-sat,threads=4' -> ('ortools', {'backend': 'cp-sat', 'threads': 4})."""
    name, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, eq, text = item.partition("=")
        if not eq:
            raise OptionError(f"{flag} {spec!r}: options are KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            options[key.strip()] = text
    return name.strip(), options


def format_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width comparison table, one line per solver."""
    def num(value: Any, spec: str) -> str:
        return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    head = f"{'solver':<28} {'status':<11} {'objective':>16} {'bound':>16} {'gap (rel)':>10} {'build s':>8} {'solve s':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['solver']:<28} {r['status']:<11} {num(r['objective'], ',.6f'):>16} {num(r['bound'], ',.6f'):>16} "
            f"{num(r['gap_rel'], '.2e'):>10} {r['build_seconds']:>8.3f} {r['solve_seconds']:>8.3f}"
        )
    notes = [f"  {r['solver']}: {r['message']}" for r in rows if r["message"]]
    return "\n".join(lines + notes)
