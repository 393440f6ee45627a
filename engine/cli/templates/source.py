"""A source reading a JSON-lines file; projection and filters come from engine's TableSource."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from engine import DataError
from engine.kinds.source import TableSource


class ExampleSource(TableSource):
    """The rows of the JSON-lines file at `path` (one JSON object per line)."""

    label = "example"

    def __init__(self, path: str, columns: Sequence[str] | None = None, filters: Any = None) -> None:
        super().__init__(columns=columns, filters=filters)
        self.path = path

    def _load(self) -> Any:
        import pyarrow.json

        if not os.path.isfile(self.path):
            raise DataError(f"{self.label} source: no file {self.path!r}")
        return pyarrow.json.read_json(self.path)
