"""Model bundles: fitted plugins saved once as a folder (a manifest plus one JSON state per plugin)
and loaded back with every check that applying them to new data needs; never pickle.

A bundle folder holds `manifest.json` and `<step-id>.json` per fitted step, each in
`engine.persistence`'s document format. Loading checks the format version, that every plugin and
its distribution are installed at a version no older than the one that fitted it, and every state
file; `Bundle.check_input` checks the data it is applied to against the input schema it was fitted on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib.metadata
import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
from packaging.version import InvalidVersion, Version

from engine import persistence
from engine.atomic import atomic_folder
from engine.entrypoints import canonical
from engine.errors import ConfigError, DataError, HookyardError, PluginMissingError, StateError, UnknownPluginError
from engine.records import PluginInfo
from engine.registry import LOCAL_DISTRIBUTION, Registry, default_registry

FORMAT = "hookyard.bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PERSIST = "persist"
_STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_FINGERPRINT_ROWS = 65_536
_REFIT = "refit it with `hookyard fit PIPELINE.toml --model DIR`"


@attrs.frozen
class BundleStep:
    """One fitted step of a bundle: which plugin, from which distribution and version, its options,
    the step params it was fitted with (resolved, e.g. the exact feature columns), and its state file."""

    id: str
    kind: str
    name: str
    distribution: str
    plugin_version: str
    options: dict[str, Any]
    params: dict[str, Any]
    state_file: str


@attrs.frozen(eq=False)
class Bundle:
    """A loaded bundle: its manifest, its steps and the plugins rebuilt from their states (by step id)."""

    path: Path
    manifest: dict[str, Any]
    steps: tuple[BundleStep, ...]
    plugins: dict[str, Any]

    @property
    def input_schema(self) -> pa.Schema:
        """The input columns and Arrow types the bundle was fitted on (metadata left out)."""
        return _read_schema(self.manifest, str(self.path / MANIFEST))

    @property
    def pipeline(self) -> dict[str, Any] | None:
        """The fitting pipeline's document (`engine.config.to_dict` form), when it was saved."""
        return self.manifest.get("pipeline")

    def step(self, step_id: str) -> BundleStep:
        """The bundle step with that id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"model bundle {self.path} has no step {step_id!r}; its steps are {[s.id for s in self.steps]}")

    def check_input(self, schema: pa.Schema, *, where: str = "the input") -> None:
        """Raise DataError naming every expected column that `schema` lacks or holds in another type.

        Extra columns are fine. Types match by family: any integer width or signedness, any float
        width, string / large_string / string_view, binary / large_binary / binary_view, and a
        dictionary-encoded column as its values; lists by their values' family; any other type
        (bool, decimal, timestamp with its unit and zone, ...) must be the same.
        """
        problems = []
        for expected in self.input_schema:
            found = schema.get_all_field_indices(expected.name)
            if not found:
                problems.append(f"column {expected.name!r} ({expected.type}) is missing")
            elif len(found) > 1:
                problems.append(f"column {expected.name!r} appears {len(found)} times")
            elif _family(schema.field(found[0]).type) != _family(expected.type):
                got = schema.field(found[0]).type
                problems.append(f"column {expected.name!r} is {got} where the bundle expects {expected.type}")
        if problems:
            raise DataError(
                f"{where} does not fit model bundle {self.path}: " + "; ".join(problems) + ". Give it those "
                "columns with those types (rename or cast them in the source or its query), or refit the "
                "bundle on data shaped like this input."
            )


def fingerprint(table: pa.Table) -> str:
    """"sha256:<hex>" of the table's schema (metadata aside) and values, the same however its rows are chunked."""
    digest = hashlib.sha256()
    table = pa.Table.from_arrays(table.columns, schema=_plain(table.schema))
    with pa.ipc.new_stream(pa.PythonFile(_HashSink(digest), mode="w"), table.schema) as writer:
        for start in range(0, table.num_rows, _FINGERPRINT_ROWS):
            writer.write_table(table.slice(start, _FINGERPRINT_ROWS).combine_chunks())
    return "sha256:" + digest.hexdigest()


class _HashSink:
    """A write-only file that feeds what is written to a hash."""

    closed = False

    def __init__(self, digest: Any) -> None:
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""


def require_persistable(kind: str, name: str, registry: Registry | None = None) -> None:
    """Raise StateError (before any fitting) when the named plugin cannot go in a model bundle."""
    registry = registry or default_registry()
    _check_bundleable(registry.info(kind, name), registry)


def save_bundle(
    folder: str | os.PathLike[str],
    steps: Sequence[tuple[Any, Any]],
    *,
    input_schema: pa.Schema,
    training_rows: int,
    fingerprint: str,
    pipeline: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> Path:
    """Write a bundle of fitted (step, plugin) pairs to `folder`, whole or not at all.

    `folder` may be new, empty or an earlier bundle (holding nothing but its own files); anything
    else is refused with ConfigError before any work. Every state is made before anything is written.
    """
    registry = registry or default_registry()
    target = Path(folder)
    check_target(target)
    entries: list[BundleStep] = []
    files: dict[str, str] = {}
    for step, plugin in steps:
        entry, text = _saved_step(step, plugin, registry)
        if entry.state_file in files:
            raise ConfigError(f"step id '{step.id}' is used twice; give each fitted step its own id")
        entries.append(entry)
        files[entry.state_file] = text
    schema = _plain(input_schema)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hookyard_version": _hookyard_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "steps": [attrs.asdict(entry) for entry in entries],
        "input_schema": [{"name": field.name, "type": str(field.type)} for field in schema],
        "input_schema_arrow": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii"),
        "training_rows": int(training_rows),
        "fingerprint": fingerprint,
        "pipeline": pipeline,
    }
    files[MANIFEST] = _json(manifest, "the bundle manifest (step options, params or pipeline)")
    _write_folder(target, files)
    return target


def load_bundle(folder: str | os.PathLike[str], registry: Registry | None = None) -> Bundle:
    """Read a bundle and rebuild every plugin through the registry, checking all that can go wrong."""
    registry = registry or default_registry()
    path = Path(folder)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise StateError(
            f"no model bundle at {path}: it {what}. Give the folder `hookyard fit --model` wrote, or {_REFIT}"
        )
    manifest = _read_manifest(path)
    source = str(path / MANIFEST)
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise StateError(
            f"{source} has format_version {version!r}; this hookyard ({_hookyard_version()}) reads bundles up to "
            f"{FORMAT_VERSION}. Upgrade hookyard (pip install -U hookyard) to load it."
        )
    steps = _read_steps(manifest, source)
    _read_schema(manifest, source)
    plugins = {step.id: _load_step(path, step, registry) for step in steps}
    return Bundle(path, manifest, steps, plugins)


def _saved_step(step: Any, plugin: Any, registry: Registry) -> tuple[BundleStep, str]:
    """The manifest entry and the state document of one fitted step."""
    if not isinstance(step.id, str) or not _STEP_ID.match(step.id) or step.id == MANIFEST.removesuffix(".json"):
        raise ConfigError(
            f"step id {step.id!r} cannot name a state file in a bundle: use letters, digits, '.', '_', '+' "
            "and '-', starting with a letter or digit (and not 'manifest')"
        )
    info = registry.find(plugin)
    if info is None and isinstance(step.name, str):
        info = registry.info(step.kind, step.name)
    if info is None:
        raise StateError(f"step '{step.id}' holds a {type(plugin).__name__}, which is no registered plugin's factory")
    _check_bundleable(info, registry)
    try:
        text = persistence.dumps(plugin, kind=info.kind, name=info.name, registry=registry)
    except HookyardError:
        raise
    except Exception as exc:
        raise StateError(
            f"step '{step.id}' ({info.kind} '{info.name}') could not be saved: its to_state() raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    entry = BundleStep(
        id=step.id, kind=info.kind, name=info.name, distribution=info.distribution, plugin_version=info.version,
        options=dict(step.options), params=dict(step.params), state_file=f"{step.id}.json",
    )
    return entry, text


def _check_bundleable(info: PluginInfo, registry: Registry) -> None:
    """A plugin goes in a bundle when it declares the `persist` capability and its factory has
    to_state()/from_state(); the capability is read first, so refusing imports nothing."""
    label = f"{info.kind} '{info.name}' (distribution '{info.distribution}')"
    if PERSIST in info.registration.capabilities:
        factory = registry.factory(info.kind, info.name)
        if callable(getattr(factory, "to_state", None)) and callable(getattr(factory, "from_state", None)):
            return
        reason = f"it declares '{PERSIST}' but its factory {info.registration.factory} has no to_state()/from_state()"
    elif "econml" in info.registration.requires:
        reason = "its fitted econml models are Python objects that only pickle could store"
    else:
        reason = f"it does not declare the '{PERSIST}' capability (its fitted state is not plain JSON data)"
    others = [
        p.name for p in registry.plugins(info.kind)
        if PERSIST in p.registration.capabilities and p.status == "available" and p.name != info.name
    ]
    instead = f"a {info.kind} plugin that saves as JSON" + (f" ({', '.join(others)})" if others else "")
    raise StateError(
        f"{label} cannot go in a model bundle: {reason}, and hookyard never pickles. Use {instead}, or run the "
        "whole pipeline in one go with `hookyard run`, which fits and applies without saving."
    )


def check_target(target: str | os.PathLike[str]) -> None:
    """Refuse a target that exists and is neither an empty folder nor a bundle holding only its files
    (`hookyard fit` asks before it fits, `save_bundle` again before it writes)."""
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise ConfigError(f"{target} exists and is not a folder; write the model bundle to another path")
    names = {p.name for p in target.iterdir()}
    if not names:
        return
    refuse = (
        f"{target} is not empty and is not a model bundle, so it is left alone: a bundle replaces only an "
        "empty folder or an earlier bundle. Write it to another folder"
    )
    try:
        manifest = _read_manifest(target)
    except StateError:
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise ConfigError(f"{refuse} (it holds {shown} and no manifest.json of a bundle)") from None
    steps = manifest.get("steps")
    owned = {MANIFEST} | {
        s["state_file"] for s in (steps if isinstance(steps, list) else ())
        if isinstance(s, dict) and isinstance(s.get("state_file"), str)
    }
    extra = sorted(names - owned)
    if extra:
        raise ConfigError(
            f"{target} holds a model bundle and also {', '.join(extra)}, which are not the bundle's; it is left "
            "alone. Move those files out, or write the bundle to another folder"
        )


def _write_folder(target: Path, files: dict[str, str]) -> None:
    """Write `files` into a new folder beside `target`, then rename it onto `target` (replacing an
    earlier bundle or empty folder); on any error the new folder is removed and `target` is as it was."""
    with atomic_folder(target) as staging:
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())


def _read_manifest(path: Path) -> dict[str, Any]:
    source = path / MANIFEST
    try:
        manifest = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path} has no {MANIFEST}, so it is not a model bundle; {_REFIT}") from None
    except UnicodeDecodeError as exc:
        raise _corrupt(f"{source} is not a text file ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise _corrupt(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StateError(f"{source} is not a model bundle manifest (no \"format\": \"{FORMAT}\"); {_REFIT}")
    return manifest


def _read_steps(manifest: dict[str, Any], source: str) -> tuple[BundleStep, ...]:
    entries = manifest.get("steps")
    if not isinstance(entries, list):
        raise _corrupt(f"{source} has no list of steps")
    steps = []
    for i, entry in enumerate(entries):
        fields = {}
        for field in attrs.fields(BundleStep):
            value = entry.get(field.name) if isinstance(entry, dict) else None
            wanted = dict if field.name in ("options", "params") else str
            if not isinstance(value, wanted):
                raise _corrupt(f"{source}: step {i + 1} lacks {field.name!r} (a {wanted.__name__})")
            fields[field.name] = value
        steps.append(BundleStep(**fields))
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids) or any(Path(s.state_file).name != s.state_file for s in steps):
        raise _corrupt(f"{source}: step ids repeat or a state file lies outside the bundle")
    return tuple(steps)


def _read_schema(manifest: dict[str, Any], source: str) -> pa.Schema:
    """The input schema from its Arrow serialisation, checked against the readable column list."""
    corrupt = f"{source}: the input schema is unreadable or disagrees with its column list"
    try:
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(manifest["input_schema_arrow"], validate=True)))
        listed = [(c["name"], c["type"]) for c in manifest["input_schema"]]
    except (KeyError, TypeError, binascii.Error, pa.ArrowException):
        raise _corrupt(corrupt) from None
    if listed != [(field.name, str(field.type)) for field in schema]:
        raise _corrupt(corrupt)
    return schema


def _load_step(path: Path, step: BundleStep, registry: Registry) -> Any:
    """The plugin of one step, after checking that the installed plugin can read its state."""
    where = f"model bundle {path}, step '{step.id}'"
    info = _installed(step, registry, where)
    if _newer(step.plugin_version, info.version):
        raise StateError(
            f"{where}: {step.kind} '{step.name}' was fitted with {step.distribution} {step.plugin_version}, but "
            f"{info.version} is installed. Upgrade it: pip install '{step.distribution}>={step.plugin_version}'"
        )
    state_path = path / step.state_file
    try:
        text = state_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _corrupt(f"{where}: its state file {state_path} is missing") from None
    except UnicodeDecodeError as exc:
        raise _corrupt(f"{where}: its state file {state_path} is not text ({exc.reason})") from exc
    try:
        plugin = persistence.loads(text, source=str(state_path), registry=registry)
    except StateError as exc:
        raise StateError(f"{where}: {exc}; {_REFIT}") from exc
    found = registry.find(plugin)
    if found is None or (found.kind, found.name) != (step.kind, step.name):
        holds = f"{found.kind} '{found.name}'" if found else f"a {type(plugin).__name__}"
        raise _corrupt(f"{where}: {state_path} holds {holds}, not {step.kind} '{step.name}'")
    return plugin


def _installed(step: BundleStep, registry: Registry, where: str) -> PluginInfo:
    """The installed registration of the step's plugin, from the distribution that fitted it."""
    wanted = f"{step.kind} '{step.name}' from distribution '{step.distribution}' {step.plugin_version}"
    try:
        info = registry.info(step.kind, step.name)
    except UnknownPluginError:
        info = None
    if info is not None and canonical(info.distribution) == canonical(step.distribution):
        try:
            registry.factory(info.kind, info.name)
        except PluginMissingError as exc:
            raise PluginMissingError(f"{where}: {exc}") from exc
        return info
    if step.distribution == LOCAL_DISTRIBUTION:
        raise PluginMissingError(
            f"{where} needs {wanted}, registered in the fitting process with engine.register; register it "
            "the same way before loading the bundle"
        )
    try:
        installed = importlib.metadata.version(step.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise PluginMissingError(
            f"{where} needs {wanted}, which is not installed. "
            f"Install it: pip install '{step.distribution}>={step.plugin_version}'"
        ) from None
    other = f" (the installed '{step.name}' comes from '{info.distribution}')" if info is not None else ""
    todo = (
        f"The manifest names a plugin that version does not have; {_REFIT}" if installed == step.plugin_version
        else f"Install the version that fitted it: pip install '{step.distribution}=={step.plugin_version}'"
    )
    raise PluginMissingError(
        f"{where} needs {wanted}, but the installed {step.distribution} {installed} provides no {step.kind} "
        f"plugin '{step.name}'{other}. {todo}"
    )


def _newer(saved: str, installed: str) -> bool:
    """Whether the saved plugin version is newer than the installed one; when either is not a
    PEP 440 version, whether they differ at all."""
    try:
        return Version(saved) > Version(installed)
    except InvalidVersion:
        return saved != installed


def _family(arrow_type: pa.DataType) -> str:
    """The kind of values a type holds, for `check_input`: types of one family are interchangeable."""
    types = pa.types
    if types.is_dictionary(arrow_type):
        return _family(arrow_type.value_type)
    if types.is_integer(arrow_type):
        return "integer"
    if types.is_floating(arrow_type):
        return "floating"
    if types.is_string(arrow_type) or types.is_large_string(arrow_type) or types.is_string_view(arrow_type):
        return "string"
    if types.is_binary(arrow_type) or types.is_large_binary(arrow_type) or types.is_binary_view(arrow_type):
        return "binary"
    if types.is_list(arrow_type) or types.is_large_list(arrow_type):
        return f"list<{_family(arrow_type.value_type)}>"
    return str(arrow_type)


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema without its own or its fields' metadata (what the data is, not notes about it)."""
    return pa.schema([field.remove_metadata() for field in schema])


def _corrupt(message: str) -> StateError:
    return StateError(f"{message}; the bundle is corrupt: {_REFIT}")


def _json(document: Any, what: str) -> str:
    try:
        return json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"{what} is not plain JSON data: {exc}; give options and params as plain values") from exc


def _hookyard_version() -> str:
    from engine import __version__

    return __version__
