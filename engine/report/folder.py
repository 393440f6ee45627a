"""Report folders appear whole or not at all: written beside the target, then swapped into place."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from engine.errors import ConfigError

MARKER = "report.json"
"""The file every report folder holds; a folder with it (or an empty one) may be replaced."""


def check_target(target: str | os.PathLike[str]) -> Path:
    """The target as a Path, if a report may be written there; otherwise a ConfigError saying why.

    An existing folder is replaced only when it is empty or an earlier report, so that a report
    location set by mistake (`--report .`) can never delete other files.
    """
    target = Path(os.path.expanduser(target))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ConfigError(f"the report folder {str(target)!r} exists and is not a folder; choose another location")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ConfigError(
            f"the report folder {str(target)!r} holds files that are not a Hookyard report; "
            "choose an empty or new folder (a report replaces the whole folder)"
        )
    return target


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh folder beside `target`; when the block succeeds it replaces `target`.

    On any error the new folder is removed and `target` is left as it was.
    """
    target = check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = _sibling(target, "tmp")
    fresh.mkdir()
    try:
        yield fresh
        _swap(fresh, target)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def _sibling(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.{secrets.token_hex(4)}.{suffix}"


def _swap(fresh: Path, target: Path) -> None:
    """Move `fresh` onto `target`, keeping the old folder aside until the new one is in place."""
    if not target.exists():
        os.replace(fresh, target)
        return
    old = _sibling(target, "old")
    os.replace(target, old)
    try:
        os.replace(fresh, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
