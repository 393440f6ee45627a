"""Turning the read pieces of a column into output column numbers with its fitted layout, and
gathering what the data brought that fit did not (the drift) and what it lacked."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import DataError
from engine.kinds.encoder import ColumnDrift, LevelCount
from plugins.encoders.columns import DOMAIN_TYPES
from plugins.encoders.levels import ColumnLayout
from plugins.encoders.pieces import Piece

_SHOWN = 5


@attrs.frozen
class _PieceTally:
    seen: np.ndarray
    unseen: dict[Any, int]
    missing: int


class ColumnEncoding:
    """Encodes the pieces of one column into output columns starting at `offset`."""

    def __init__(self, layout: ColumnLayout, offset: int, handle_unknown: str, handle_missing: str, position: int = 0) -> None:
        self.layout = layout
        self.position = position
        self.handle_unknown = handle_unknown
        self.handle_missing = handle_missing
        fitted = layout.fitted
        self.levels = pa.array(fitted.levels, DOMAIN_TYPES[fitted.domain])
        slots = layout.slots_at(offset)
        self._level_slots = slots[:-2]
        self._unknown_slot = slots[-1]
        self._missing_unseen = handle_missing == "level" and not layout.missing_is_level
        if layout.missing_is_level:
            self._missing_slot = slots[-2]
        else:
            self._missing_slot = self._unknown_slot if self._missing_unseen else -1

    def encode(self, piece: Piece, out: np.ndarray) -> _PieceTally:
        """Write the output column of every row of `piece` into `out` (-1: no column) and tally its levels."""
        codes = piece.codes
        levels = self.levels if codes.dictionary.type == self.levels.type else self.levels.cast(codes.dictionary.type)
        position = pc.fill_null(pc.index_in(codes.dictionary, value_set=levels), -1)
        position = position.to_numpy(zero_copy_only=False)
        known = position >= 0
        lookup = np.empty(len(position) + 1, dtype=out.dtype)
        lookup[:] = self._unknown_slot
        lookup[:-1][known] = self._level_slots[position[known]]
        lookup[-1] = self._missing_slot
        out[piece.start : piece.stop] = lookup.take(codes.codes)
        present = codes.counts[:-1]
        seen = np.bincount(position[known], weights=present[known], minlength=len(self.levels))
        unseen = ~known & (present > 0)
        levels = codes.dictionary.filter(pa.array(unseen)).to_pylist()
        return _PieceTally(seen, dict(zip(levels, present[unseen].tolist())), codes.missing)

    def finish(self, tallies: Sequence[_PieceTally], rows: int) -> ColumnDrift:
        """The column's drift over all its pieces; raises for unseen or missing values where set to
        (warnings are the caller's: see `warn_unknown`)."""
        column = self.layout.fitted.column
        unseen: Counter[Any] = Counter()
        for tally in tallies:
            unseen.update(tally.unseen)
        missing = sum(t.missing for t in tallies)
        if self.handle_missing == "error" and missing:
            raise DataError(
                f"column {column!r} has {missing} missing value(s) and handle_missing='error'; fill them, "
                "or use handle_missing='level' (a column of their own) or 'zeros'"
            )
        if self._missing_unseen and missing:
            unseen[None] = missing
        ranked = sorted(unseen.items(), key=lambda item: (-item[1], str(item[0])))
        if ranked and self.handle_unknown == "error":
            raise DataError(
                f"Found unknown categories {[level for level, _ in ranked[:_SHOWN]]} in column {self.position} "
                f"during transform: {_shown(column, ranked)}. Fit on data that has them, or set "
                "handle_unknown='ignore' (all zeros) or 'infrequent' (into the infrequent column)"
            )
        seen = np.sum([t.seen for t in tallies], axis=0) if tallies else np.zeros(len(self.levels))
        absent = [level for level, count in zip(self.layout.fitted.levels, seen) if count == 0]
        if self.layout.missing_is_level and not missing:
            absent.append(None)
        return ColumnDrift(
            column=column,
            unseen=tuple(LevelCount(level, count, count / rows if rows else 0.0) for level, count in ranked),
            absent=tuple(absent),
        )

    def unknown_note(self, drift: ColumnDrift) -> str:
        """Where this column's unseen levels went, for the warning."""
        target = "the infrequent column" if self._unknown_slot >= 0 else "all zeros"
        return f"{_shown(drift.column, [(u.level, u.count) for u in drift.unseen])}, encoded as {target}"


def warn_unknown(encodings: Sequence[ColumnEncoding], drifts: Sequence[ColumnDrift], handle_unknown: str) -> None:
    """One warning, worded as scikit-learn's, naming the columns with unseen levels and where they went."""
    found = [(e, d) for e, d in zip(encodings, drifts) if d.unseen]
    if not found:
        return
    target = "all zeros" if handle_unknown == "ignore" else "the infrequent category"
    notes = "; ".join(e.unknown_note(d) for e, d in found)
    warnings.warn(
        f"Found unknown categories in columns {[e.position for e, _ in found]} during transform. These "
        f"unknown categories will be encoded as {target} ({notes})",
        UserWarning,
        stacklevel=4,
    )


def _shown(column: str, ranked: Sequence[tuple[Any, int]]) -> str:
    shown = ", ".join(f"{level!r} in {count} row(s)" for level, count in ranked[:_SHOWN])
    more = f" and {len(ranked) - _SHOWN} more" if len(ranked) > _SHOWN else ""
    return f"column {column!r} has level(s) not seen in fit: {shown}{more}"
