"""The contract suite for sink plugins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine.pipeline import Pipeline, Step
from engine.testing.base import PluginContract, broke


def sample_table(rows: int = 25) -> Any:
    """Integers, floats with a null, and strings that need quoting in CSV."""
    import pyarrow as pa

    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "x": pa.array([None if i == 3 else i / 4 for i in range(rows)], pa.float64()),
        "label": pa.array([f'row {i}, "quoted"' for i in range(rows)], pa.string()),
    })


def failing_reader(table: Any, message: str = "the upstream step failed midway") -> Any:
    """A RecordBatchReader that hands out the first batch of `table`, then raises."""
    import pyarrow as pa

    def batches() -> Any:
        yield table.slice(0, max(1, table.num_rows // 2)).combine_chunks().to_batches()[0]
        raise RuntimeError(message)

    return pa.RecordBatchReader.from_batches(table.schema, batches())


class SinkContract(PluginContract):
    """Every sink plugin passes these: a written table reads back equal; streams are written
    whole; a failure midway leaves no partial file and an existing target untouched; it ends a
    pipeline. Implement `target(folder)` (options that point the sink into `folder`) and
    `read_back(written)` (the table at the place the sink reported)."""

    kind: ClassVar[str] = "sink"

    def target(self, folder: Path) -> dict[str, Any]:
        raise NotImplementedError("return the options that make the sink write into `folder`")

    def read_back(self, written: Any) -> Any:
        raise NotImplementedError("return the pyarrow Table found where `written` says")

    @pytest.fixture
    def plugin(self, tmp_path: Path) -> Any:
        return self.build(**self.target(tmp_path / "out"))

    @staticmethod
    def _same(read: Any, table: Any) -> bool:
        return read.select(table.column_names).cast(table.schema).equals(table)

    def test_round_trip(self, plugin: Any) -> None:
        from engine.kinds.sink import Written

        table = sample_table()
        written = plugin.write(table)
        assert isinstance(written, Written), broke(
            "write returns an engine.kinds.sink.Written", "Written", type(written))
        assert written.rows == table.num_rows, broke("Written.rows counts the rows written", table.num_rows,
                                                     written.rows)
        assert self._same(self.read_back(written), table), broke(
            "what is written reads back equal (read_back)", "the sample table", "other rows or values")

    def test_streams_a_reader_whole(self, plugin: Any) -> None:
        import pyarrow as pa

        table = sample_table(40)
        reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=6))
        written = plugin.write(reader)
        assert written.rows == 40, broke("a RecordBatchReader is written whole", 40, written.rows)
        assert self._same(self.read_back(written), table), broke(
            "a streamed table reads back equal", "the 40-row table", "other rows or values")

    def test_failure_midway_leaves_no_file(self, plugin: Any, tmp_path: Path) -> None:
        folder = tmp_path / "out"
        folder.mkdir(exist_ok=True)
        with pytest.raises(Exception, match="failed midway"):
            plugin.write(failing_reader(sample_table()))
        left = os.listdir(folder)
        assert left == [], broke("a write that fails midway leaves no file (write beside, then rename)", [], left)

    def test_failure_midway_keeps_the_existing_target(self, plugin: Any, tmp_path: Path) -> None:
        before = sample_table(10)
        written = plugin.write(before)
        files = sorted(os.listdir(tmp_path / "out"))
        with pytest.raises(Exception, match="failed midway"):
            plugin.write(failing_reader(sample_table(30)))
        left = sorted(os.listdir(tmp_path / "out"))
        assert left == files, broke("a write that fails midway leaves the folder as it was", files, left)
        assert self._same(self.read_back(written), before), broke(
            "a write that fails midway keeps the existing target", "the earlier 10 rows", "other contents")

    def test_ends_a_pipeline(self, tmp_path: Path) -> None:
        table = sample_table()
        step = Step("sink", self.name, options={**self.options, **self.target(tmp_path / "out")})
        result = Pipeline([step]).run(table)
        assert result.table.equals(table), broke("a sink step passes its table on unchanged", "the same table",
                                                 "another")
        assert self._same(self.read_back(result.flow.facts["written"][-1]), table), broke(
            "a sink step writes its table and says where in the 'written' fact", "the table", "other contents")
