"""The `memory` source: a table already in memory, served through the full source contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.filters import Expression
from engine.kinds.source import TableSource


class MemorySource(TableSource):
    """A pandas/polars/pyarrow table or a dict of columns (numpy arrays, lists), with projection
    (`columns`) and `filters` evaluated by pyarrow.compute before any rows are handed out."""

    label = "memory"

    def __init__(
        self,
        data: Any,
        columns: Sequence[str] | None = None,
        filters: Sequence[Any] | Expression | None = None,
    ) -> None:
        super().__init__(columns=columns, filters=filters)
        self.data = data

    def _load(self) -> Any:
        from engine.tables import to_arrow

        return to_arrow(self.data)
