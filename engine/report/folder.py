"""Report folders appear whole or not at all: written beside the target, then swapped into place."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from engine import atomic
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
    """Yield a fresh folder beside `target`; when the block succeeds it replaces `target` (which must
    pass `check_target`). On any error the new folder is removed and `target` is left as it was."""
    with atomic.atomic_folder(check_target(target)) as fresh:
        yield fresh
