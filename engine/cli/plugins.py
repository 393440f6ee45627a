"""`hookyard plugins`: list every plugin, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import shutil

from engine.kinds import KINDS


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "plugins", parents=[common], help="list installed plugins",
        description="List every plugin the installed distributions register, with its status: "
        "'available', 'missing' (with the pip command that installs what it needs) or 'conflict'.",
    )
    parser.add_argument("--kind", choices=list(KINDS), help="only plugins of this kind")
    parser.add_argument("--json", action="store_true", help="print a JSON array of objects instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.registry import default_registry

    registry = default_registry()
    infos = registry.plugins(args.kind)
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
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
    return 0


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns; the last column is cut to the terminal's width."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    room = shutil.get_terminal_size((160, 24)).columns - sum(widths) - 2 * len(widths)
    lines = []
    for row in rows:
        last = row[-1] if len(row[-1]) <= max(room, 20) else row[-1][: max(room, 20) - 1] + "…"
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + last)
    return "\n".join(line.rstrip() for line in lines)
