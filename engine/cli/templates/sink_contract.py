"""The sink contract suite of engine.testing, run against this distribution's sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.testing import SinkContract


class TestExampleSink(SinkContract):
    name = "example"

    def target(self, folder: Path) -> dict[str, Any]:
        return {"path": str(folder / "rows.jsonl")}

    def read_back(self, written: Any) -> Any:
        import pyarrow.json

        return pyarrow.json.read_json(written.location)
