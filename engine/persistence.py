"""Fitted plugins saved as JSON documents that say which plugin they belong to; never pickle.

A document is {"format": "hookyard.state", "format_version": 1, "kind", "name", "distribution",
"plugin_version", "state"}; the plugin owns `state` (`to_state()` / `from_state(state)`) and
versions its own schema inside it.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine import atomic
from engine import state_checks as checks
from engine.errors import StateError
from engine.registry import Registry, default_registry

FORMAT = "hookyard.state"
FORMAT_VERSION = 1
_INT_DIGITS = 20  # "-9223372036854775808" is the longest 64-bit integer


@runtime_checkable
class Persistable(Protocol):
    """A plugin whose fitted state is plain JSON data."""

    def to_state(self) -> dict[str, Any]: ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Persistable: ...


def dumps(plugin: Any, *, kind: str | None = None, name: str | None = None, registry: Registry | None = None) -> str:
    """The JSON document for a fitted plugin; kind and name are found from its class when not given."""
    registry = registry or default_registry()
    if not isinstance(plugin, Persistable):
        raise StateError(
            f"a {type(plugin).__name__} cannot be saved: it has no to_state()/from_state(). "
            "Only plugins whose fitted state is plain data persist; keep the pipeline file instead."
        )
    info = registry.find(plugin)
    if info is None and (kind is None or name is None):
        raise StateError(
            f"{type(plugin).__name__} is not the factory of any registered plugin; pass kind= and name="
        )
    if info is None:
        info = registry.info(kind, name)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": info.kind,
        "name": info.name,
        "distribution": info.distribution,
        "plugin_version": info.version,
        "state": plugin.to_state(),
    }
    try:
        return json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"{info.kind} '{info.name}' returned a state that is not plain JSON: {exc}") from exc


def save(plugin: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write the plugin's JSON document to `path`, atomically."""
    return atomic.write_text(path, dumps(plugin, **kwargs))


def loads(text: str, *, source: str = "<string>", registry: Registry | None = None) -> Any:
    """Rebuild a plugin from its JSON document through the registry; anything wrong with the
    document, however hostile, is a StateError saying what."""
    registry = registry or default_registry()
    document = parse(text, source)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateError(f"{source} is not a hookyard state document (no \"format\": \"{FORMAT}\")")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        got = checks.shown(version)
        raise checks.corrupt(f"{source}: format_version", f"must be a version number (1 or more), got {got}")
    if version > FORMAT_VERSION:
        raise StateError(
            f"{source} has format_version {version!r}; this hookyard reads up to {FORMAT_VERSION}. "
            "Upgrade hookyard to load it."
        )
    for key in ("kind", "name", "state"):
        if key not in document:
            raise StateError(f"{source} lacks the {key!r} field; {checks.RESAVE}")
    kind = checks.require_str(document["kind"], f"{source}: kind")
    name = checks.require_str(document["name"], f"{source}: name")
    state = checks.require_object(document["state"], f"{source}: state")
    factory = registry.factory(kind, name)
    if not hasattr(factory, "from_state"):
        raise StateError(f"{kind} '{name}' cannot be loaded from state")
    try:
        return factory.from_state(state)
    except StateError as exc:
        raise StateError(f"{source}: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
        raise StateError(
            f"{source}: the state of {kind} '{name}' is corrupt: {type(exc).__name__}: {exc}; {checks.RESAVE}"
        ) from exc


def parse(text: str, source: str) -> Any:
    """The JSON value of `text`, refusing what no saved state holds: NaN and infinities, numbers
    beyond 64-bit integers or doubles (10^400), and nesting deeper than checks.MAX_DEPTH."""

    def integer(literal: str) -> int:
        value = int(literal) if len(literal) <= _INT_DIGITS else None
        if value is None or not -(2**63) <= value < 2**63:
            raise _Refused(f"holds the integer {literal[:20]}... ({len(literal)} characters), beyond 64 bits")
        return value

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise _Refused(f"holds the number {literal[:20]}, beyond the range of a double")
        return value

    def constant(literal: str) -> Any:
        raise _Refused(f"holds {literal}, which is not a JSON number (engine.save never writes it)")

    try:
        value = json.loads(text, parse_int=integer, parse_float=number, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise StateError(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}); the file is corrupt") from exc
    except _Refused as exc:
        raise checks.corrupt(source, str(exc)) from None
    except RecursionError:
        raise checks.corrupt(source, f"nests arrays or objects more than {checks.MAX_DEPTH} deep") from None
    return checks.require_depth(value, source)


class _Refused(ValueError):
    """A JSON literal that no saved state holds."""


def load(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Rebuild the plugin saved at `path`."""
    return loads(read_text(path), source=str(path), **kwargs)


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a state file, which must be a regular file (a device or a pipe never ends)."""
    path = Path(path)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise StateError(f"{path} is not a regular file; give the path of a file written by engine.save")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(f"no state file at {path}") from None
    except UnicodeDecodeError as exc:
        raise StateError(f"{path} is not a text file; the file is corrupt ({exc.reason})") from exc
    except OSError as exc:
        raise StateError(f"cannot read the state file {path}: {exc.strerror or exc}") from exc
