"""Reading `hookyard solve` problem files (.npz, .json) so that every empty, truncated, corrupt, hostile or
oversized file is a DataError naming the file and the fault, found before any large allocation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.errors import DataError

FIELDS = ("values", "costs", "budget", "budget_sense", "min_count", "max_count", "objective", "allow_none")

MAX_ARRAY_BYTES = 1 << 30
"""The most one array of an .npz problem may hold (1 GiB: 134,217,728 float64 entries)."""

MAX_JSON_BYTES = 64 << 20
"""The most a .json problem file may hold (64 MiB); larger problems belong in an .npz."""


def read_problem_file(path: str) -> dict[str, Any]:
    """The problem's fields from a .npz or .json file (the keys are FIELDS)."""
    file = Path(path)
    if not file.exists():
        raise DataError(f"no problem file {path!r}")
    if not file.is_file():
        raise DataError(f"{path}: not a regular file; give a .npz or .json problem file")
    readers = {".npz": _read_npz, ".json": _read_json}
    if file.suffix not in readers:
        raise DataError(f"{path}: problem files are .npz or .json, not {file.suffix or 'no suffix'!r}")
    try:
        raw = readers[file.suffix](file)
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise DataError(f"{path}: unknown keys {_few(unknown)}; the keys are {list(FIELDS)}")
    return raw


def _few(keys: list[str]) -> str:
    """The first keys, each cut short, for an error line of bounded length."""
    shown = ", ".join(f"{key!r:.40}" for key in keys[:5])
    return f"[{shown}{f', ... ({len(keys)} in all)' if len(keys) > 5 else ''}]"


def _read_json(file: Path) -> dict[str, Any]:
    with file.open("rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise DataError(f"{file}: more than the {MAX_JSON_BYTES >> 20} MiB a .json problem may hold; "
                        "save a large problem as .npz (numpy.savez)")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
                        "save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{file}: not valid JSON: {exc}") from None
    except RecursionError:
        raise DataError(f"{file}: nested too deeply to read; a problem's arrays are at most two levels deep "
                        "(units x treatments)") from None
    except ValueError:
        raise DataError(f"{file}: holds a number too long to read (over 4,300 digits); numbers must fit a float "
                        "(at most about 1.8e308)") from None
    if not isinstance(raw, dict):
        raise DataError(f"{file}: expected one JSON object with keys {list(FIELDS)}, got {type(raw).__name__}")
    return raw


def _read_npz(file: Path) -> dict[str, Any]:
    """Each member's .npy header is read and checked against the member's size and MAX_ARRAY_BYTES
    before its data is read; object arrays (pickles) are refused, never loaded."""
    import zipfile
    import zlib

    if not zipfile.is_zipfile(file):
        what = "is empty" if file.stat().st_size == 0 else "is not an .npz archive (truncated, or another kind of file)"
        raise DataError(f"{file}: {what}; write it with numpy.savez")
    try:
        with zipfile.ZipFile(file) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            unknown = sorted(info.filename for key, info in members.items()
                             if key not in FIELDS or not info.filename.endswith(".npy"))
            if unknown:
                raise DataError(f"{file}: unknown members {_few(unknown)}; the keys are {list(FIELDS)}, each "
                                "saved as <key>.npy (numpy.savez)")
            arrays = {key: _member(file, archive, info) for key, info in members.items()}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError(f"{file}: a corrupt or unreadable .npz archive ({exc}); write it again with numpy.savez") from None
    return {key: value.item() if value.ndim == 0 else value for key, value in arrays.items()}


def _member(file: Path, archive: Any, info: Any) -> Any:
    """One member's array, its header checked before its data is read."""
    import numpy as np
    from numpy.lib import format as npy

    where = f"{file}: member {info.filename}"
    headers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    with archive.open(info) as stream:
        try:
            version = npy.read_magic(stream)
            if version not in headers:
                raise ValueError(f"its .npy format version {version} is not supported")
            shape, fortran, dtype = headers[version](stream)
        except ValueError as exc:
            raise DataError(f"{where} is not a readable .npy array ({exc})") from None
        if dtype.hasobject or dtype.itemsize == 0 or dtype.shape:
            raise DataError(f"{where} holds {dtype} entries, which no problem has (Python objects are never "
                            "unpickled): save numbers, and strings for budget_sense and objective")
        if any(size < 0 for size in shape):
            raise DataError(f"{where} claims the impossible shape {shape}")
        size = math.prod(shape) * dtype.itemsize
        held = info.file_size - stream.tell()
        if size != held:
            raise DataError(f"{where}: its header claims shape {shape} of {dtype} ({size:,} bytes) but it holds "
                            f"{held:,} bytes; the file is truncated or corrupt: write it again with numpy.savez")
        if size > MAX_ARRAY_BYTES:
            raise DataError(f"{where} holds {size:,} bytes (shape {shape}), more than the {MAX_ARRAY_BYTES:,} "
                            "one array of a problem file may; solve a problem that large in a pipeline's "
                            "solver step, which streams it by partitions")
        data = stream.read(size)
    if len(data) != size:
        raise DataError(f"{where} ends after {len(data):,} of its {size:,} bytes; the file is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
