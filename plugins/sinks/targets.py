"""Where a sink writes, checked when it is built, before any step runs: a path that is empty, a
folder, not a regular file, or in a folder the run cannot write is an OptionError up front rather
than a failure after all the work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.atomic import blocked_by
from engine.errors import OptionError


def part_folder(target: Path) -> bool:
    """Whether `target` is a folder of Parquet part files only (`part-00000.parquet` on), as the Ray
    executor writes a `parquet` sink, one file per block: such a folder it may replace."""
    entries = list(target.iterdir()) if target.is_dir() else []
    return bool(entries) and all(e.is_file() and e.name.startswith("part-") and e.name.endswith(".parquet")
                                 for e in entries)


def check_file_target(path: Any, *, where: str, option: str = "path") -> Path:
    """`path` (`~` expanded) when a file can be written there: it is a non-empty path, names no
    folder (but a `part_folder`) or special file, and its nearest existing folder is a folder this
    process may write in (the sink creates the folders below it)."""
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text.strip():
        raise OptionError(f"{where}: {option} is empty; give the file to write, e.g. {option}='results/out.parquet'")
    if "\0" in text:
        raise OptionError(f"{where}: {option} {text!r} holds a NUL byte, which no file name can")
    target = Path(os.path.expanduser(text))
    if target.is_dir():
        if not part_folder(target):
            raise OptionError(f"{where}: {option} {text!r} is a folder; give a file in it, e.g. "
                              f"{str(target / ('out' + (target.suffix or '.parquet')))!r}")
    elif target.exists() and not target.is_file():
        raise OptionError(f"{where}: {option} {text!r} exists and is not a regular file (a device, socket or "
                          "pipe), which a sink does not replace; give a file path")
    blocked = blocked_by(target.parent)
    if blocked is not None and blocked[1] == "file":
        raise OptionError(f"{where}: cannot write {text!r}: {str(blocked[0])!r} is a file, not a folder; "
                          "give a path in a folder")
    if blocked is not None:
        raise OptionError(f"{where}: cannot write {text!r}: the folder {str(blocked[0])!r} is not writable "
                          "(its permissions, or a read-only file system); give a path in a folder you can write")
    return target
