"""Seeded samples of a stream: the rows a pipeline fits on (`fit_sample`), and the rows a streamed
run keeps for its report once there are too many to keep them all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.errors import ConfigError


def check_size(size: Any, *, what: str = "fit_sample") -> int | float:
    """A sample size: a whole number of rows (at least 1) or a share of rows in (0, 1]."""
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise ConfigError(f"{what} must be a row count (e.g. 30000) or a share of the rows (e.g. 0.01), got {size!r:.40}")
    if isinstance(size, int) and size < 1 or isinstance(size, float) and not 0.0 < size <= 1.0:
        raise ConfigError(f"{what} must be a row count of at least 1 or a share in (0, 1], got {size!r}")
    return size


class Reservoir:
    """A uniform sample of at most `limit` rows over tables added one by one, reproducible for a
    `seed`: every row draws a random key and the rows with the smallest keys are kept, in the order
    they came. Until more than `limit` rows have come every row is kept."""

    def __init__(self, limit: int | None, seed: int = 0) -> None:
        import numpy as np

        self.limit = limit
        self.rows = 0
        self._rng = np.random.default_rng(seed)
        self._tables: list[Any] = []
        self._keys: list[Any] = []
        self._kept = 0
        self._threshold = np.inf

    @property
    def sampled(self) -> bool:
        """Whether rows were left out."""
        return self.limit is not None and self.rows > self.limit

    def add(self, table: Any) -> None:
        """Offer one table's rows."""
        import numpy as np

        n = table.num_rows
        self.rows += n
        if self.limit is None:
            self._tables.append(table)
            return
        if self.limit == 0:
            return
        keys = self._rng.random(n)
        chosen = np.flatnonzero(keys < self._threshold)
        if chosen.size < n:
            table, keys = table.take(chosen), keys[chosen]
        self._tables.append(table)
        self._keys.append(keys)
        self._kept += table.num_rows
        if self._kept > 2 * self.limit:
            self._compact()

    def _compact(self) -> None:
        """Keep only the `limit` rows with the smallest keys so far, and raise the bar to theirs."""
        import numpy as np
        import pyarrow as pa

        keys = np.concatenate(self._keys)
        if keys.size <= self.limit:
            return
        self._threshold = float(np.partition(keys, self.limit - 1)[self.limit - 1])
        keep = np.flatnonzero(keys <= self._threshold)[: self.limit]
        self._tables = [pa.concat_tables(self._tables).take(keep)]
        self._keys = [keys[keep]]
        self._kept = int(keep.size)

    def table(self, schema: Any = None) -> Any:
        """The kept rows as one table (an empty one of `schema` when none came)."""
        import pyarrow as pa

        if self.limit:
            self._compact()
        if not self._tables:
            return schema.empty_table() if schema is not None else pa.table({})
        return pa.concat_tables(self._tables)


def sample_stream(tables: Iterable[Any], size: int | float, seed: int) -> Any:
    """A seeded sample of the rows of `tables`: exactly `size` rows (all when fewer), or each row
    with probability `size` when it is a share."""
    import numpy as np
    import pyarrow as pa

    if isinstance(size, int):
        reservoir = Reservoir(size, seed)
        schema = None
        for table in tables:
            schema = table.schema
            reservoir.add(table)
        return reservoir.table(schema)
    rng = np.random.default_rng(seed)
    kept = [table.filter(pa.array(rng.random(table.num_rows) < size)) for table in tables]
    return pa.concat_tables(kept)
