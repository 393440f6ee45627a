"""Pipeline files: TOML <-> Pipeline, with `--set step.field=value` overrides.

A file holds an optional `[pipeline]` table (name, description, report: the folder `hookyard run`
writes the run report to; model: a bundle folder whose fitted steps it uses; fit_sample, seed:
fitting on a seeded sample; executor: what runs it, `{ name = "local", options = { ... } }`; see
`engine.pipeline.Pipeline`) and an array of `[[steps]]`, each with `kind`, `name`, optional `id`
and `state` (a fitted plugin's state file), and the tables `options` (for the plugin) and `params`
(for the step).
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, PipelineValidationError
from engine.names import did_you_mean
from engine.pipeline import Pipeline, Step
from engine.registry import Registry

TOP_KEYS = ("pipeline", "steps")
PIPELINE_KEYS = ("name", "description", "report", "model", "fit_sample", "seed", "executor")
STEP_KEYS = ("kind", "name", "id", "state", "options", "params")
PATH_KEYS = ("report", "model")
_STEP_HEADER = re.compile(r"^\s*\[\[\s*steps\s*\]\]")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def load_pipeline(
    path: str | os.PathLike[str],
    overrides: Iterable[str] = (),
    *,
    registry: Registry | None = None,
) -> Pipeline:
    """Read a pipeline file, apply `overrides` ("step.field=value"), and build the Pipeline."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such pipeline file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the pipeline file: {exc}", path=str(path)) from exc
    return loads_pipeline(text, overrides, source=str(path), registry=registry)


def loads_pipeline(
    text: str,
    overrides: Iterable[str] = (),
    *,
    source: str = "<pipeline>",
    registry: Registry | None = None,
) -> Pipeline:
    """Build a Pipeline from TOML text; structural problems are reported together with their lines."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ConfigError(f"malformed TOML: {exc}", path=source, line=line) from exc
    lines = [i + 1 for i, row in enumerate(text.splitlines()) if _STEP_HEADER.match(row)]
    for override in overrides:
        apply_override(document, override)
    return from_dict(document, source=source, lines=lines, registry=registry)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def from_dict(
    document: Mapping[str, Any],
    *,
    source: str = "<pipeline>",
    lines: list[int] | None = None,
    registry: Registry | None = None,
) -> Pipeline:
    """A Pipeline from the parsed form of a pipeline file."""
    problems = [
        f"unknown top-level key '{key}'.{did_you_mean(key, TOP_KEYS)} Use [pipeline] and [[steps]]."
        for key in document if key not in TOP_KEYS
    ]
    head = document.get("pipeline", {})
    if not isinstance(head, Mapping):
        problems.append("'pipeline' must be a table: [pipeline] with name = \"...\"")
        head = {}
    problems += [f"[pipeline] has no key '{k}'; keys are {', '.join(PIPELINE_KEYS)}" for k in head if k not in PIPELINE_KEYS]
    for key in PATH_KEYS:
        value = head.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"[pipeline] {key} must be a folder path (a string), got {value!r:.40}")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append("no steps: add one [[steps]] table per step, each with kind = \"...\" and name = \"...\"")
        raw_steps = []
    lines = list(lines or [])
    steps = []
    for i, raw in enumerate(raw_steps):
        line = lines[i] if i < len(lines) else None
        where = f"{source}:{line}: step {i + 1}" if line else f"step {i + 1}"
        step, step_problems = _step(raw, where)
        problems += step_problems
        if step is not None:
            steps.append(step)
    settings = {key: head[key] for key in ("report", "model", "fit_sample", "seed") if key in head}
    executor = head.get("executor")
    if executor is not None:
        if isinstance(executor, str):
            executor = {"name": executor}
        if not isinstance(executor, Mapping):
            problems.append(f"[pipeline] executor must be a table {{ name = \"local\", options = {{ ... }} }}, got {executor!r:.40}")
        else:
            settings["executor"] = executor
    if problems:
        raise PipelineValidationError(problems, source=source)
    return Pipeline(steps, name=str(head.get("name", Path(source).stem)), registry=registry, source=source,
                    locations=lines, **settings)


def _step(raw: Any, where: str) -> tuple[Step | None, list[str]]:
    if not isinstance(raw, Mapping):
        return None, [f"{where}: a step must be a table with kind and name"]
    problems = [
        f"{where}: unknown key '{k}'.{did_you_mean(k, STEP_KEYS)} Step keys are {', '.join(STEP_KEYS)}."
        for k in raw if k not in STEP_KEYS
    ]
    for key in ("kind", "name"):
        if not isinstance(raw.get(key), str) or not raw.get(key, "").strip():
            problems.append(f"{where}: '{key}' is required and must be a string")
    for key in ("options", "params"):
        if not isinstance(raw.get(key, {}), Mapping):
            problems.append(f"{where}: '{key}' must be a table ([steps.{key}])")
    for key in ("id", "state"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{where}: '{key}' must be a string")
    if problems:
        return None, problems
    return Step(raw["kind"], raw["name"], dict(raw.get("options", {})), dict(raw.get("params", {})), raw.get("id"),
                raw.get("state")), []


def apply_override(document: dict[str, Any], override: str) -> None:
    """Apply "step.field=value" in place: `solver.name=pulp`, `cate.options.cv=3`, `cate.cv=3`
    (shorthand for options), `sink.params.path="out.parquet"`, or `pipeline.name=x`. The value is
    read as TOML (3, 0.5, true, ["a"]) and otherwise taken as a string."""
    target, sep, raw_value = override.partition("=")
    parts = [p.strip() for p in target.strip().split(".")]
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(f"--set {override!r}: expected STEP.FIELD=VALUE, for example solver.name=pulp")
    value = parse_value(raw_value.strip())
    if parts[0] == "pipeline":
        table = document.setdefault("pipeline", {})
        for key in parts[1:-1]:
            table = table.setdefault(key, {})
            if not isinstance(table, dict):
                raise ConfigError(f"--set {override!r}: pipeline.{key} is not a table")
        table[parts[-1]] = value
        return
    steps = document.get("steps") or []
    ids = [s.get("id") or s.get("kind") for s in steps if isinstance(s, Mapping)]
    matches = [s for s in steps if isinstance(s, Mapping) and (s.get("id") or s.get("kind")) == parts[0]]
    if len(matches) != 1:
        why = "matches several steps; give them ids" if matches else f"matches no step.{did_you_mean(parts[0], ids)}"
        raise ConfigError(f"--set {override!r}: '{parts[0]}' {why} Steps are: {', '.join(map(str, ids))}.")
    step = matches[0]
    field, rest = parts[1], parts[2:]
    if field in ("kind", "name", "id") and not rest:
        step[field] = value
        return
    if field not in ("options", "params"):
        field, rest = "options", parts[1:]
    if not rest:
        raise ConfigError(f"--set {override!r}: name the option, for example {parts[0]}.{field}.KEY=VALUE")
    table = step.setdefault(field, {})
    for key in rest[:-1]:
        table = table.setdefault(key, {})
    table[rest[-1]] = value


def parse_value(text: str) -> Any:
    """A command-line value read as TOML when it is one ("3", "true", "[1, 2]"), else the string itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def to_dict(pipeline: Pipeline) -> dict[str, Any]:
    """The parsed form of a pipeline file for `pipeline`; built plugin objects cannot be written."""
    steps = []
    for step in pipeline.steps:
        if not isinstance(step.name, str):
            raise ConfigError(f"step '{step.id}' holds a built {type(step.name).__name__}; only named plugins can be written")
        entry: dict[str, Any] = {"id": step.id, "kind": step.kind, "name": step.name}
        if step.state:
            entry["state"] = step.state
        if step.options:
            entry["options"] = dict(step.options)
        if step.params:
            entry["params"] = dict(step.params)
        steps.append(entry)
    head: dict[str, Any] = {"name": pipeline.name}
    for key in ("report", "model", "fit_sample"):
        if getattr(pipeline, key) is not None:
            head[key] = getattr(pipeline, key)
    if pipeline.seed:
        head["seed"] = pipeline.seed
    if pipeline.executor != {"name": "local"}:
        head["executor"] = dict(pipeline.executor)
    return {"pipeline": head, "steps": steps}


def dumps_pipeline(pipeline: Pipeline) -> str:
    """The pipeline as TOML text that `loads_pipeline` reads back to the same steps."""
    document = to_dict(pipeline)
    out = ["[pipeline]", *(f"{key} = {_value(value)}" for key, value in document["pipeline"].items())]
    for step in document["steps"]:
        out += ["", "[[steps]]"]
        out += [f"{key} = {_value(step[key])}" for key in ("id", "kind", "name", "state") if key in step]
        for table in ("options", "params"):
            if table in step:
                out.append(f"[steps.{table}]")
                out += [f"{_key(k)} = {_value(v)}" for k, v in step[table].items()]
    return "\n".join(out) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, os.PathLike):
        return json.dumps(os.fspath(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write a {type(value).__name__} ({value!r:.40}) to TOML; use strings, numbers, lists and tables")
