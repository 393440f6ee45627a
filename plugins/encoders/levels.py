"""Fitted levels of one column and the output columns they map to, following scikit-learn's rules
for infrequent levels (`min_frequency`, `max_categories`) and `drop`."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plugins.encoders.columns import ChunkCodes

MISSING_LABEL = "nan"
_COMPACT_EVERY = 64


class LevelCounter:
    """Counts the levels of one column over any number of chunks (a streamed fit adds batch by batch)."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.missing = 0
        self._values: list[Any] = []
        self._counts: list[np.ndarray] = []

    def add(self, chunk: ChunkCodes) -> None:
        self.missing += chunk.missing
        present = chunk.counts[:-1] > 0
        if not present.any():
            return
        self._values.append(chunk.dictionary.filter(pa.array(present)))
        self._counts.append(chunk.counts[:-1][present])
        if len(self._values) >= _COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        grouped = (
            pa.table({"level": pa.concat_arrays(self._values), "count": np.concatenate(self._counts)})
            .group_by("level")
            .aggregate([("count", "sum")])
        )
        order = pc.sort_indices(grouped["level"])
        self._values = [grouped["level"].take(order).combine_chunks()]
        self._counts = [grouped["count_sum"].take(order).to_numpy()]

    def result(self, domain: str) -> FittedColumn:
        """The sorted levels (of value `domain`) with their counts."""
        if self._values:
            self._compact()
        return FittedColumn(
            column=self.column,
            domain=domain,
            levels=tuple(self._values[0].to_pylist()) if self._values else (),
            counts=tuple(int(c) for c in self._counts[0]) if self._counts else (),
            missing=self.missing,
        )


@attrs.frozen
class FittedColumn:
    """What fit learned about one column: its sorted levels, their counts and the missing count."""

    column: str
    domain: str
    levels: tuple[Any, ...]
    counts: tuple[int, ...]
    missing: int

    @property
    def rows(self) -> int:
        return sum(self.counts) + self.missing


@attrs.frozen
class Settings:
    """The encoder options that decide the output columns of a fitted column."""

    handle_unknown: str
    handle_missing: str
    min_frequency: int | float | None
    max_categories: int | None
    drop: str | None
    infrequent_name: str


@attrs.frozen
class ColumnLayout:
    """Where each fitted level of one column lands among the output columns.

    `level_slots[i]` is the output column (counted from `offset`) of level i, and its last entry
    that of a missing value; -1 means an all-zero row. `unknown_slot` is where unseen levels go.
    """

    fitted: FittedColumn
    labels: tuple[str, ...]
    infrequent: tuple[Any, ...]
    level_slots: np.ndarray = attrs.field(eq=False)
    unknown_slot: int
    missing_is_level: bool

    @property
    def width(self) -> int:
        return len(self.labels)

    def slots_at(self, offset: int) -> np.ndarray:
        """`level_slots` followed by `unknown_slot`, as output columns of a column starting at `offset`."""
        slots = np.append(self.level_slots, self.unknown_slot)
        return np.where(slots >= 0, slots + offset, -1).astype(np.int32)


def layout(fitted: FittedColumn, settings: Settings) -> ColumnLayout:
    """The output columns of a fitted column: frequent levels in sorted order (missing last), then
    the infrequent column; then `drop` removes the first of them where it applies."""
    missing_is_level = settings.handle_missing == "level" and fitted.missing > 0
    categories = list(fitted.levels) + ([None] if missing_is_level else [])
    counts = np.array(list(fitted.counts) + ([fitted.missing] if missing_is_level else []), dtype=np.int64)
    rare = infrequent_mask(counts, fitted.rows, settings.min_frequency, settings.max_categories)
    frequent = int((~rare).sum())
    group = np.where(rare, frequent, np.cumsum(~rare) - 1)
    labels = [_label(c) for c, r in zip(categories, rare) if not r]
    if rare.any():
        labels.append(settings.infrequent_name)
    unknown = frequent if rare.any() and settings.handle_unknown in ("infrequent", "warn") else -1
    slots = np.concatenate([group, [] if missing_is_level else [-1], [unknown]]).astype(np.int64)
    dropped = _dropped(settings.drop, len(labels))
    if dropped is not None:
        del labels[dropped]
        slots = np.where(slots == dropped, -1, np.where(slots > dropped, slots - 1, slots))
    return ColumnLayout(
        fitted=fitted,
        labels=tuple(labels),
        infrequent=tuple(c for c, r in zip(categories, rare) if r),
        level_slots=slots[:-1],
        unknown_slot=int(slots[-1]),
        missing_is_level=missing_is_level,
    )


def infrequent_mask(counts: np.ndarray, rows: int, min_frequency: int | float | None, max_categories: int | None) -> np.ndarray:
    """Which levels are infrequent: fewer rows than `min_frequency` (a count, or a share of all
    rows when a float), then the rarest beyond `max_categories - 1` (ties: the later level stays)."""
    if min_frequency is None:
        rare = np.zeros(len(counts), dtype=bool)
    elif isinstance(min_frequency, int):
        rare = counts < min_frequency
    else:
        rare = counts < rows * min_frequency
    columns = len(counts) - int(rare.sum()) + 1
    if max_categories is not None and max_categories < columns:
        keep = max_categories - 1
        if keep == 0:
            rare[:] = True
        else:
            rare[np.argsort(counts, kind="mergesort")[:-keep]] = True
    return rare


def _dropped(drop: str | None, width: int) -> int | None:
    if width and (drop == "first" or (drop == "if_binary" and width == 2)):
        return 0
    return None


def _label(level: Any) -> str:
    return MISSING_LABEL if level is None else str(level)
