"""`hookyard plugins`: list every plugin, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from engine.kinds import KINDS


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "plugins", parents=[common], help="list installed plugins",
        description="List every plugin the installed distributions register, with its status: "
        "'available', 'missing' (with the pip command that installs what it needs) or 'conflict'. "
        "Listing imports each distribution's entry-point module only, never a plugin's factory.",
    )
    parser.add_argument("--kind", choices=list(KINDS), help="only plugins of this kind")
    parser.add_argument("--json", action="store_true", help="print a JSON array of objects instead of a table")
    parser.add_argument("--check", action="store_true",
                        help="also import every available plugin's factory and report those that do not import "
                        "or do not name a class or function (exit status 1 if any)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.registry import default_registry

    registry = default_registry()
    infos = registry.plugins(args.kind)
    problems = registry.factory_problems(args.kind) if args.check else {}
    if args.json:
        listed = [i.to_dict() for i in infos]
        if args.check:
            for item in listed:
                item["check"] = problems.get((item["kind"], item["name"]), "ok" if item["status"] == "available" else None)
        print(json.dumps(listed, indent=2))
        return 1 if problems else 0
    rows = [("KIND", "NAME", "ALIASES", "STATUS", "DISTRIBUTION", "VERSION", "SUMMARY")]
    for info in infos:
        status = info.status
        if info.status == "missing":
            status = f"missing ({info.install_hint})"
        elif info.status == "conflict":
            status = f"conflict (with {', '.join(info.conflict)})"
        reg = info.registration
        rows.append((reg.kind, reg.name, ",".join(reg.aliases) or "-", status, info.distribution, info.version, reg.summary))
    print(format_table(rows))
    for dist, (version, hooks) in registry.observers().items():
        print(f"observers: {dist} {version} ({', '.join(hooks)})")
    if args.check:
        sys.stdout.flush()
        checked = sum(i.status == "available" for i in infos)
        for problem in problems.values():
            print(f"hookyard: error: {problem}", file=sys.stderr)
        print(f"checked {checked} factories: {len(problems) or 'none'} failed", file=sys.stderr)
    return 1 if problems else 0


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns; the last column is cut to the terminal's width."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    room = shutil.get_terminal_size((160, 24)).columns - sum(widths) - 2 * len(widths)
    lines = []
    for row in rows:
        last = row[-1] if len(row[-1]) <= max(room, 20) else row[-1][: max(room, 20) - 1] + "…"
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + last)
    return "\n".join(line.rstrip() for line in lines)
