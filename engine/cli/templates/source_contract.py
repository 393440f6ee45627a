"""The source contract suite of engine.testing, run against this distribution's source."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.testing import SourceContract


class TestExampleSource(SourceContract):
    name = "example"
    filter_column = "amount"  # the numeric column the filter tests use

    @pytest.fixture(scope="class")
    @classmethod
    def plugin_options(cls, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """The suite's options, made at run time: a small file in a temporary folder."""
        path = tmp_path_factory.mktemp("data") / "rows.jsonl"
        rows = [{"id": i, "amount": round(i * 1.5, 1), "region": "north" if i % 3 else "south"} for i in range(30)]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return {"path": str(path)}
