"""The contract suite for source plugins."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from engine.errors import DataError
from engine.pipeline import Pipeline, Step
from engine.testing.base import PluginContract, broke, refuses


class SourceContract(PluginContract):
    """Every source plugin passes these: schema, count, scan and the conversions agree; each scan
    has its own cursor; `columns` and `filters` options select exactly what pyarrow would, and
    say so in `explain()`; unknown columns are clear errors; it starts a pipeline.

    Set `filter_column` to the numeric column to filter on (default: the first numeric one); the
    source needs at least two distinct values there. A file-backed source makes its data in the
    `plugin_options` fixture. The `columns` and `filters` options are tested for every source
    (`TableSource` gives them to any subclass); the "projection" and "filters" capabilities tell
    users that a source applies them where it reads the data, which no test can see from outside.
    With the "parts" capability, the parts it names (`parts()`), each built and read apart, give its
    rows end to end, projected and filtered too.
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
        assert len(values) > 1, broke("the suite's data has two values to filter between (set plugin_options)",
                                      f"at least two values in {column!r}", values)
        return values[len(values) // 2]

    def test_scan_count_and_table_agree(self, plugin: Any, table: Any) -> None:
        import pyarrow as pa

        assert isinstance(table, pa.Table), broke("to_arrow() is a pyarrow Table", "pyarrow.Table", type(table))
        assert plugin.schema().equals(table.schema), broke(
            "schema() is the schema of to_arrow()", table.schema, plugin.schema())
        assert plugin.count() == table.num_rows, broke("count() is to_arrow()'s rows", table.num_rows, plugin.count())
        reader = plugin.scan(batch_size=7)
        assert isinstance(reader, pa.RecordBatchReader), broke(
            "scan() is a pyarrow RecordBatchReader", "RecordBatchReader", type(reader))
        streamed = reader.read_all()
        sizes = [b.num_rows for b in streamed.to_batches()]
        assert all(n <= 7 for n in sizes), broke("scan(batch_size=7) gives batches of at most 7 rows", "<= 7", sizes)
        assert streamed.equals(table), broke(
            "scan() streams exactly to_arrow()'s rows", f"{table.num_rows} rows equal to to_arrow()",
            f"{streamed.num_rows} rows{'' if streamed.num_rows != table.num_rows else ' that differ'}")

    def test_each_scan_has_its_own_cursor(self, plugin: Any, table: Any) -> None:
        import pyarrow as pa

        first = plugin.scan(batch_size=3)
        head = first.read_next_batch()
        second = plugin.scan(batch_size=3).read_all()
        rest = first.read_all()
        rule = "each scan() has its own cursor: a second scan does not disturb the first"
        whole = pa.Table.from_batches([head, *rest.to_batches()], schema=first.schema)
        assert whole.equals(table), broke(rule, f"the first scan's {table.num_rows} rows", f"{whole.num_rows} rows")
        assert second.equals(table), broke(rule, f"the second scan's {table.num_rows} rows", f"{second.num_rows} rows")

    def test_conversions_agree(self, plugin: Any, table: Any) -> None:
        shape = (table.num_rows, table.column_names)
        frame = plugin.to_pandas()
        assert (len(frame), list(frame.columns)) == shape, broke(
            "to_pandas() has to_arrow()'s rows and columns", shape, (len(frame), list(frame.columns)))
        polars_frame = plugin.to_polars()
        assert (polars_frame.height, polars_frame.columns) == shape, broke(
            "to_polars() has to_arrow()'s rows and columns", shape, (polars_frame.height, polars_frame.columns))
        array = plugin.to_numpy()
        assert array.shape == (table.num_rows, table.num_columns), broke(
            "to_numpy() is rows x columns", (table.num_rows, table.num_columns), array.shape)

    def test_projection_is_pushed_down(self, table: Any) -> None:
        names = table.column_names
        chosen = [names[-1], names[0]] if len(names) > 1 else names
        projected = self.build(columns=chosen)
        assert projected.schema().names == chosen, broke(
            "the columns option selects those columns, in that order", chosen, projected.schema().names)
        assert projected.to_arrow().equals(table.select(chosen)), broke(
            "a projected source reads what pyarrow's select gives", "table.select(columns)", "other rows or values")
        assert all(name in projected.explain() for name in chosen), broke(
            "explain() names the projected columns", chosen, projected.explain())

    def test_filter_is_pushed_down(self, table: Any) -> None:
        import pyarrow.compute as pc

        column = self._numeric_column(table)
        threshold = self._middle(table, column)
        expected = table.filter(pc.field(column) >= threshold)
        filtered = self.build(filters=[(column, ">=", threshold)])
        rule = f"the filter ({column!r}, '>=', {threshold!r}) keeps the rows pyarrow's filter keeps"
        assert 0 < expected.num_rows < table.num_rows, broke(
            "the suite's data has rows on both sides of the filter (set filter_column)",
            f"between 0 and {table.num_rows} rows", expected.num_rows)
        assert filtered.count() == expected.num_rows, broke(rule, f"count() {expected.num_rows}", filtered.count())
        assert filtered.to_arrow().equals(expected), broke(rule, f"{expected.num_rows} rows from to_arrow()",
                                                           f"{filtered.to_arrow().num_rows} rows or other values")
        assert filtered.scan(batch_size=5).read_all().equals(expected), broke(
            rule, "the same rows from scan()", "other rows")
        explained = filtered.explain()
        assert column in explained and str(threshold) in explained, broke(
            "explain() shows the filter", f"{column!r} and {threshold!r} in it", explained)

    def test_filter_groups_and_expressions_agree(self, table: Any) -> None:
        import pyarrow.compute as pc

        from engine.filters import col

        column = self._numeric_column(table)
        low = table.column(column)[0].as_py()
        high = self._middle(table, column)
        expected = table.filter((pc.field(column) == low) | (pc.field(column) > high))
        as_data = self.build(filters=[[(column, "==", low)], [(column, ">", high)]]).to_arrow()
        as_expression = self.build(filters=(col(column) == low) | (col(column) > high)).to_arrow()
        assert as_data.equals(expected), broke(
            "a list of clause lists keeps rows matching any inner list", f"{expected.num_rows} rows", as_data.num_rows)
        assert as_expression.equals(expected), broke(
            "col() expressions filter as their data form does", f"{expected.num_rows} rows", as_expression.num_rows)

    def test_unknown_filter_column_is_a_clear_error(self) -> None:
        with refuses("a filter on a column the data lacks is a DataError naming it", DataError, match="no_such_column"):
            self.build(filters=[("no_such_column", "==", 1)]).to_arrow()

    def test_unknown_projection_column_is_a_clear_error(self) -> None:
        with refuses("a projection of a column the data lacks is a DataError naming it", DataError,
                     match="no_such_column"):
            self.build(columns=["no_such_column"]).to_arrow()

    def test_parts_capability(self, plugin: Any) -> None:
        if not self.capable("parts"):
            assert not hasattr(plugin, "parts"), broke(
                "a source without the 'parts' capability has no parts() (declare 'parts' to offer it)",
                "no parts attribute", f"{type(plugin).__name__}.parts")

    def test_parts_read_apart_are_the_source_end_to_end(self, table: Any) -> None:
        import pyarrow as pa

        self.require("parts")
        column = self._numeric_column(table)
        names = table.column_names
        for overrides in ({}, {"filters": [(column, ">=", self._middle(table, column))]},
                          {"columns": [names[-1], names[0]] if len(names) > 1 else names}):
            source = self.build(**overrides)
            parts = source.parts()
            rule = f"parts() names option sets that each build the source over one part (options {overrides})"
            assert parts is None or (isinstance(parts, list) and parts and all(isinstance(p, dict) for p in parts)), \
                broke(rule, "None (it cannot split) or a non-empty list of dicts", parts)
            if parts is None:
                continue
            expected = source.to_arrow()
            read = [self.build(**{**overrides, **part}).to_arrow() for part in parts]
            whole = pa.concat_tables([t.select(expected.column_names).cast(expected.schema) for t in read])
            assert whole.equals(expected), broke(
                f"the parts' rows, each part built and read apart, end to end are the source's rows (options "
                f"{overrides})", f"{expected.num_rows} rows equal to to_arrow()",
                f"{whole.num_rows} rows{'' if whole.num_rows != expected.num_rows else ' that differ'} from "
                f"{len(parts)} parts")

    def test_starts_a_pipeline(self, table: Any) -> None:
        result = Pipeline([Step("source", self.name, options=dict(self.options))]).run()
        assert result.table.equals(table), broke(
            "a source step starts a pipeline with to_arrow()'s table", f"{table.num_rows} rows",
            f"{result.table.num_rows} rows")
