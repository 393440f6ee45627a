"""The contract suite for source plugins."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from engine.errors import DataError
from engine.pipeline import Pipeline, Step
from engine.testing.base import PluginContract


class SourceContract(PluginContract):
    """Every source plugin passes these: schema, count, scan and the conversions agree; each scan
    has its own cursor; `columns` and `filters` options select exactly what pyarrow would, and
    say so in `explain()`; unknown columns are clear errors; it starts a pipeline.

    Set `filter_column` to the numeric column to filter on (default: the first numeric one).
    """

    kind: ClassVar[str] = "source"
    filter_column: ClassVar[str | None] = None

    @pytest.fixture
    def table(self, plugin: Any) -> Any:
        return plugin.to_arrow()

    def _numeric_column(self, table: Any) -> str:
        import pyarrow as pa

        if self.filter_column is not None:
            return self.filter_column
        for field in table.schema:
            if pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
                return field.name
        pytest.fail("the source has no numeric column: set filter_column on the test class")

    def _middle(self, table: Any, column: str) -> Any:
        values = sorted(v for v in table.column(column).to_pylist() if v is not None)
        assert len(values) > 1, f"give the contract suite a source with at least two values in {column!r}"
        return values[len(values) // 2]

    def test_scan_count_and_table_agree(self, plugin: Any, table: Any) -> None:
        import pyarrow as pa

        assert isinstance(table, pa.Table)
        assert plugin.schema().equals(table.schema)
        assert plugin.count() == table.num_rows
        reader = plugin.scan(batch_size=7)
        assert isinstance(reader, pa.RecordBatchReader)
        streamed = reader.read_all()
        assert streamed.num_rows == table.num_rows
        assert all(b.num_rows <= 7 for b in streamed.to_batches())
        assert streamed.equals(table)

    def test_each_scan_has_its_own_cursor(self, plugin: Any, table: Any) -> None:
        import pyarrow as pa

        first = plugin.scan(batch_size=3)
        head = first.read_next_batch()
        second = plugin.scan(batch_size=3).read_all()
        rest = first.read_all()
        assert pa.Table.from_batches([head, *rest.to_batches()], schema=first.schema).equals(table)
        assert second.equals(table)

    def test_conversions_agree(self, plugin: Any, table: Any) -> None:
        frame = plugin.to_pandas()
        assert list(frame.columns) == table.column_names and len(frame) == table.num_rows
        polars_frame = plugin.to_polars()
        assert polars_frame.columns == table.column_names and polars_frame.height == table.num_rows
        assert plugin.to_numpy().shape == (table.num_rows, table.num_columns)

    def test_projection_is_pushed_down(self, table: Any) -> None:
        names = table.column_names
        chosen = [names[-1], names[0]] if len(names) > 1 else names
        projected = self.build(columns=chosen)
        assert projected.schema().names == chosen
        assert projected.to_arrow().equals(table.select(chosen))
        assert all(name in projected.explain() for name in chosen)

    def test_filter_is_pushed_down(self, table: Any) -> None:
        import pyarrow.compute as pc

        column = self._numeric_column(table)
        threshold = self._middle(table, column)
        expected = table.filter(pc.field(column) >= threshold)
        filtered = self.build(filters=[(column, ">=", threshold)])
        assert 0 < expected.num_rows < table.num_rows
        assert filtered.count() == expected.num_rows
        assert filtered.to_arrow().equals(expected)
        assert filtered.scan(batch_size=5).read_all().equals(expected)
        assert column in filtered.explain() and str(threshold) in filtered.explain()

    def test_filter_groups_and_expressions_agree(self, table: Any) -> None:
        import pyarrow.compute as pc

        from engine.filters import col

        column = self._numeric_column(table)
        low = table.column(column)[0].as_py()
        high = self._middle(table, column)
        expected = table.filter((pc.field(column) == low) | (pc.field(column) > high))
        as_data = self.build(filters=[[(column, "==", low)], [(column, ">", high)]]).to_arrow()
        as_expression = self.build(filters=(col(column) == low) | (col(column) > high)).to_arrow()
        assert as_data.equals(expected)
        assert as_expression.equals(expected)

    def test_unknown_filter_column_is_a_clear_error(self) -> None:
        with pytest.raises(DataError, match="no_such_column"):
            self.build(filters=[("no_such_column", "==", 1)]).to_arrow()

    def test_unknown_projection_column_is_a_clear_error(self) -> None:
        with pytest.raises(DataError, match="no_such_column"):
            self.build(columns=["no_such_column"]).to_arrow()

    def test_starts_a_pipeline(self, table: Any) -> None:
        result = Pipeline([Step("source", self.name, options=dict(self.options))]).run()
        assert result.table.equals(table)
