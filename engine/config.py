"""Pipeline files: TOML <-> Pipeline, with `--set step.field=value` overrides.

A file holds an optional `[pipeline]` table (name, description, report: the folder `hookyard run`
writes the run report to; model: a bundle folder whose fitted steps it uses; fit_sample, seed:
fitting on a seeded sample; executor: what runs it, `{ name = "local", options = { ... } }`; see
`engine.pipeline.Pipeline`) and an array of `[[steps]]`, each with `kind`, `name`, optional `id`
and `state` (a fitted plugin's state file), and the tables `options` (for the plugin) and `params`
(for the step).

A file is read only up to MAX_FILE_BYTES and may nest at most MAX_DEPTH levels, and no key or string
in it may hold a NUL byte, so that hostile input is a ConfigError rather than a hang or a crash.
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

from engine.errors import ConfigError, PipelineValidationError, shorten
from engine.names import did_you_mean
from engine.pipeline import Pipeline, Step
from engine.registry import Registry

TOP_KEYS = ("pipeline", "steps")
PIPELINE_KEYS = ("name", "description", "report", "model", "fit_sample", "seed", "executor")
STEP_KEYS = ("kind", "name", "id", "state", "options", "params")
PATH_KEYS = ("report", "model")
MAX_FILE_BYTES = 10_000_000
"""The largest pipeline file read: a pipeline is a page of TOML, so more is the wrong file (/dev/zero)."""
MAX_DEPTH = 100
"""The deepest nesting of tables and lists a pipeline file may hold; a real one nests a few levels."""
_STEP_HEADER = re.compile(r"""^\s*\[\[\s*(steps|"steps"|'steps')\s*\]\]""")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_STRING_OR_COMMENT = re.compile(r"\"\"\"|'''|[\"'#]")
_STRING_REST = {  # from inside a string to just past its end; a multi-line one may end in up to 5 quotes
    '"': re.compile(r'(?:[^"\\]|\\.)*"'),
    "'": re.compile(r"[^']*'"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*""""{0,2}'),
    "'''": re.compile(r"(?:[^']|'(?!''))*''''{0,2}"),
}


def load_pipeline(
    path: str | os.PathLike[str],
    overrides: Iterable[str] = (),
    *,
    registry: Registry | None = None,
) -> Pipeline:
    """Read a pipeline file, apply `overrides` ("step.field=value"), and build the Pipeline."""
    return loads_pipeline(read_text(path), overrides, source=str(path), registry=registry)


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a pipeline file: at most MAX_FILE_BYTES of UTF-8 (a device or pipe is read up to it)."""
    shown = str(path)
    if "\0" in shown:
        raise ConfigError(f"the pipeline file's path {shorten(repr(shown))} holds a NUL byte, which no path can; give the file's real path")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("no such pipeline file", path=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the pipeline file: {exc.strerror or exc}", path=shown) from exc
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB, the most a pipeline file may be; "
                          "a pipeline is a short TOML document, so check that this is the right file", path=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8",
                          path=shown) from None


def loads_pipeline(
    text: str,
    overrides: Iterable[str] = (),
    *,
    source: str = "<pipeline>",
    registry: Registry | None = None,
) -> Pipeline:
    """Build a Pipeline from TOML text; structural problems are reported together with their lines."""
    document = parse_toml(text, source)
    for override in overrides:
        apply_override(document, override)
    return from_dict(document, source=source, lines=step_lines(text), registry=registry)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The parsed TOML document; malformed or too deeply nested text is a ConfigError with its line."""
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more digits than Python converts
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ConfigError(f"malformed TOML: {exc}", path=source, line=line) from exc
    except RecursionError:
        raise ConfigError(_too_deep("the file"), path=source) from None


def _too_deep(what: str) -> str:
    return f"{what} nests tables or lists more than {MAX_DEPTH} levels deep; a pipeline needs a few"


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def step_lines(text: str) -> list[int]:
    """The line of each [[steps]] header in TOML `text` (tomllib gives no positions): a line inside a
    multi-line string is not a header, so the scan follows strings and comments as TOML reads them."""
    lines = []
    open_string: str | None = None
    for number, row in enumerate(text.split("\n"), 1):
        if open_string is None and _STEP_HEADER.match(row):
            lines.append(number)
        open_string = _string_open_after(row, open_string)
    return lines


def _string_open_after(row: str, open_string: str | None) -> str | None:
    """The multi-line string delimiter (\"\"\" or ''') still open at the end of `row`, given the one open
    at its start; single-line strings and comments are skipped."""
    i = 0
    while True:
        if open_string is not None:
            closed = _STRING_REST[open_string].match(row, i)
            if closed is None:
                return open_string if len(open_string) == 3 else None
            i, open_string = closed.end(), None
        token = _STRING_OR_COMMENT.search(row, i)
        if token is None or token.group() == "#":
            return None
        open_string, i = token.group(), token.end()


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
    problems += _value_problems(head, "[pipeline]")
    problems += [f"[pipeline] has no key '{k}'; keys are {', '.join(PIPELINE_KEYS)}" for k in head if k not in PIPELINE_KEYS]
    for key in PATH_KEYS:
        value = head.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"[pipeline] {key} must be a folder path (a string), got {value!r:.40}")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append("no steps: add one [[steps]] table per step, each with kind = \"...\" and name = \"...\"")
        raw_steps = []
    lines = list(lines or []) if len(lines or []) == len(raw_steps) else []
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"{source}:{lines[i]}: step {i + 1}" if lines else f"step {i + 1}"
        problems += _value_problems(raw, where)
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


def _value_problems(section: Any, where: str) -> list[str]:
    """The keys in `section` whose name or string value holds a NUL byte, which no path or name can
    hold. Nesting past MAX_DEPTH raises, so that no later walk over the document recurses without end;
    the walk itself is iterative and keeps only tables and lists to visit."""
    found = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(section, ())] if isinstance(section, (Mapping, list, tuple)) else []
    while stack:
        value, trail = stack.pop()
        if len(trail) > MAX_DEPTH:
            raise ConfigError(f"{where}: {_too_deep(_dotted(trail[:3]) + '...')}")
        for key, item in value.items() if isinstance(value, Mapping) else enumerate(value):
            if "\0" in str(key) or (isinstance(item, str) and "\0" in item):
                found.append((*trail, key))
            elif isinstance(item, (Mapping, list, tuple)):
                stack.append((item, (*trail, key)))
    return [f"{where}: {_dotted(trail)} holds a NUL byte (\\0), which no path or name can hold; remove it"
            for trail in found]


def _dotted(trail: tuple[Any, ...]) -> str:
    """A key path as a person types it: options.columns[2]."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in trail).lstrip(".").replace("\0", "\\0")


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
        raise ConfigError(f"--set {shorten(repr(override))}: expected STEP.FIELD=VALUE, for example solver.name=pulp")
    try:
        value = parse_value(raw_value.strip())
    except RecursionError:
        raise ConfigError(f"--set {shorten(repr(override))}: {_too_deep('the value')}") from None
    if parts[0] == "pipeline":
        _assign(document, parts, value, override, skip=0)
        return
    raw_steps = document.get("steps")
    steps = [s for s in raw_steps if isinstance(s, dict)] if isinstance(raw_steps, list) else []
    ids = [s.get("id") or s.get("kind") for s in steps]
    matches = [s for s, step_id in zip(steps, ids) if step_id == parts[0]]
    if len(matches) != 1:
        named = [i for i in ids if isinstance(i, str)]
        why = "matches several steps; give them ids" if matches else f"matches no step.{did_you_mean(parts[0], named)}"
        raise ConfigError(f"--set {shorten(repr(override))}: '{parts[0]}' {why} Steps are: {shorten(', '.join(named))}.")
    step = matches[0]
    field, rest = parts[1], parts[2:]
    if field in ("kind", "name", "id") and not rest:
        step[field] = value
        return
    if field not in ("options", "params"):
        parts = [parts[0], "options", *parts[1:]]
    if len(parts) < 3:
        raise ConfigError(f"--set {shorten(repr(override))}: name the option, for example {parts[0]}.{field}.KEY=VALUE")
    _assign(step, parts, value, override, skip=1)


def _assign(table: dict[str, Any], path: list[str], value: Any, override: str, *, skip: int) -> None:
    """Set the value at `path` (past its first `skip` names, which chose `table`), making the tables
    missing on the way; a key below a value that is not a table is refused, naming that value's path."""
    keys = path[skip:]
    for depth, key in enumerate(keys[:-1]):
        below = table.setdefault(key, {})
        if not isinstance(below, dict):
            at = ".".join(path[:skip + depth + 1])
            raise ConfigError(f"--set {shorten(repr(override))}: the value at {at} is {_a_kind_of(below)}, not a table, so it "
                              f"has no key '{keys[depth + 1]}'; set {at}=VALUE to replace it")
        table = below
    table[keys[-1]] = value


def _a_kind_of(value: Any) -> str:
    """What a TOML value is, as a person says it: a number, a string, a list."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r:.40})"
    if isinstance(value, str):
        return f"a string ({value!r:.40})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__} ({value!s:.40})"


def parse_value(text: str) -> Any:
    """A command-line value read as TOML when it is one ("3", "true", "[1, 2]"), else the string itself."""
    try:
        document = tomllib.loads(f"v = {text}")
    except ValueError:  # not TOML (TOMLDecodeError), or an integer too long to convert
        return text
    return document["v"] if len(document) == 1 else text


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
