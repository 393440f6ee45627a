"""Fitted plugins saved as JSON documents that say which plugin they belong to; never pickle.

A document is {"format": "hookyard.state", "format_version": 1, "kind", "name", "distribution",
"plugin_version", "state"}; the plugin owns `state` (`to_state()` / `from_state(state)`) and
versions its own schema inside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine import atomic
from engine.errors import StateError
from engine.registry import Registry, default_registry

FORMAT = "hookyard.state"
FORMAT_VERSION = 1


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
    """Rebuild a plugin from its JSON document through the registry."""
    registry = registry or default_registry()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}); the file is corrupt") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateError(f"{source} is not a hookyard state document (no \"format\": \"{FORMAT}\")")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StateError(
            f"{source} has format_version {version!r}; this hookyard reads up to {FORMAT_VERSION}. "
            "Upgrade hookyard to load it."
        )
    for key in ("kind", "name", "state"):
        if key not in document:
            raise StateError(f"{source} lacks the {key!r} field; the file is corrupt")
    factory = registry.factory(document["kind"], document["name"])
    if not hasattr(factory, "from_state"):
        raise StateError(f"{document['kind']} '{document['name']}' cannot be loaded from state")
    try:
        return factory.from_state(document["state"])
    except StateError as exc:
        raise StateError(f"{source}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(
            f"{source}: the state of {document['kind']} '{document['name']}' is corrupt: {type(exc).__name__}: {exc}"
        ) from exc


def load(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Rebuild the plugin saved at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(f"no state file at {path}") from None
    except UnicodeDecodeError as exc:
        raise StateError(f"{path} is not a text file; the file is corrupt ({exc.reason})") from exc
    return loads(text, source=str(path), **kwargs)
