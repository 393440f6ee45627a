"""`hookyard solve` given broken, hostile or oversized problem files and options: each is one clear
`hookyard: error: ...` line naming the fault (exit 1), never a traceback or an "unexpected" error."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.cli import problem_file

VALUES = np.array([[1.0, 2.0], [0.5, 1.25], [2.0, 2.5]])
COSTS = np.array([0.5, 1.0])


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def archive(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    """An .npz written member by member; values.npy is the first member."""
    with zipfile.ZipFile(path, "w", compression=compression) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def rest() -> dict[str, bytes]:
    return {"costs.npy": npy(COSTS), "budget.npy": npy(np.array(1.0))}


def good_npz(path: Path) -> Path:
    np.savez(path, values=VALUES, costs=COSTS, budget=1.0)
    return path


def claiming_size(path: Path, shape: tuple[int, ...]) -> Path:
    """A values.npy whose header and zip directory both claim `shape`, with only 48 bytes of data behind
    them: what a zip bomb looks like before it is inflated, or a member cut short."""
    head = header(shape)
    archive(path, {"values.npy": head + bytes(48), **rest()})
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, entry + 24, len(head) + int(np.prod(shape)) * 8)
    path.write_bytes(bytes(data))
    return path


def corrupt_crc(path: Path) -> Path:
    good = good_npz(path).read_bytes()
    path.write_bytes(good.replace(np.float64(1.25).tobytes(), np.float64(9.5).tobytes(), 1))
    return path


def inflating(path: Path) -> Path:
    """A member whose header says (3, 2) but which inflates to 20 MB."""
    return archive(path, {"values.npy": header((3, 2)) + bytes(20 << 20), **rest()}, zipfile.ZIP_DEFLATED)


def json_file(document: str | bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path = path.with_suffix(".json")
        path.write_bytes(document if isinstance(document, bytes) else document.encode())
        return path

    return write


def fields(**changes: object) -> str:
    return json.dumps({"values": VALUES.tolist(), "costs": COSTS.tolist(), "budget": 1.0, **changes})


def oversized_json(path: Path) -> Path:
    path = path.with_suffix(".json")
    with path.open("wb") as handle:
        handle.write(b'{"values": [[1')
        handle.truncate(problem_file.MAX_JSON_BYTES + 10)
    return path


def saved(**arrays: object) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        np.savez(path, **{"values": VALUES, "costs": COSTS, "budget": 1.0, **arrays})
        return path

    return write


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def raw(data: bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return write


FILES = {
    "empty npz": (raw(b""), "problem.npz: is empty"),
    "truncated npz": (lambda p: raw(good_npz(p).read_bytes()[:300])(p), "not an .npz archive"),
    "random bytes": (raw(np.random.default_rng(0).bytes(600)), "not an .npz archive"),
    "pickled objects": (saved(values=np.array([[1.0, None]], dtype=object)), "holds object entries, which no problem"),
    "header claims (1e9, 3)": (lambda p: archive(p, {"values.npy": header((10**9, 3)) + bytes(48), **rest()}),
                               "claims shape (1000000000, 3) of float64 (24,000,000,000 bytes) but it holds 48 bytes"),
    "zip bomb past the cap": (lambda p: claiming_size(p, (50_000_000, 3)), "more than the 1,073,741,824"),
    "member shorter than its entry": (lambda p: claiming_size(p, (3, 4)), "ends after 48 of its 96 bytes"),
    "member inflating past its header": (inflating, "claims shape (3, 2) of float64 (48 bytes) but it holds 20,971,520"),
    "bad CRC": (corrupt_crc, "corrupt or unreadable .npz archive (Bad CRC-32"),
    "member not .npy": (lambda p: archive(p, {"values.npy": b"hello, world", **rest()}), "not a readable .npy array"),
    "member cut inside its header": (lambda p: archive(p, {"values.npy": header((3, 2))[:20], **rest()}),
                                     "not a readable .npy array"),
    "unknown member": (lambda p: archive(p, {"values.npy": npy(VALUES), "notes.txt": b"x", **rest()}),
                       "unknown members ['notes.txt']"),
    "complex values": (saved(values=VALUES + 1j), "it holds complex numbers (complex128)"),
    "dates as values": (saved(values=np.array([["2026-01-01", "2026-01-02"]], dtype="M8[D]")), "it holds dates"),
    "records as values": (saved(values=np.zeros(2, dtype=[("a", "f8"), ("b", "f8")])), "it holds records"),
    "budget as text in npz": (saved(budget="lots"), "budget must be a number, got 'lots'"),
    "strings in values": (json_file(fields(values=[["a", "b"]])), "values must be numbers"),
    "null budget": (json_file(fields(budget=None)), "budget must be a number, got None"),
    "nulls in costs": (json_file(fields(costs=[None, 1.0])), "costs has 1 NaN or infinite entries (the first at index (0,)"),
    "ragged values": (json_file(fields(values=[[1, 2], [1]])), "inhomogeneous shape"),
    "budget of 10^400": (json_file(fields().replace('"budget": 1.0', '"budget": 1' + "0" * 400)),
                         "budget is too large for a float"),
    "a value of 10^400": (json_file(fields().replace("[[1.0,", "[[1" + "0" * 400 + ",")),
                          "values holds a number too large for a float"),
    "an integer of 5000 digits": (json_file(fields().replace('"budget": 1.0', '"budget": 1' + "0" * 5000)),
                                  "holds a number too long to read"),
    "invalid UTF-8": (json_file(fields(objective="net").encode().replace(b"net", b"n\xffet")),
                      "not UTF-8 text (byte 0xff at offset"),
    "deep JSON": (json_file('{"values": ' + "[" * 100_000 + "]" * 100_000 + "}"), "nested too deeply"),
    "not an object": (json_file("[1, 2, 3]"), "expected one JSON object"),
    "JSON past the cap": (oversized_json, "more than the 64 MiB a .json problem may hold"),
    "a million-item budget": (json_file(fields(budget=list(range(1_000_000)))), "budget must be a number, got [0, 1,"),
    "objective of the wrong type": (json_file(fields(objective=["net"])), "objective ['net'] is not known"),
    "allow_none as text": (json_file(fields(allow_none="yes")), "allow_none must be True or False, got 'yes'"),
    "a folder": (folder, "not a regular file"),
}


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line `hookyard solve` printed, after checking it failed cleanly."""
    code = main(["solve", *argv])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("hookyard: error: ") and "unexpected" not in err and "Traceback" not in err, err
    first = err.splitlines()[0]
    assert len(first) < 600
    return first


@pytest.mark.parametrize("case", list(FILES))
def test_a_bad_problem_file_is_one_clear_error(tmp_path: Path, capsys, case: str) -> None:
    build, expected = FILES[case]
    path = build(tmp_path / "problem.npz")
    line = refused(capsys, str(path), "--solver", "mckp")
    assert expected in line
    assert str(path) in line or path.name in line


@pytest.mark.parametrize(("argv", "expected"), [
    (["--generate", "10000000000", "3"], "asks for 30,000,000,000 values; at most 134,217,728"),
    (["--generate", "3", "2", "--time-limit", "-5"], "--time-limit must be a finite number of seconds > 0"),
    (["--generate", "3", "2", "--time-limit", "nan"], "--time-limit must be a finite number of seconds > 0"),
    (["--generate", "3", "2", "--time-limit", "inf"], "--time-limit must be a finite number of seconds > 0"),
    (["--generate", "3", "2", "--seed", "-1"], "--seed must be a whole number >= 0"),
    (["--generate", "3", "2", "--solver", "ortools:time_limit=-5"], "time_limit must be a finite number of seconds"),
    (["--generate", "3", "2", "--budget", "inf", "--budget-sense", "=="], "got inf with budget_sense '=='"),
])
def test_bad_options_are_one_clear_error(capsys, argv: list[str], expected: str) -> None:
    assert expected in refused(capsys, *argv)


def test_the_checks_pass_good_files_compressed_or_not(tmp_path: Path, capsys) -> None:
    plain = good_npz(tmp_path / "plain.npz")
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, values=np.asfortranarray(VALUES), costs=COSTS, budget=1.0)
    results = []
    for path in (plain, packed):
        assert main(["solve", str(path), "--solver", "mckp", "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out)["results"][0])
    assert results[0]["status"] == "optimal" and results[0]["objective"] == results[1]["objective"]


def test_a_budget_above_every_plan_does_not_bind(tmp_path: Path, capsys) -> None:
    """inf or 1e308 with '<=' solves as no budget at all: each unit its best net treatment."""
    path = good_npz(tmp_path / "problem.npz")
    best = float(np.maximum((VALUES - COSTS).max(axis=1), 0).sum())
    for budget in ("inf", "1e308"):
        assert main(["solve", str(path), "--budget", budget, "--solver", "mckp", "--solver", "ortools"]) == 0
        out = capsys.readouterr().out
        assert f"budget 3 (<=): {float(budget):g} was given, more than any plan can spend" in out
        assert out.count("optimal") == 2 and f"{best:,.6f}" in out


def test_as_a_user_runs_it_no_traceback_reaches_the_terminal(tmp_path: Path) -> None:
    for case in ("truncated npz", "deep JSON", "zip bomb past the cap"):
        path = FILES[case][0](tmp_path / f"{case.replace(' ', '-')}.npz")
        ran = subprocess.run([sys.executable, "-m", "engine", "solve", str(path)], capture_output=True, text=True,
                             cwd=tmp_path, env={**os.environ, "HOOKYARD_LOAD_PLUGINS": ""}, timeout=300)
        assert ran.returncode == 1 and ran.stdout == ""
        assert ran.stderr.splitlines() == [ran.stderr.splitlines()[0], "  (rerun with --debug for the traceback)"]
        assert ran.stderr.startswith(f"hookyard: error: {path}: ") and FILES[case][1] in ran.stderr
