"""Where a `duckdb` source reads from: files, globs, folders (hive partitions) and S3 objects,
checked before DuckDB runs so that a missing file or refused credentials get a clear error."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import attrs

from engine.errors import DataError
from plugins.sources.s3 import CREDENTIALS_HINT

FORMATS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
}
COMPRESSION = (".gz", ".zst", ".zstd")
DATABASE_SUFFIXES = (".duckdb", ".ddb", ".db")
S3_SCHEMES = ("s3://", "s3a://")


@attrs.frozen
class Located:
    """The patterns DuckDB reads, in which format, and whether any is on S3."""

    patterns: tuple[str, ...]
    format: str
    remote: bool


def is_s3(path: str) -> bool:
    return path.lower().startswith(S3_SCHEMES)


def has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def format_of(path: str) -> str | None:
    """The format a file's suffix names (compression suffixes skipped), or None."""
    suffixes = [s.lower() for s in PurePosixPath(path).suffixes]
    while suffixes and suffixes[-1] in COMPRESSION:
        suffixes.pop()
    return FORMATS.get(suffixes[-1]) if suffixes else None


def locate(paths: Sequence[str], fmt: str, filesystem: Any = None, *, wildcards: bool = True) -> Located:
    """Check that every path, glob or folder matches data, and settle the format; `filesystem`
    (s3fs, or `s3.DuckDBFiles` on the httpfs route) lists the S3 paths. Without `wildcards` each path
    is a file or folder spelt literally, and reaches DuckDB with `*`, `?` and `[` escaped."""
    patterns: list[str] = []
    found: list[str] = []
    for path in paths:
        remote = is_s3(path)
        try:
            matched, pattern = _match(path, filesystem if remote else None, wildcards)
        except DataError:
            raise
        except PermissionError as exc:
            raise DataError(f"S3 refused access to {path!r} ({exc}); {CREDENTIALS_HINT}") from exc
        except Exception as exc:
            raise DataError(f"cannot read {path!r}: {type(exc).__name__}: {exc}") from exc
        patterns.extend(pattern)
        found.extend(matched)
    return Located(tuple(patterns), _settle_format(found, fmt), any(is_s3(p) for p in paths))


def _match(path: str, fs: Any, wildcards: bool) -> tuple[list[str], list[str]]:
    """(files matched, patterns for DuckDB) for one path; raises DataError when nothing matches, or
    when a local pattern is also the name of a file or folder (`glob=False` reads that one)."""
    if fs is None:
        path = os.path.expanduser(path)
    if wildcards and has_glob(path):
        if fs is None and os.path.exists(path):
            raise DataError(f"{path!r} is a pattern (its '*', '?' or '[' match other names) and also the name of a "
                            "file or folder; pass glob=False to read that one as it is spelt, or write a pattern "
                            "that names no file")
        matched = fs.glob(path) if fs is not None else glob.glob(path, recursive=True)
        if not matched:
            raise DataError(f"the pattern {path!r} matches no files; check the folder and the wildcard")
        return matched, [path]
    is_dir = fs.isdir(path) if fs is not None else os.path.isdir(path)
    if is_dir:
        return _folder(path, fs)
    exists = fs.exists(path) if fs is not None else os.path.isfile(path)
    if not exists:
        raise DataError(f"no such file: {path!r}")
    return [path], [glob.escape(path)]


def _folder(path: str, fs: Any) -> tuple[list[str], list[str]]:
    """A folder (hive-partitioned or not): every data file below it, read as `folder/**/*.<suffix>`."""
    if fs is not None:
        files = fs.find(path)
    else:
        files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    data = [f for f in files if format_of(f) and not PurePosixPath(f).name.startswith((".", "_"))]
    if not data:
        raise DataError(f"the folder {path!r} holds no Parquet, CSV or JSON files")
    suffixes = sorted({"".join(PurePosixPath(f).suffixes) for f in data})
    base = glob.escape(path.rstrip("/"))
    return data, [f"{base}/**/*{glob.escape(suffix)}" for suffix in suffixes]


def _settle_format(files: Sequence[str], fmt: str) -> str:
    if fmt != "auto":
        return fmt
    formats = {format_of(f) for f in files}
    if None in formats or len(formats) != 1:
        unknown = sorted(f for f in files if format_of(f) is None)[:3]
        detail = f"cannot tell the format of {unknown}" if unknown else f"the files mix formats {sorted(formats)}"
        raise DataError(f"{detail}; pass format='parquet', 'csv' or 'json'")
    return formats.pop()
