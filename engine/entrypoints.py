"""Entry points of one group, read straight from the `.dist-info` folders on `sys.path`.

`importlib.metadata` parses every installed distribution and imports email, zipfile and socket to
do so, a third of what listing plugins costs. This reader opens each distribution's
`entry_points.txt` and reads the METADATA header only of those that declare the group. Zipped
path entries and finders other than the standard path finder go through `importlib.metadata`.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import attrs

INFO_SUFFIXES = (".dist-info", ".egg-info")
METADATA_FILES = ("METADATA", "PKG-INFO")


@attrs.frozen
class EntryPoint:
    """One `name = module:attr` line of a group, with the distribution that declares it: its
    name, version, the extras its metadata provides and the folder of that metadata."""

    name: str
    value: str
    distribution: str
    version: str
    extras: frozenset[str] = attrs.field(default=frozenset(), eq=False)
    location: str = attrs.field(default="", eq=False)

    def load(self) -> Any:
        """Import the module and follow the attribute path (extras in brackets are ignored)."""
        module, _, attr = self.value.partition("[")[0].partition(":")
        obj: Any = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of `group`; a distribution found twice counts where `sys.path` finds it first."""
    if _needs_importlib():
        return _through_importlib(group)
    seen: set[str] = set()
    return [ep for entry in sys.path for ep in _from_folder(entry or ".", group, seen)]


def _needs_importlib() -> bool:
    """Whether some distribution could live where this reader does not look."""
    finders = (f for f in sys.meta_path if f is not importlib.machinery.PathFinder)
    return any(hasattr(f, "find_distributions") for f in finders) or any(
        os.path.isfile(entry) for entry in sys.path if entry
    )


def _through_importlib(group: str) -> list[EntryPoint]:
    import importlib.metadata

    found = []
    for ep in importlib.metadata.entry_points(group=group):
        if ep.dist is None:
            found.append(EntryPoint(ep.name, ep.value, "unknown", "0"))
            continue
        extras = frozenset(canonical(e) for e in ep.dist.metadata.get_all("Provides-Extra") or ())
        found.append(EntryPoint(ep.name, ep.value, ep.dist.name, ep.dist.version, extras,
                                str(getattr(ep.dist, "_path", ""))))
    return found


def _from_folder(folder: str, group: str, seen: set[str]) -> Iterator[EntryPoint]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        stem, suffix = os.path.splitext(name)
        if suffix not in INFO_SUFFIXES:
            continue
        key = canonical(stem.partition("-")[0])
        if key in seen:
            continue
        seen.add(key)
        info = os.path.join(folder, name)
        declared = _section(_read(os.path.join(info, "entry_points.txt")), group)
        if declared:
            dist, version, extras = _header(info)
            yield from (EntryPoint(ep_name, value, dist, version, extras, info) for ep_name, value in declared)


def canonical(name: str) -> str:
    """PEP 503 normalisation, so 'Hookyard_RunLog' and 'hookyard-runlog' name one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines of one `[group]` section of an entry_points.txt."""
    if f"[{group}]" not in text:
        return []
    inside, found = False, []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _header(info: str) -> tuple[str, str, frozenset[str]]:
    """Name, Version and the Provides-Extra names from the metadata file's header (the part
    before the first blank line)."""
    fields: dict[str, str] = {}
    extras: set[str] = set()
    for filename in METADATA_FILES:
        for line in _read(os.path.join(info, filename)).splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "provides-extra":
                extras.add(canonical(value.strip()))
            fields.setdefault(key, value.strip())
        if fields:
            break
    return fields.get("name", "unknown"), fields.get("version", "0"), frozenset(extras)
