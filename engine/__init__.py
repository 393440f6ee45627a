"""Hookyard: a plugin engine for decision and text-generation pipelines.

Plugins of seven kinds (encoder, decoder, cate, solver, source, sink, executor) are discovered
through the `hookyard` entry-point group and chosen by name; nothing heavy is imported until one is
asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import (
    ConfigError,
    DataError,
    HookyardError,
    NotFittedError,
    OptionError,
    PipelineError,
    PipelineValidationError,
    PluginBuildError,
    PluginConflictError,
    PluginError,
    PluginLoadError,
    PluginMissingError,
    StateError,
    StepError,
    UnknownKindError,
    UnknownPluginError,
)
from engine.hookspecs import hookimpl, hookspec
from engine.kinds import KINDS
from engine.records import PluginInfo, Registration
from engine.registry import ObserverWarning, PluginLoadWarning, default_registry

if TYPE_CHECKING:
    from engine.kinds.cate import CATEEstimator
    from engine.kinds.decoder import Decoder
    from engine.kinds.encoder import Encoder
    from engine.kinds.executor import Executor
    from engine.kinds.sink import Sink
    from engine.kinds.solver import Solver
    from engine.kinds.source import DataSource
    from engine.pipeline import Pipeline

__version__ = "0.1.0"

__all__ = [
    "KINDS", "ConfigError", "DataError", "HookyardError", "NotFittedError", "ObserverWarning", "OptionError", "Pipeline",
    "PipelineError", "PipelineValidationError", "PluginBuildError", "PluginConflictError", "PluginError",
    "PluginInfo", "PluginLoadError", "PluginLoadWarning", "PluginMissingError", "Registration", "RunResult",
    "StateError", "Step",
    "StepError", "UnknownKindError", "UnknownPluginError", "cate", "decoder", "encoder", "executor", "get", "hookimpl",
    "hookspec", "load", "load_bundle", "load_pipeline", "plugin_info", "plugins", "register", "save",
    "save_bundle", "sink", "solver", "source",
]


_LAZY = {
    "Pipeline": "engine.pipeline", "Step": "engine.pipeline", "RunResult": "engine.pipeline",
    "load_bundle": "engine.bundle", "save_bundle": "engine.bundle",
}


def __getattr__(name: str) -> Any:
    """Pipeline classes and model bundles load on first use, keeping `import engine` cheap for listing plugins."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def plugins(kind: str | None = None) -> list[PluginInfo]:
    """Every registered plugin, or those of one kind, with whether each is usable here."""
    return default_registry().plugins(kind)


def plugin_info(kind: str, name: str) -> PluginInfo:
    """The registration of one plugin by kind and name (or alias)."""
    return default_registry().info(kind, name)


def get(kind: str, name: Any, **options: Any) -> Any:
    """A ready plugin instance of `kind` named `name`, built with `options`.

    An already built object is accepted in place of a name and returned as it is.
    """
    return default_registry().build(kind, name, **options)


def encoder(name: Any, **options: Any) -> Encoder:
    """An encoder plugin by name (for example "onehot")."""
    return get("encoder", name, **options)


def decoder(name: Any, **options: Any) -> Decoder:
    """A decoder plugin by name (for example "beam")."""
    return get("decoder", name, **options)


def cate(name: Any, **options: Any) -> CATEEstimator:
    """A CATE estimator plugin by name (for example "dml")."""
    return get("cate", name, **options)


def solver(name: Any, **options: Any) -> Solver:
    """A solver plugin by name (for example "mckp")."""
    return get("solver", name, **options)


def source(name: Any, **options: Any) -> DataSource:
    """A data source plugin by name (for example "duckdb")."""
    return get("source", name, **options)


def sink(name: Any, **options: Any) -> Sink:
    """A sink plugin by name (for example "parquet")."""
    return get("sink", name, **options)


def executor(name: Any, **options: Any) -> Executor:
    """An executor plugin by name (for example "local")."""
    return get("executor", name, **options)


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object (hookimpls: registrations or event observers) in this process."""
    default_registry().register(plugin, name=name)


def save(plugin: Any, path: Any, **kwargs: Any) -> Any:
    """Save a fitted plugin's state as a JSON document (atomically); see `engine.persistence`."""
    from engine import persistence

    return persistence.save(plugin, path, **kwargs)


def load(path: Any) -> Any:
    """Rebuild a plugin saved with `save`, through the registry; anything wrong with the file, however
    hostile, is a StateError naming what (see `engine.persistence` and `engine.state_checks`)."""
    from engine import persistence

    return persistence.load(path)


def load_pipeline(path: Any, overrides: Any = ()) -> Pipeline:
    """Read a TOML pipeline file (with optional "step.field=value" overrides)."""
    from engine import config

    return config.load_pipeline(path, overrides)
