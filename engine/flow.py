"""What passes from one pipeline step to the next: an Arrow table plus named facts about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Flow:
    """The data between steps.

    `table` is a pyarrow Table (or None before the first step); `facts` carry what later steps
    need to know about it, keyed by port name (for example "effects": the effect columns a CATE
    step added). `ports` is what the flow offers: "table" plus the keys of `facts`.
    """

    table: Any = None
    facts: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def ports(self) -> frozenset[str]:
        have = set(self.facts)
        if self.table is not None:
            have.add("table")
        return frozenset(have)

    @property
    def rows(self) -> int | None:
        """Row count of the table, or None when there is none."""
        return None if self.table is None else int(self.table.num_rows)

    def evolve(self, table: Any = attrs.NOTHING, **facts: Any) -> Flow:
        """A new flow with the table replaced (when given) and facts added or replaced."""
        merged = {**self.facts, **facts}
        return Flow(table=self.table if table is attrs.NOTHING else table, facts=merged)
