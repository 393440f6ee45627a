"""Hostile pipeline files and --set values: each is a clear HookyardError, never a raw exception.

Every case runs through the real `hookyard` command in a subprocess, except those that need a NUL
byte in an argument, which no process can be given (they call `engine.cli.main` in-process).
A property test feeds random TOML documents, random bytes and random --set values to `validate`.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import build_parser, main
from engine.config import MAX_DEPTH, MAX_FILE_BYTES, load_pipeline, step_lines
from engine.errors import ConfigError, HookyardError
from tests.conftest import write_distribution
from tests.plugin_sources import ENCODER, ENCODER_IMPL

SOURCE_AND_SINK = """
[pipeline]
name = "hostile"

[[steps]]
id = "source"
kind = "source"
name = "synthetic"
options = { n = 50, seed = 1 }

[[steps]]
id = "sink"
kind = "sink"
name = "parquet"
options = { path = "out.parquet" }
"""


def _clear_failure(result, *expected: str) -> None:
    """Exit 1 with every `expected` text on stderr, and no traceback nor 'unexpected' label."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("override", "value_at", "kind_of"),
    [
        ("source.options.n.x=3", "source.options.n", "is a number (50), not a table"),
        ("source.n.x=3", "source.options.n", "is a number (50), not a table"),
        ("sink.options.path.x=1", "sink.options.path", "is a string ('out.parquet'), not a table"),
        ("pipeline.name.x=1", "pipeline.name", "is a string ('hostile'), not a table"),
    ],
)
def test_a_key_below_a_value_that_is_not_a_table_names_the_set(hookyard_cli, tmp_path: Path, override, value_at,
                                                                   kind_of) -> None:
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK)
    result = hookyard_cli("run", "p.toml", "--no-report", "--set", override)
    _clear_failure(result, f"--set {override!r}", f"the value at {value_at} {kind_of}")
    assert not (tmp_path / "out.parquet").exists()


def test_a_key_below_a_step_table_that_is_a_string_is_refused(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK.replace('options = { path = "out.parquet" }', 'options = "x"'))
    result = hookyard_cli("validate", "p.toml", "--set", "sink.options.path=1")
    _clear_failure(result, "the value at sink.options is a string ('x'), not a table")


def _nested(depth: int, opening: str, closing: str) -> str:
    return SOURCE_AND_SINK.replace("{ n = 50, seed = 1 }", "{ n = 50, deep = " + opening * depth + "1" + closing * depth + " }")


@pytest.mark.parametrize("depth", [150, 3000])
@pytest.mark.parametrize(("opening", "closing"), [("{ a = ", " }"), ("[", "]")])
def test_deep_nesting_is_refused_whether_or_not_the_parser_copes(hookyard_cli, tmp_path: Path, depth, opening,
                                                                   closing) -> None:
    (tmp_path / "deep.toml").write_text(_nested(depth, opening, closing))
    _clear_failure(hookyard_cli("validate", "deep.toml"), f"more than {MAX_DEPTH} levels deep")


def test_deep_nesting_in_a_set_value_is_refused(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK)
    for depth in (150, 3000):
        result = hookyard_cli("validate", "p.toml", "--set", "source.deep=" + "[" * depth + "]" * depth)
        _clear_failure(result, f"more than {MAX_DEPTH} levels deep")
    keys = hookyard_cli("validate", "p.toml", "--set", "source.deep." + ".".join(["a"] * 3000) + "=1")
    _clear_failure(keys, "step 1: options.deep.a... nests tables or lists more than")


def test_nesting_within_the_limit_still_reaches_the_option_checks(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(_nested(MAX_DEPTH - 5, "[", "]"))
    _clear_failure(hookyard_cli("validate", "p.toml"), "has no option 'deep'")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('path = "out.parquet"', 'path = "out\\u0000.parquet"', "p.toml:11: step 2: options.path holds a NUL byte"),
        ('name = "hostile"', 'name = "hostile"\nreport = "rep\\u0000ort"', "[pipeline]: report holds a NUL byte"),
        ('name = "synthetic"\noptions = { n = 50, seed = 1 }', 'name = "duckdb"\noptions = { path = "in\\u0000.csv" }',
         "step 1: options.path holds a NUL byte"),
        ('name = "hostile"', 'name = "hostile"\nmodel = "mo\\u0000del"', "[pipeline]: model holds a NUL byte"),
    ],
)
def test_a_nul_byte_in_a_path_of_the_file_is_a_config_error(hookyard_cli, tmp_path: Path, old, new, where) -> None:
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK.replace(old, new))
    _clear_failure(hookyard_cli("run", "p.toml"), where, "which no path or name can hold")
    assert not list(tmp_path.glob("out*"))


def test_a_nul_byte_in_a_set_path_is_a_config_error(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK)
    for override, where in [('sink.path="a\\u0000b"', "step 2: options.path"),
                            ('pipeline.report="a\\u0000b"', "[pipeline]: report")]:
        _clear_failure(hookyard_cli("run", "p.toml", "--set", override), f"{where} holds a NUL byte")


@pytest.mark.parametrize("argv", [["run", "p.toml", "--report", "rep\0ort"], ["run", "p\0.toml"],
                                  ["-C", "a\0b", "validate", "p.toml"]])
def test_a_nul_byte_in_an_argument_is_a_config_error(tmp_path: Path, monkeypatch, capsys, argv) -> None:
    """execve cannot pass a NUL byte, so this calls the command's entry point in-process."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "holds a NUL byte" in err and "unexpected" not in err
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob("rep*"))


def test_a_nul_byte_in_the_pipeline_path_is_a_config_error_from_the_api() -> None:
    with pytest.raises(ConfigError, match="holds a NUL byte"):
        load_pipeline("pipe\0line.toml")


def test_an_integer_too_long_for_python_is_a_config_error(hookyard_cli, tmp_path: Path) -> None:
    digits = "9" * 5_000
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK.replace("n = 50", f"n = {digits}"))
    _clear_failure(hookyard_cli("validate", "p.toml"), "p.toml: malformed TOML")
    (tmp_path / "p.toml").write_text(SOURCE_AND_SINK)
    _clear_failure(hookyard_cli("validate", "p.toml", "--set", f"source.n={digits}"), "option 'n' must be int, got str")


def test_a_device_is_read_only_up_to_the_size_cap(hookyard_cli) -> None:
    _clear_failure(hookyard_cli("run", "/dev/zero"), "/dev/zero: the file is larger than 10 MB")
    _clear_failure(hookyard_cli("sweep", "/dev/zero", "--set", "source.n=1,2"), "/dev/zero: the file is larger than 10 MB")


def test_a_state_file_that_is_a_device_is_refused_not_read(hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text('[[steps]]\nkind = "source"\nname = "memory"\n'
                                     '[[steps]]\nkind = "encoder"\nname = "onehot"\nstate = "/dev/zero"\n')
    _clear_failure(hookyard_cli("validate", "p.toml"), "/dev/zero is not a regular file")


def test_a_regular_file_over_the_size_cap_is_refused(hookyard_cli, tmp_path: Path) -> None:
    text = SOURCE_AND_SINK + "#" * (MAX_FILE_BYTES - len(SOURCE_AND_SINK)) + "\n"
    (tmp_path / "big.toml").write_text(text)
    _clear_failure(hookyard_cli("validate", "big.toml"), "big.toml: the file is larger than 10 MB")
    (tmp_path / "fits.toml").write_text(text[:MAX_FILE_BYTES - 1] + "\n")
    assert hookyard_cli("validate", "fits.toml").returncode == 0


MULTILINE = "\n".join([
    '[pipeline]',
    'name = "ml"',
    'description = """',
    'A pipeline has',
    '[[steps]]',
    "tables, one per step; \'\'\' and \"\" and \\\"\"\" do not end this string.",
    '"""',
    '# [[steps]] in a comment',
    '[[steps]]',
    'kind = "source"',
    'name = "memory"',
    'options = { data = { n = [1, 2, 3] } }',
    "params = { note = \'\'\'",
    '[[steps]]',
    "\'\'\' }",
    '',
    '[[ "steps" ]]',
    'kind = "sink"',
    'name = "parquet"',
    'options = { pathh = "x.parquet", title = """one """"" }',
    '',
])


def test_error_lines_skip_step_headers_inside_multiline_strings(hookyard_cli, tmp_path: Path) -> None:
    assert step_lines(MULTILINE) == [9, 17]
    (tmp_path / "ml.toml").write_text(MULTILINE)
    _clear_failure(hookyard_cli("validate", "ml.toml"), "ml.toml:9: step 1 'source'", "ml.toml:17: step 2 'sink'")


def test_an_error_quoting_a_huge_value_is_cut_to_a_readable_size(hookyard_cli, tmp_path: Path) -> None:
    items = ", ".join(f'"c{i}"' for i in range(50_000))
    (tmp_path / "big.toml").write_text(f"""
[[steps]]
kind = "source"
name = "memory"
options = {{ data = {{ n = [1, 2, 3] }}, columns = [{items}] }}
""")
    result = hookyard_cli("run", "big.toml", "--no-report")
    _clear_failure(result, "step 1 'source'", "'c0', 'c1'", "characters in all] ...")
    assert len(result.stderr) < 5_000


def test_many_problems_are_cut_to_a_readable_number_of_lines(hookyard_cli, tmp_path: Path) -> None:
    options = ", ".join(f"bad{i} = 1" for i in range(5_000))
    (tmp_path / "many.toml").write_text(SOURCE_AND_SINK.replace("{ n = 50, seed = 1 }", f"{{ {options} }}"))
    result = hookyard_cli("validate", "many.toml")
    _clear_failure(result, "has no option 'bad0'", "more lines (rerun with --debug")
    assert len(result.stderr.splitlines()) < 50


SHOUT = """
[[steps]]
kind = "source"
name = "memory"
options = { data = { a = ["x", "y"], aB = ["p", "q"] } }

[[steps]]
id = "shout"
kind = "encoder"
name = "shout"
options = { columns = ["a"], suffix = "B" }
"""

SINK = """
[[steps]]
kind = "sink"
name = "parquet"
options = { path = "out.parquet" }
"""


def _acme(tmp_path: Path) -> dict[str, str]:
    """The environment of a user who installed the acme encoder: "shout" upper-cases a column and
    renames it with a suffix, so that suffix "B" turns column a into the existing aB."""
    acme = ENCODER.replace('summary="upper-cases strings"', 'summary="upper-cases strings", capabilities={"persist"}')
    root = write_distribution(tmp_path / "site", "acme-encoders", {"acme": acme, "acme_impl": ENCODER_IMPL},
                              {"acme": "acme"})
    return {"PYTHONPATH": str(root)}


def test_a_step_after_the_sink_adding_an_existing_column_fails_before_anything_is_kept(hookyard_cli,
                                                                                      tmp_path: Path) -> None:
    env = _acme(tmp_path)
    (tmp_path / "fit.toml").write_text(SHOUT)
    fitted = hookyard_cli("-q", "fit", "fit.toml", "--model", "model", env=env)
    assert fitted.returncode == 0, fitted.stderr
    source, encoder = SHOUT.split("[[steps]]")[1:]
    (tmp_path / "run.toml").write_text(f"[[steps]]{source}{SINK}[[steps]]{encoder}state = \"model/shout.json\"\n")
    result = hookyard_cli("run", "run.toml", "--no-report", env=env)
    _clear_failure(result, "run.toml:11: step 3 'shout' (encoder 'shout') failed: DataError",
                   "more than one column named 'aB'")
    assert not (tmp_path / "out.parquet").exists()


def test_a_step_adding_an_existing_column_never_writes_an_unreadable_file(hookyard_cli, tmp_path: Path) -> None:
    env = _acme(tmp_path)
    (tmp_path / "p.toml").write_text(SHOUT + SINK)
    _clear_failure(hookyard_cli("run", "p.toml", "--no-report", env=env), "step 2 'shout'", "column named 'aB'")
    assert not (tmp_path / "out.parquet").exists()
    assert hookyard_cli("run", "p.toml", "--no-report", "--set", 'shout.suffix="C"', env=env).returncode == 0
    assert pq.read_table(tmp_path / "out.parquet").to_pydict() == {"aC": ["X", "Y"], "aB": ["p", "q"]}


# -- property test: random documents and --set values through `validate` ---------------------------

NAMES = ["pipeline", "steps", "kind", "name", "id", "state", "options", "params", "report", "model", "fit_sample",
         "seed", "executor", "description", "source", "sink", "encoder", "cate", "solver", "decoder", "memory",
         "synthetic", "duckdb", "parquet", "csv", "onehot", "dml", "mckp", "local", "ray", "data", "columns", "path",
         "n", "budget", "costs", "filters", "x", ""]
KEYS = st.sampled_from(NAMES) | st.text(string.ascii_letters + "_-. \0é", max_size=6)
TEXT = st.sampled_from(NAMES) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
SCALARS = (st.booleans() | st.integers() | st.integers(min_value=-10**30, max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT | st.dates() | st.datetimes())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=12)
STEP = st.fixed_dictionaries(
    {"kind": st.sampled_from(NAMES[14:20]) | TEXT, "name": st.sampled_from(NAMES[20:30]) | VALUES},
    optional={"id": TEXT, "state": TEXT | VALUES, "options": st.dictionaries(KEYS, VALUES, max_size=4),
              "params": st.dictionaries(KEYS, VALUES, max_size=4), "extra": VALUES},
)
SHAPED = st.fixed_dictionaries(
    {"steps": st.lists(STEP | VALUES, max_size=4)},
    optional={"pipeline": st.dictionaries(st.sampled_from(NAMES[:14]) | KEYS, VALUES, max_size=4), "x": VALUES},
)
DOCUMENTS = SHAPED | st.dictionaries(KEYS, VALUES, max_size=4)
TARGETS = st.lists(KEYS, min_size=1, max_size=5).map(".".join)
OVERRIDES = st.lists(
    st.builds(lambda target, value: f"{target}={value}", TARGETS, VALUES.map(lambda v: _toml(v)) | TEXT)
    | st.text(max_size=20),
    max_size=3,
)


def _toml(value) -> str:
    """A value as a TOML literal (strings and keys as JSON strings, which TOML reads alike)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return value.isoformat()


def _document_text(document: dict, tables: bool) -> str:
    """The document as TOML: inline values, or with `tables` its steps as [[steps]] tables."""
    rows = [f"{_toml(k)} = {_toml(v)}" for k, v in document.items() if not (tables and k == "steps")]
    steps = document.get("steps") if tables else None
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        for step in steps:
            rows += ["", "[[steps]]", *(f"{_toml(k)} = {_toml(v)}" for k, v in step.items())]
    elif tables and "steps" in document:
        rows.insert(0, f'"steps" = {_toml(document["steps"])}')
    return "\n".join(rows) + "\n"


def _validate(data: bytes, overrides: list[str]) -> None:
    """`hookyard validate FILE --set ...` as the command runs it, raising what it raises."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "p.toml")
        path.write_bytes(data)
        args = build_parser().parse_args(["-q", "validate", str(path), *(f"--set={o}" for o in overrides)])
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            args.handler(args)
        except HookyardError:
            pass
        finally:
            os.chdir(cwd)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS, tables=st.booleans(), overrides=OVERRIDES)
def test_random_documents_and_overrides_raise_only_hookyard_errors(document, tables, overrides) -> None:
    _validate(_document_text(document, tables).encode("utf-8", "surrogatepass"), overrides)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300) | st.text(string.printable + "[]{}=\"'\0", max_size=300).map(str.encode),
       overrides=OVERRIDES)
def test_random_bytes_raise_only_hookyard_errors(data, overrides) -> None:
    _validate(data, overrides)
