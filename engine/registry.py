"""Plugin discovery (entry points, once per process), validation, conflicts and lookup by name."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pluggy

from engine import hookspecs
from engine.entrypoints import canonical as canonical_distribution
from engine.entrypoints import EntryPoint, entry_points
from engine.events import Observers
from engine.errors import (
    OptionError,
    PluginBuildError,
    PluginConflictError,
    PluginError,
    PluginLoadError,
    PluginMissingError,
    UnknownPluginError,
)
from engine.kinds import KINDS, kind_spec
from engine.names import did_you_mean, normalize
from engine.options import option_problems
from engine.records import PluginInfo, Registration

Where = tuple[str, int, str]
"""A warning's location: file, line and module name, so that it points at the plugin's code."""

ENTRY_POINT_GROUP = "hookyard"
BUILTIN_DISTRIBUTION = "hookyard"
LOCAL_DISTRIBUTION = "__main__"

ENV_LOAD = "HOOKYARD_LOAD_PLUGINS"
ENV_DISABLE = "HOOKYARD_DISABLE_PLUGINS"
ENV_STRICT = "HOOKYARD_STRICT_PLUGINS"
EVENT_HOOKS = ("pipeline_start", "pipeline_end", "step_start", "step_end", "outputs_committed")


class PluginLoadWarning(UserWarning):
    """Something about the installed plugins needs attention: a distribution skipped because it
    failed to import or validate, a name conflict, an undeclared extra, a misspelt selection."""


class ObserverWarning(UserWarning):
    """An observer's event hook raised; the run went on without it (in strict mode it is an error)."""


def _env_list(value: str) -> set[str]:
    return {canonical_distribution(v) for v in value.split(",") if v.strip()}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class Registry:
    """Every plugin this process can use, found through the `hookyard` entry-point group.

    Entry points are scanned once, on first use; a plugin's factory is imported only when that
    plugin is asked for by name. `environ` is read at discovery for the selection variables.
    Whatever is wrong with the installed plugins (a distribution that fails to load, a conflict,
    an undeclared extra, a misspelt selection) is one PluginLoadWarning per registry, pointing at
    the plugin's code, or in strict mode an error.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._pm: pluggy.PluginManager | None = None
        self._sources: dict[str, tuple[str, str]] = {}
        self._index: dict[str, dict[str, list[PluginInfo]]] | None = None
        self._factories: dict[tuple[str, str], Any] = {}
        self._present: dict[str, bool] = {}
        self._extras: dict[str, frozenset[str]] = {}
        self._skipped: dict[str, list[str]] = {}
        self._warned: set[str] = set()
        self._observer_warned: set[tuple[str | None, str, str]] = set()
        self._failure: PluginError | None = None

    @property
    def strict(self) -> bool:
        return _truthy(self._environ.get(ENV_STRICT))

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The pluggy manager with every selected distribution registered (discovers on first use)."""
        if self._pm is None:
            self._pm = self._discover()
        return self._pm

    @property
    def hook(self) -> Any:
        return self.plugin_manager.hook

    def _discover(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        seen: set[tuple[str, str]] = set()
        found = entry_points(ENTRY_POINT_GROUP)
        self._check_selection(found)
        for ep in found:
            dist, version = ep.distribution, ep.version
            if (dist, ep.name) in seen or not self._selected(dist, ep.name):
                continue
            seen.add((dist, ep.name))
            self._extras.setdefault(dist, ep.extras)
            try:
                plugin = ep.load()
            except Exception as exc:
                where = _raised_at(exc) or (os.path.join(ep.location, "entry_points.txt"), 1, ep.value)
                self._skip(dist, f"its entry point '{ep.name} = {ep.value}' failed to import: {exc!r}", where)
                continue
            self._register(pm, plugin, f"{dist}:{ep.name}", dist, version)
        return pm

    def _check_selection(self, found: Iterable[EntryPoint]) -> None:
        """Warn about names in the selection variables that match no distribution or entry point."""
        known = {canonical_distribution(n) for ep in found for n in (ep.distribution, ep.name)}
        known.add(BUILTIN_DISTRIBUTION)
        for variable in (ENV_DISABLE, ENV_LOAD):
            for name in sorted(_env_list(self._environ.get(variable, "")) - known):
                self._warn(
                    f"{variable} names '{name}', which is no installed distribution or entry point, so it "
                    f"changes nothing.{did_you_mean(name, known)} Installed: {', '.join(sorted(known))}.",
                    ("<environment>", 0, "engine.registry"),
                )

    def _selected(self, dist: str, entry_point: str) -> bool:
        key = canonical_distribution(dist)
        disabled = _env_list(self._environ.get(ENV_DISABLE, ""))
        if key in disabled or canonical_distribution(entry_point) in disabled:
            return False
        allowed = self._environ.get(ENV_LOAD)
        if allowed is None or key == BUILTIN_DISTRIBUTION:
            return True
        return key in _env_list(allowed)

    def _register(self, pm: pluggy.PluginManager, plugin: Any, plugin_name: str, dist: str, version: str) -> None:
        if pm.is_registered(plugin):
            return
        try:
            pm.register(plugin, name=plugin_name)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            self._skip(dist, f"its plugin '{plugin_name}' failed validation: {detail}", _unknown_hook_at(plugin))
            return
        self._sources[plugin_name] = (dist, version)
        self._index = None

    def _skip(self, dist: str, reason: str, where: Where | None) -> None:
        self._skipped.setdefault(dist, []).append(reason)
        if self.strict:
            raise PluginLoadError(f"the plugins of distribution '{dist}' could not be loaded: {reason} "
                                  f"(unset {ENV_STRICT} to skip them with a warning instead)")
        self._warn(f"skipped plugins of distribution '{dist}': {reason} (set {ENV_DISABLE}={dist} to silence this)",
                   where)

    def _warn(self, message: str, where: Where | None) -> None:
        """Warn once per registry, at the plugin's code where it is known; in strict mode raise."""
        if self.strict:
            raise PluginLoadError(message + f" (unset {ENV_STRICT} to make this a warning)")
        if message in self._warned:
            return
        self._warned.add(message)
        filename, lineno, module = where or ("<hookyard plugins>", 0, "engine.registry")
        warnings.warn_explicit(message, PluginLoadWarning, filename, lineno, module=module)

    def register(self, plugin: Any, name: str | None = None, distribution: str = LOCAL_DISTRIBUTION) -> None:
        """Register a plugin object (module, class or instance with hookimpls) in this process.

        For notebooks, scripts and observers that are not installed as a distribution; it is
        validated exactly as an entry point is.
        """
        pm = self.plugin_manager
        plugin_name = name or f"{distribution}:{getattr(plugin, '__name__', type(plugin).__name__)}"
        before = len(self._sources)
        self._register(pm, plugin, plugin_name, distribution, "0")
        if len(self._sources) == before and not pm.is_registered(plugin):
            reason = self._skipped.get(distribution, ["see the warning above"])[-1]
            raise PluginLoadError(f"plugin {plugin_name!r} could not be registered: {reason}")

    def unregister(self, plugin: Any) -> None:
        """Remove a plugin registered with `register`."""
        name = self.plugin_manager.get_name(plugin)
        if name is not None:
            self.plugin_manager.unregister(plugin)
            self._sources.pop(name, None)
            self._index = None
            self._factories.clear()

    def _build_index(self) -> dict[str, dict[str, list[PluginInfo]]]:
        index: dict[str, dict[str, list[PluginInfo]]] = {kind: {} for kind in KINDS}
        located: dict[int, Where] = {}
        for spec in KINDS.values():
            caller = getattr(self.hook, spec.hook)
            for impl in caller.get_hookimpls():
                dist, version = self._sources.get(impl.plugin_name, (LOCAL_DISTRIBUTION, "0"))
                for registration in self._registrations(impl, spec.name, dist):
                    info = PluginInfo(registration, dist, version, "available")
                    located[id(info)] = _code_at(impl.function)
                    self._check_extra(info, located[id(info)])
                    for name in registration.names:
                        index[spec.name].setdefault(name, []).append(info)
        return self._mark_conflicts(index, located)

    def _registrations(self, impl: Any, kind: str, dist: str) -> Iterator[Registration]:
        try:
            records = list(impl.function() or ())
        except Exception as exc:
            self._skip(dist, f"its hook '{impl.function.__name__}' raised {exc!r}",
                       _raised_at(exc) or _code_at(impl.function))
            return
        for record in records:
            if not isinstance(record, Registration) or record.kind != kind:
                what = record.kind if isinstance(record, Registration) else type(record).__name__
                self._skip(
                    dist,
                    f"its hook '{impl.function.__name__}' returned a {what!r} record where "
                    f"engine.Registration(kind={kind!r}, ...) records were expected",
                    _code_at(impl.function),
                )
                continue
            yield record

    def _check_extra(self, info: PluginInfo, where: Where) -> None:
        """Warn when a registration names an extra its distribution's metadata does not provide."""
        extra = info.registration.extra
        declared = self._extras.get(info.distribution)
        if not extra or declared is None or canonical_distribution(extra) in declared:
            return
        self._warn(
            f"{info.kind} plugin '{info.name}' of distribution '{info.distribution}' names the extra "
            f"'{extra}', which the distribution does not declare (it declares: {', '.join(sorted(declared)) or 'none'}), "
            f"so its install hint `pip install '{info.distribution}[{extra}]'` would install nothing. Declare "
            f"the extra under [project.optional-dependencies] or correct the registration's `extra`.",
            where,
        )

    def _mark_conflicts(
        self, index: dict[str, dict[str, list[PluginInfo]]], located: Mapping[int, Where]
    ) -> dict[str, dict[str, list[PluginInfo]]]:
        rivals: dict[int, set[str]] = {}
        messages = []
        for kind, names in index.items():
            for name, infos in names.items():
                if len(infos) > 1:
                    messages.append((_conflict_message(kind, name, infos), located.get(id(infos[-1]))))
                    for info in infos:
                        rivals.setdefault(id(info), set()).update(o.distribution for o in infos if o is not info)
        if messages and self.strict:
            raise PluginConflictError(
                "the installed plugins conflict (" + ENV_STRICT + " is set, so this is an error, not a "
                "warning): " + "; ".join(message for message, _ in messages)
            )
        for message, where in messages:
            self._warn(message, where)
        marked: dict[int, PluginInfo] = {}
        for names in index.values():
            for name, infos in names.items():
                names[name] = [
                    marked.setdefault(id(i), _with(i, status="conflict", conflict=tuple(sorted(rivals[id(i)]))))
                    if id(i) in rivals else i
                    for i in infos
                ]
        return index

    @property
    def index(self) -> dict[str, dict[str, list[PluginInfo]]]:
        if self._failure is not None:
            raise self._failure
        if self._index is None:
            try:
                self._index = self._build_index()
            except PluginError as exc:
                self._failure = exc
                raise
        return self._index

    def check(self) -> list[PluginInfo]:
        """Discover and index every plugin now and return them, so that in strict mode a registry
        problem (a distribution that fails to load, a name conflict) raises here once, as itself,
        rather than inside whatever first asks for a plugin."""
        return self.plugins()

    def factory_problems(self, kind: str | None = None) -> dict[tuple[str, str], str]:
        """Import the factory of every available plugin (of one kind when given): (kind, name) ->
        why it cannot be used, for each that does not import, name an attribute or is not callable."""
        problems = {}
        for info in self.plugins(kind):
            if info.status != "available":
                continue
            try:
                found = self.factory(info.kind, info.name)
            except PluginError as exc:
                problems[(info.kind, info.name)] = str(exc)
                continue
            if not callable(found):
                problems[(info.kind, info.name)] = (
                    f"{info.kind} plugin '{info.name}' from distribution '{info.distribution}': its factory "
                    f"{info.registration.factory!r} is a {type(found).__name__}, not a class or function"
                )
        return problems

    def plugins(self, kind: str | None = None) -> list[PluginInfo]:
        """Every registered plugin (of one kind when given), with its status checked now."""
        kinds = [kind_spec(kind).name] if kind else list(KINDS)
        out: list[PluginInfo] = []
        for k in kinds:
            unique = {id(i): i for infos in self.index[k].values() for i in infos}
            for info in sorted(unique.values(), key=lambda i: (i.name, i.distribution)):
                out.append(self._with_status(info))
        return out

    def _with_status(self, info: PluginInfo) -> PluginInfo:
        if info.status == "conflict":
            return info
        missing = tuple(name for name in info.registration.requires if not self._importable(name))
        return _with(info, status="missing", missing=missing) if missing else info

    def _importable(self, module: str) -> bool:
        if module not in self._present:
            self._present[module] = _findable(module)
        return self._present[module]

    def names(self, kind: str) -> list[str]:
        """Every name and alias of a kind, sorted."""
        return sorted(self.index[kind_spec(kind).name])

    def info(self, kind: str, name: str) -> PluginInfo:
        """The plugin of that kind answering to `name`; unknown or contested names raise."""
        spec = kind_spec(kind)
        key = normalize(name)
        infos = self.index[spec.name].get(key)
        if not infos:
            available = sorted({i.name for v in self.index[spec.name].values() for i in v})
            listing = ", ".join(available) or "none are installed"
            raise UnknownPluginError(
                f"no {spec.name} plugin named {name!r}.{did_you_mean(key, self.index[spec.name])} "
                f"Available {spec.name} plugins: {listing}. `hookyard plugins` lists every plugin."
                f"{self._skipped_note()}",
                kind=spec.name,
                name=key,
                available=available,
            )
        if len(infos) > 1:
            raise PluginConflictError(_conflict_message(spec.name, key, infos))
        return self._with_status(infos[0])

    def _skipped_note(self) -> str:
        """Which distributions failed to load and why: one of them may provide the name asked for."""
        if not self._skipped:
            return ""
        notes = "; ".join(f"'{dist}' ({'; '.join(reasons)})" for dist, reasons in sorted(self._skipped.items()))
        noun = "distribution" if len(self._skipped) == 1 else "distributions"
        return f" It may come from a {noun} that failed to load, so none of its plugins are available: {notes}."

    def factory(self, kind: str, name: str) -> Any:
        """The plugin's factory (usually its class), imported on first use and cached."""
        cache_key = (kind, normalize(name))
        found = self._factories.get(cache_key)
        if found is not None:
            return found
        info = self.info(kind, name)
        if info.status == "missing":
            raise PluginMissingError(
                f"{info.kind} plugin '{info.name}' needs {', '.join(info.missing)}, which "
                f"{'is' if len(info.missing) == 1 else 'are'} not installed. Install with: {info.install_hint}"
            )
        found = _import_factory(info)
        self._factories[cache_key] = found
        return found

    def build(self, kind: str, name: Any, **options: Any) -> Any:
        """A ready instance of the named plugin built with `options`; a built object passes through."""
        spec = kind_spec(kind)
        if not isinstance(name, str):
            return _check_built(spec.name, name, options)
        factory = self.factory(spec.name, name)
        info = self.info(spec.name, name)
        where = f"{spec.name} plugin '{info.name}'"
        problems = option_problems(factory, options, where=where)
        if problems:
            raise OptionError("\n".join(problems))
        try:
            return factory(**options)
        except (PluginError, OptionError):
            raise
        except Exception as exc:
            raise PluginBuildError(
                f"{where} (from distribution '{info.distribution}') raised while being built: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def observers(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Distributions implementing pipeline event hooks: name -> (version, hook names)."""
        found: dict[str, set[str]] = {}
        for hook_name in EVENT_HOOKS:
            for impl in getattr(self.hook, hook_name).get_hookimpls():
                dist, _ = self._sources.get(impl.plugin_name, (LOCAL_DISTRIBUTION, "0"))
                found.setdefault(dist, set()).add(hook_name)
        versions = dict(self._sources.values())
        return {dist: (versions.get(dist, "0"), tuple(sorted(hooks))) for dist, hooks in sorted(found.items())}

    @property
    def events(self) -> Observers:
        """The pipeline event hooks, called as `events.step_start(event=...)`, each observer on its own."""
        return Observers(self.notify)

    def notify(self, hook_name: str, event: Any) -> None:
        """Send `event` to every implementation of the event hook `hook_name`, one plugin at a time,
        so that one which raises stops neither the run nor the other observers: its failure is an
        ObserverWarning naming its distribution and hook, once per run and hook (in strict mode an
        error)."""
        caller = getattr(self.hook, hook_name)
        implementers = list(dict.fromkeys(impl.plugin for impl in reversed(caller.get_hookimpls())))
        for plugin in implementers:
            others = [p for p in implementers if p is not plugin]
            try:
                self.plugin_manager.subset_hook_caller(hook_name, others)(event=event)
            except Exception as exc:
                self._observer_failed(self.plugin_manager.get_name(plugin) or repr(plugin), hook_name, event, exc)
        if hook_name == "pipeline_end":
            run = getattr(event, "run_id", None)
            self._observer_warned = {key for key in self._observer_warned if key[0] != run}

    def _observer_failed(self, plugin_name: str, hook_name: str, event: Any, exc: Exception) -> None:
        dist, _ = self._sources.get(plugin_name, (LOCAL_DISTRIBUTION, "0"))
        what = (f"the observer '{plugin_name}' of distribution '{dist}': its hook '{hook_name}' raised "
                f"{type(exc).__name__}: {exc}")
        if self.strict:
            raise PluginError(f"{what} ({ENV_STRICT} is set, so this stops the run; unset it to make it a warning, "
                              f"or set {ENV_DISABLE}={dist} to unload the observer)") from exc
        key = (getattr(event, "run_id", None), plugin_name, hook_name)
        if key in self._observer_warned:
            return
        self._observer_warned.add(key)
        filename, lineno, module = _raised_at(exc) or ("<hookyard observers>", 0, "engine.registry")
        warnings.warn_explicit(f"{what}; the run goes on without it (set {ENV_DISABLE}={dist} to unload it, "
                               f"or {ENV_STRICT}=1 to make this an error)", ObserverWarning, filename, lineno,
                               module=module)

    def find(self, obj: Any) -> PluginInfo | None:
        """The registration whose factory built `obj` (matched by class), or None."""
        cls = obj if isinstance(obj, type) else type(obj)
        target = f"{cls.__module__}:{cls.__qualname__}"
        for infos in (i for kind in self.index.values() for i in kind.values()):
            for info in infos:
                if info.registration.factory == target:
                    return info
        return None


def _findable(module: str) -> bool:
    """Whether `module` can be imported, found without importing it or its parent packages
    (`importlib.util.find_spec("a.b")` imports `a`, which may be slow or heavy)."""
    parent = module.rpartition(".")[0]
    try:
        if not parent or parent in sys.modules:
            return module in sys.modules or importlib.util.find_spec(module) is not None
        locations = _search_locations(parent)
        return locations is not None and importlib.machinery.PathFinder.find_spec(module, locations) is not None
    except (ImportError, ValueError):
        return False


def _search_locations(package: str) -> list[str] | None:
    """The folders a package's submodules are found in, without importing it (None: no such package)."""
    parent = package.rpartition(".")[0]
    if not parent or parent in sys.modules:
        spec = sys.modules[package].__spec__ if package in sys.modules else importlib.util.find_spec(package)
    else:
        above = _search_locations(parent)
        spec = None if above is None else importlib.machinery.PathFinder.find_spec(package, above)
    if spec is None or spec.submodule_search_locations is None:
        return None
    return list(spec.submodule_search_locations)


def _code_at(function: Any) -> Where:
    """Where a plugin's function is defined."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ("<unknown>", 0, getattr(function, "__module__", "") or "")
    return (code.co_filename, code.co_firstlineno, getattr(function, "__module__", "") or "")


def _raised_at(exc: BaseException) -> Where | None:
    """The outermost frame of `exc`'s traceback outside the engine, pluggy and the import machinery:
    the plugin's own line (a library it called may have raised deeper down)."""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith(("<", _ENGINE_DIR, _IMPORTLIB_DIR, _PLUGGY_DIR)):
            return (filename, tb.tb_lineno, tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    return None


def _unknown_hook_at(plugin: Any) -> Where | None:
    """Where a plugin defines a hook implementation that no hook spec names (a misspelt hook)."""
    for attr in dir(plugin):
        function = getattr(plugin, attr, None)
        if hasattr(function, f"{hookspecs.PROJECT}_impl") and not hasattr(hookspecs, attr):
            return _code_at(function)
    filename = getattr(plugin, "__file__", None)
    return (filename, 1, getattr(plugin, "__name__", "")) if filename else None


_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_IMPORTLIB_DIR = os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep
_PLUGGY_DIR = os.path.dirname(os.path.abspath(pluggy.__file__)) + os.sep


def _import_factory(info: PluginInfo) -> Any:
    module_name, _, attr = info.registration.factory.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise PluginLoadError(
            f"{info.kind} plugin '{info.name}' from distribution '{info.distribution}' could not be "
            f"loaded from {info.registration.factory!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return obj


def _check_built(kind: str, obj: Any, options: Mapping[str, Any]) -> Any:
    if options:
        raise OptionError(
            f"options {sorted(options)} were given with an already built {kind}; "
            "pass options when building it, or give a plugin name instead"
        )
    protocol = KINDS[kind].protocol
    if not isinstance(obj, protocol):
        needed = [m for m in _protocol_members(protocol) if not hasattr(obj, m)]
        raise OptionError(
            f"a {type(obj).__name__} object is not a {kind}: it lacks {', '.join(needed)}. "
            f"Pass the name of a {kind} plugin or an object with those methods."
        )
    return obj


def _protocol_members(protocol: type) -> list[str]:
    return sorted(
        name for name in vars(protocol)
        if not name.startswith("_") and callable(getattr(protocol, name, None))
    )


def _conflict_message(kind: str, name: str, infos: Iterable[PluginInfo]) -> str:
    claims = " and ".join(
        f"distribution '{i.distribution}' ({i.registration.factory})" for i in infos
    )
    dists = [i.distribution for i in infos]
    return (
        f"{kind} name '{name}' is claimed by {claims}. Uninstall one of them, or disable one with "
        f"{ENV_DISABLE}={dists[-1]}."
    )


def _with(info: PluginInfo, **changes: Any) -> PluginInfo:
    import attrs

    return attrs.evolve(info, **changes)


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry (entry points scanned once per process)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset() -> None:
    """Forget discovered plugins so the next use scans entry points again (tests, reloading)."""
    global _default
    _default = None
