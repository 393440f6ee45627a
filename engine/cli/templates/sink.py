"""A sink writing JSON lines, streamed batch by batch into a file that appears whole or not at all."""

from __future__ import annotations

import json
from typing import Any

from engine.atomic import atomic_path
from engine.kinds.sink import RowCounter, Written, record_batches


class ExampleSink:
    """Writes every row as one JSON object per line to `path`, replacing what was there."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, data: Any) -> Written:
        """Write a table, a RecordBatchReader or a source; a failure midway leaves `path` as it was."""
        counter = RowCounter(record_batches(data))
        with atomic_path(self.path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            for batch in counter.reader():
                handle.writelines(json.dumps(row) + "\n" for row in batch.to_pylist())
        return Written(location=self.path, format="jsonl", rows=counter.rows)
