"""Progress bars on a terminal, silence elsewhere: one switch for the whole process."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn every progress bar off (the CLI's --quiet) or back to terminal-only."""
    global _quiet
    _quiet = quiet


def quiet() -> bool:
    """Whether the process was asked for silence (`--quiet`): observers that print should not."""
    return _quiet


def enabled() -> bool:
    """Bars show only when not quiet and stderr is a terminal."""
    return not _quiet and sys.stderr.isatty()


def track(iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Iterate, showing a bar when enabled; plugins use this for long loops (batches, steps)."""
    if not enabled():
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)


@contextlib.contextmanager
def bar(total: int | None, *, desc: str = "", unit: str = "it") -> Iterator[Any]:
    """A bar to `update(n)` by hand (rows scanned, tokens generated); a no-op when disabled."""
    if not enabled():
        yield _Silent()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr) as handle:
        yield handle


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass
