"""Cutting a table's encoded columns into row pieces that threads read in parallel (pyarrow and
numpy release the GIL), so that wide and long tables use every core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import attrs
import pyarrow as pa

from plugins.encoders.columns import ChunkCodes, array_codes

PIECE_ROWS = 1 << 18
T = TypeVar("T")
R = TypeVar("R")


@attrs.frozen
class Piece:
    """Rows [start, start + len) of one column, read as dictionary + codes."""

    column: str
    start: int
    codes: ChunkCodes

    @property
    def stop(self) -> int:
        return self.start + len(self.codes.codes)


@attrs.frozen
class Slice:
    """Rows [start, start + len(values)) of one column, not read yet."""

    column: str
    domain: str
    start: int
    values: Any

    def read(self) -> Piece:
        return Piece(self.column, self.start, array_codes(self.column, self.values, self.domain))


def cut(table: Any, domains: dict[str, str]) -> list[Slice]:
    """Every column named in `domains` (name -> value domain) cut into slices of at most PIECE_ROWS rows."""
    slices = []
    for name, domain in domains.items():
        start = 0
        for chunk in table[name].chunks:
            slices.extend(Slice(name, domain, start + at, chunk.slice(at, PIECE_ROWS)) for at in range(0, len(chunk), PIECE_ROWS))
            start += len(chunk)
    return slices


def read_pieces(table: Any, domains: dict[str, str]) -> list[Piece]:
    """Every column named in `domains`, cut into slices and read in parallel."""
    return parallel_map(Slice.read, cut(table, domains))


def parallel_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`function` over `items` on a thread pool as wide as Arrow's CPU count (inline for one item)."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), pa.cpu_count())) as pool:
        return list(pool.map(function, items))
