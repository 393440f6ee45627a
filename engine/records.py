"""Registration records that plugins return from the registration hooks, and what the registry knows of each."""

from __future__ import annotations

from typing import Any

import attrs

from engine.names import is_valid, normalize


def _names(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(normalize(v) for v in values)


def _strings(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(values)


@attrs.frozen
class Registration:
    """What a plugin declares about itself: pure data, so listing plugins imports nothing heavy.

    `factory` is a "module:attr" string imported on first use; `requires` are the import names it
    needs and `extra` the pip extra of the providing distribution that brings them.
    """

    kind: str = attrs.field(converter=normalize)
    name: str = attrs.field(converter=normalize)
    factory: str = attrs.field()
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)
    requires: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    extra: str | None = None
    capabilities: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)

    @name.validator
    def _check_name(self, attribute: attrs.Attribute, value: str) -> None:
        if not is_valid(value):
            raise ValueError(
                f"plugin name {value!r} is not valid: use letters, digits, '.', '+' and '-', "
                "starting with a letter or digit"
            )

    @factory.validator
    def _check_factory(self, attribute: attrs.Attribute, value: str) -> None:
        module, _, attr = value.partition(":")
        if not module or not attr:
            raise ValueError(f"factory {value!r} must be a 'module:attribute' string")

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)


@attrs.frozen
class PluginInfo:
    """A registration as the registry sees it: who provides it and whether it can be used here."""

    registration: Registration
    distribution: str
    version: str
    status: str
    missing: tuple[str, ...] = ()
    conflict: tuple[str, ...] = ()

    kind = property(lambda self: self.registration.kind)
    name = property(lambda self: self.registration.name)

    @property
    def install_hint(self) -> str | None:
        """The pip command that brings a missing plugin's requirements, or None when it is available."""
        if not self.missing:
            return None
        extra = self.registration.extra
        if extra:
            return f"pip install '{self.distribution}[{extra}]'"
        return "pip install " + " ".join(self.missing)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `hookyard plugins --json` prints for this plugin."""
        reg = self.registration
        return {
            "kind": reg.kind,
            "name": reg.name,
            "aliases": list(reg.aliases),
            "summary": reg.summary,
            "distribution": self.distribution,
            "version": self.version,
            "factory": reg.factory,
            "status": self.status,
            "missing": list(self.missing),
            "extra": reg.extra,
            "install": self.install_hint,
            "capabilities": sorted(reg.capabilities),
            "conflict": list(self.conflict),
        }
