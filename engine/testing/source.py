"""The contract suite for source plugins."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.testing.base import PluginContract


class SourceContract(PluginContract):
    """Every source plugin passes these: schema, count, scan and to_arrow agree with each other."""

    kind: ClassVar[str] = "source"

    def test_scan_count_and_table_agree(self, plugin: Any) -> None:
        import pyarrow as pa

        table = plugin.to_arrow()
        assert isinstance(table, pa.Table)
        assert plugin.schema().equals(table.schema)
        assert plugin.count() == table.num_rows
        reader = plugin.scan(batch_size=7)
        assert isinstance(reader, pa.RecordBatchReader)
        streamed = reader.read_all()
        assert streamed.num_rows == table.num_rows
        assert all(b.num_rows <= 7 for b in streamed.to_batches())
        assert streamed.equals(table)
