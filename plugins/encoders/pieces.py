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
FIRST_ROWS = 1 << 16
T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P", bound="Piece | Slice")


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

    def read(self, known: Any = None) -> Piece:
        """The slice as dictionary + codes; `known` levels are looked up rather than hashed (see array_codes)."""
        return Piece(self.column, self.start, array_codes(self.column, self.values, self.domain, known))


def cut(table: Any, domains: dict[str, str]) -> list[Slice]:
    """Every column named in `domains` (name -> value domain) cut into slices: the first of FIRST_ROWS
    rows (it is read before the others, see read_pieces), the others of at most PIECE_ROWS rows."""
    slices = []
    for name, domain in domains.items():
        start = 0
        for chunk in table[name].chunks:
            at = 0
            while at < len(chunk):
                rows = FIRST_ROWS if start + at == 0 else PIECE_ROWS
                slices.append(Slice(name, domain, start + at, chunk.slice(at, rows)))
                at += rows
            start += len(chunk)
    return slices


def read_pieces(table: Any, domains: dict[str, str]) -> list[Piece]:
    """Every column named in `domains`, cut into slices and read in parallel: first each column's
    first slice, whose levels then let the other slices look most rows up instead of hashing them."""
    firsts: dict[str, Slice] = {}
    rest: list[Slice] = []
    for part in cut(table, domains):
        if part.column in firsts:
            rest.append(part)
        else:
            firsts[part.column] = part
    pieces = parallel_map(Slice.read, list(firsts.values()))
    known = {piece.column: piece.codes.dictionary for piece in pieces}
    return pieces + parallel_map(lambda s: s.read(known[s.column]), rest)


def by_rows(parts: Sequence[P]) -> list[list[P]]:
    """Pieces or slices grouped by first row, so that a thread writing its group into a row-major
    output does not share cache lines with another thread writing other columns of the same rows."""
    groups: dict[int, list[P]] = {}
    for part in parts:
        groups.setdefault(part.start, []).append(part)
    return list(groups.values())


def parallel_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`function` over `items` on a thread pool as wide as Arrow's CPU count (inline for one item)."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), pa.cpu_count())) as pool:
        return list(pool.map(function, items))
