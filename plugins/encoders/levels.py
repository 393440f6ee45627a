"""Fitted levels of one column and the output columns they map to, following scikit-learn's rules
for infrequent levels (`min_frequency`, `max_categories`) and `drop`."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import DataError
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
        if self._values and chunk.dictionary.type != self._values[0].type:
            raise DataError(
                f"column {self.column!r} held {self._values[0].type} levels in the first batch and "
                f"{chunk.dictionary.type} values later (fractional numbers after whole ones): cast it to "
                "one type in the source, or fit on one table"
            )
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
    drop: Any
    infrequent_name: str


@attrs.frozen
class DropLevel:
    """`drop` for one column given as a level: its output column is removed (None or NaN: the missing level)."""

    value: Any


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
    dropped: int | None = None

    @property
    def categories(self) -> list[Any]:
        """The fitted levels in order, None (the missing level) last when it has a column of its own."""
        return list(self.fitted.levels) + ([None] if self.missing_is_level else [])

    @property
    def width(self) -> int:
        return len(self.labels)

    def slots_at(self, offset: int) -> np.ndarray:
        """`level_slots` followed by `unknown_slot`, as output columns of a column starting at `offset`."""
        slots = np.append(self.level_slots, self.unknown_slot)
        return np.where(slots >= 0, slots + offset, -1).astype(np.int32)


def layout(
    fitted: FittedColumn, settings: Settings, drop: Any = None, position: int = 0, missing_listed: bool | None = None
) -> ColumnLayout:
    """The output columns of a fitted column: frequent levels in order (sorted, or as the user gave
    them), missing last, then the infrequent column; then `drop` ("first", "if_binary" or a
    DropLevel) removes one of them. `position` is the column's place among the encoded ones (for
    messages); `missing_listed` whether given categories list the missing level (None: none given)."""
    has_missing = fitted.missing > 0 if missing_listed is None else missing_listed
    missing_is_level = settings.handle_missing == "level" and has_missing
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
    dropped, category = _dropped(drop, categories, rare, group, len(labels), fitted.column, position)
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
        dropped=category,
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


def _dropped(
    drop: Any, categories: list[Any], rare: np.ndarray, group: np.ndarray, width: int, column: str, position: int
) -> tuple[int | None, int | None]:
    """The output column that `drop` removes and the category it stands for (None, None: no drop)."""
    if isinstance(drop, DropLevel):
        at = category_index(categories, drop.value)
        if at is None:
            raise DataError(
                f"The following categories were supposed to be dropped, but were not found in the training "
                f"data: {drop.value!r} of feature {position} (column {column!r}); drop a level that fit saw"
            )
        if rare[at]:
            raise DataError(
                f"Unable to drop category {drop.value!r} from feature {position} because it is infrequent "
                f"(column {column!r}): drop a frequent level, or none"
            )
        return int(group[at]), at
    if width and (drop == "first" or (drop == "if_binary" and width == 2)):
        return 0, int(np.flatnonzero(group == 0)[0])
    return None, None


def category_index(categories: list[Any], value: Any) -> int | None:
    """Where `value` is among a column's categories (a missing value: the missing level), or None."""
    if is_missing(value):
        return len(categories) - 1 if categories and categories[-1] is None else None
    for at, category in enumerate(categories):
        if category is not None and isinstance(category, bool) == isinstance(value, (bool, np.bool_)) and category == value:
            return at
    return None


def is_missing(value: Any) -> bool:
    """None, NaN or pd.NA."""
    return value is None or (isinstance(value, (float, np.floating)) and value != value) or type(value).__name__ == "NAType"


def _label(level: Any) -> str:
    return MISSING_LABEL if level is None else str(level)
