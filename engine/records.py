"""Registration records that plugins return from the registration hooks, and what the registry knows of each."""

from __future__ import annotations

from typing import Any

import attrs

from engine.names import did_you_mean, is_valid, normalize

CAPABILITIES: dict[str, dict[str, str]] = {
    "encoder": {
        "persist": "its fitted state is plain data: engine.save/engine.load keep it as JSON (to_state/from_state)",
        "stream-fit": "fit also takes a source or a RecordBatchReader and learns batch by batch",
        "sql": "to_sql() gives the same transform as a DuckDB query",
        "drift": "each transform sets drift_report_: unseen and absent levels per column",
    },
    "decoder": {},
    "cate": {
        "intervals": "effect_interval(X, alpha=...) gives (lower, upper) arrays around effect(X)",
        "multi-arm": "one fit estimates every treatment against the control",
        "persist": "its fitted state is plain data: engine.save/engine.load keep it as JSON (to_state/from_state)",
    },
    "solver": {
        "count_limits": "honours min_count/max_count; a solver without it raises a DataError mentioning 'count'",
        "milp": "has solve_milp(MILPProblem) -> MILPResult; a solver without it has no solve_milp attribute",
        "partitions": "has solve_partitioned, solving a problem split into independent parts",
    },
    "source": {
        "projection": "the columns option is applied where the data is read, so other columns are never loaded",
        "filters": "the filters option is applied where the data is read, so other rows are never loaded",
        "s3": "reads s3:// locations",
        "parts": "has parts(): option sets that each build the source over one part, read apart; the parts' rows end to "
                 "end are the source's rows",
    },
    "sink": {},
    "executor": {},
}
"""The capability strings a registration of each kind may declare, with what each promises.

The contract suites test a capability's promise where it is declared; a string not listed here is
refused when the registration is made, since a typo would silently change which tests run."""


def _names(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(normalize(v) for v in values)


def _strings(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(values)


def _capabilities(values: Any) -> frozenset[str]:
    return frozenset(_strings(values))


@attrs.frozen
class Registration:
    """What a plugin declares about itself: pure data, so listing plugins imports nothing heavy.

    `factory` is a "module:attr" string imported on first use; `requires` are the import names it
    needs and `extra` the pip extra of the providing distribution that brings them;
    `capabilities` are strings of `CAPABILITIES[kind]`.
    """

    kind: str = attrs.field(converter=normalize)
    name: str = attrs.field(converter=normalize)
    factory: str = attrs.field()
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)
    requires: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    extra: str | None = None
    capabilities: frozenset[str] = attrs.field(default=frozenset(), converter=_capabilities)

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

    @capabilities.validator
    def _check_capabilities(self, attribute: attrs.Attribute, value: frozenset[str]) -> None:
        known = CAPABILITIES.get(self.kind, {})
        unknown = sorted(value - known.keys())
        if unknown:
            hint = did_you_mean(unknown[0], known) if len(unknown) == 1 else ""
            raise ValueError(
                f"{self.kind} plugin '{self.name}' declares unknown capabilit{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))}.{hint} The {self.kind} capabilities are: "
                f"{', '.join(known) or 'none'} (PLUGINS.md says what each promises)."
            )

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
