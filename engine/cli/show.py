"""`hookyard show KIND NAME`: one plugin's registration and the options it accepts."""

from __future__ import annotations

import argparse
import inspect
import json

from engine.kinds import KINDS
from engine.records import CAPABILITIES


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "show", parents=[common], help="describe one plugin and its options",
        description="Show a plugin's registration and the options its factory accepts "
        "(this imports the plugin, so its requirements must be installed).",
    )
    parser.add_argument("kind", choices=list(KINDS), help="the plugin's kind")
    parser.add_argument("name", help="the plugin's name or alias")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from engine.options import declared_options
    from engine.registry import default_registry

    registry = default_registry()
    info = registry.info(args.kind, args.name)
    options = {}
    if info.status == "available":
        factory = registry.factory(info.kind, info.name)
        for name, param in declared_options(factory).items():
            default = None if param.default is inspect.Parameter.empty else repr(param.default)
            annotation = None if param.annotation is inspect.Parameter.empty else inspect.formatannotation(param.annotation)
            options[name] = {"type": annotation, "default": default, "required": default is None and param.default is inspect.Parameter.empty}
        doc = inspect.getdoc(factory) or ""
    else:
        doc = ""
    if args.json:
        print(json.dumps({**info.to_dict(), "options": options, "doc": doc}, indent=2))
        return 0
    reg = info.registration
    print(f"{reg.kind} '{reg.name}' — {reg.summary}")
    print(f"  distribution: {info.distribution} {info.version}")
    print(f"  factory:      {reg.factory}")
    print(f"  aliases:      {', '.join(reg.aliases) or '-'}")
    print(f"  status:       {info.status}{' — ' + info.install_hint if info.install_hint else ''}")
    if reg.capabilities:
        meanings = CAPABILITIES.get(reg.kind, {})
        print("  capabilities:")
        for capability in sorted(reg.capabilities):
            meaning = meanings.get(capability)
            print(f"    {capability}" + (f": {meaning}" if meaning else ""))
    if options:
        print("  options:")
        for name, o in options.items():
            kind = f": {o['type']}" if o["type"] else ""
            default = " (required)" if o["required"] else f" = {o['default']}"
            print(f"    {name}{kind}{default}")
    if doc:
        print()
        print(doc)
    return 0
