"""Files and folders the engine writes appear whole or not at all: each is written beside its target
and renamed onto it when the run that wrote it commits (`engine.commit`), or at the end of the block
when no run is open."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Collection, Iterator
from pathlib import Path

from engine import commit
from engine.errors import ConfigError

MARKER = ".hookyard"
"""The file in every report or sweep folder Hookyard writes, saying so; only such a folder is replaced."""


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new empty file beside `target` to write its content in; it is flushed to disk and takes
    the target's place when the run commits (at once outside a run). On any error it is removed and
    the target is left as it was."""
    with commit.output(target, folder=False) as staged:
        yield staged


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new empty folder beside `target` to fill; it replaces `target` (kept aside until the new
    folder is in place) when the run commits (at once outside a run). On any error it is removed and
    `target` is left as it was. Callers check first that `target` is theirs to replace."""
    with commit.output(target, folder=True) as staged:
        yield staged


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `target` atomically (UTF-8) and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


@contextlib.contextmanager
def marked_folder(target: str | os.PathLike[str], kind: str, written: Collection[str] = ()) -> Iterator[Path]:
    """`atomic_folder` for a folder of `kind` ("report", "sweep"): it may replace only a new or empty
    folder or one holding the marker that Hookyard writes into every such folder (or, from before
    markers, one holding nothing but the files in `written`), so that a location chosen by mistake
    (`--report .`) can never delete a user's files."""
    with atomic_folder(check_marked(target, kind, written)) as fresh:
        (fresh / MARKER).write_text(json.dumps({"written_by": "hookyard", "kind": kind}) + "\n", encoding="utf-8")
        yield fresh


def check_marked(target: str | os.PathLike[str], kind: str, written: Collection[str] = ()) -> Path:
    """`target` as a Path if `marked_folder` may write a `kind` folder there; otherwise a ConfigError saying why."""
    target = Path(os.path.expanduser(os.fspath(target)))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ConfigError(f"the {kind} folder {str(target)!r} exists and is not a folder; choose another location")
    if target.is_dir() and any(target.iterdir()) and _marker_kind(target) != kind and not _only(target, written):
        raise ConfigError(
            f"the {kind} folder {str(target)!r} holds files that are not a Hookyard {kind} (no {MARKER} marker "
            f"says Hookyard wrote it); choose an empty or new folder, since a {kind} replaces the whole folder"
        )
    blocked = blocked_by(target)
    if blocked is not None and blocked[1] == "file":
        raise ConfigError(f"the {kind} folder {str(target)!r} cannot be made: {str(blocked[0])!r} is a file; "
                          "choose another location")
    if blocked is not None:
        raise ConfigError(f"the {kind} folder {str(target)!r} cannot be written ({str(blocked[0])!r} is read-only); "
                          "choose a location you can write to")
    return target


def blocked_by(path: Path) -> tuple[Path, str] | None:
    """What stops anything being made at `path`: its nearest existing folder and "file" (that is a
    file, not a folder) or "read-only" (permissions, a read-only file system); None when nothing does."""
    nearest = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not nearest.is_dir():
        return nearest, "file"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return nearest, "read-only"
    return None


def _only(folder: Path, written: Collection[str]) -> bool:
    """Whether `folder` holds files named in `written` and nothing else (a folder from before markers)."""
    entries = list(folder.iterdir())
    return bool(written) and all(e.is_file() and not e.is_symlink() and e.name in written for e in entries)


def _marker_kind(folder: Path) -> str | None:
    try:
        document = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("kind") if isinstance(document, dict) and document.get("written_by") == "hookyard" else None
