"""The `duckdb` sink: a table in a DuckDB database file, written in one transaction (a new
database file is built beside the target and renamed into place), so a failure changes nothing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from engine.atomic import atomic_path
from engine.errors import DataError
from engine.filters import quote
from engine.kinds.sink import RowCounter, Written, record_batches, select_columns
from engine.kinds.source import with_progress


class DuckDBTableSink:
    """Rows into `table` of the DuckDB `database` file: `if_exists` says whether an existing table
    is replaced, appended to (columns matched by name) or refused; only `columns` when given."""

    def __init__(
        self,
        database: str,
        table: str,
        if_exists: Literal["replace", "append", "error"] = "replace",
        columns: Sequence[str] | None = None,
    ) -> None:
        self.database = database
        self.table = table
        self.if_exists = if_exists
        self.columns = columns

    def write(self, data: Any) -> Written:
        """Write `data` (a table, a RecordBatchReader or a source) as one transaction."""
        target = Path(os.path.expanduser(self.database))
        chosen = select_columns(record_batches(data), self.columns, where="duckdb sink")
        counter = RowCounter(with_progress(chosen, desc=f"writing {self.table}"))
        if target.exists():
            self._write(target, counter.reader())
        else:
            with atomic_path(target) as tmp:
                tmp.unlink()
                self._write(tmp, counter.reader())
        return Written(location=str(target), format="duckdb", rows=counter.rows, table=self.table)

    def _write(self, path: Path, reader: Any) -> None:
        import duckdb

        parts = self.table.split(".")
        name = ".".join(map(quote, parts))
        con = duckdb.connect(str(path))
        try:
            con.begin()
            exists = con.sql(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_name = $name AND ($schema IS NULL OR table_schema = $schema)",
                params={"name": parts[-1], "schema": parts[0] if len(parts) > 1 else None},
            ).fetchall()[0][0] > 0
            if exists and self.if_exists == "error":
                raise DataError(
                    f"duckdb sink: table {self.table!r} exists in {self.database!r}; "
                    "pass if_exists='replace' or 'append'"
                )
            con.register("hookyard_incoming", reader)
            if exists and self.if_exists == "append":
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM hookyard_incoming")
            else:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM hookyard_incoming")
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()
