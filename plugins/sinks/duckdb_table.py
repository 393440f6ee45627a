"""The `duckdb` sink: a table in a DuckDB database file, written into a copy of the file (or a new
one) beside it that replaces it when the run commits, so a failure anywhere in the run changes
nothing; the database path and the table name are checked when the sink is built."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from engine.atomic import atomic_path
from engine.errors import DataError, OptionError
from engine.filters import quote, table_name
from engine.kinds.sink import RowCounter, Written, record_batches, select_columns
from engine.kinds.source import with_progress
from plugins.sinks.targets import check_file_target


class DuckDBTableSink:
    """Rows into `table` of the DuckDB `database` file: `if_exists` says whether an existing table
    is replaced, appended to (columns matched by name) or refused; only `columns` when given.
    `table` is `name`, `schema.name` (the schema is created when missing) or `catalog.schema.name`
    whose catalog is the database file's own, each part bare or double-quoted."""

    def __init__(
        self,
        database: str,
        table: str,
        if_exists: Literal["replace", "append", "error"] = "replace",
        columns: Sequence[str] | None = None,
    ) -> None:
        target = check_file_target(database, where="duckdb sink", option="database")
        parts = table_name(table, where="duckdb sink")
        if len(parts) == 3 and parts[0].lower() != catalog_of(target).lower():
            raise OptionError(
                f"duckdb sink: table {table!r} names the catalog {parts[0]!r}, but the sink writes into the database "
                f"file {database!r}, whose catalog is {catalog_of(target)!r}; give `schema.table`, or that catalog"
            )
        self.database = database
        self.table = table
        self._schema, self._name = (parts[-2] if len(parts) > 1 else None), parts[-1]
        self.if_exists = if_exists
        self.columns = columns

    def write(self, data: Any) -> Written:
        """Write `data` (a table, a RecordBatchReader or a source) as one transaction."""
        target = Path(os.path.expanduser(self.database))
        chosen = select_columns(record_batches(data), self.columns, where="duckdb sink")
        counter = RowCounter(with_progress(chosen, desc=f"writing {self.table}"))
        with atomic_path(target) as tmp:
            tmp.unlink()
            if target.exists():
                shutil.copyfile(target, tmp)
            self._write(tmp, counter.reader())
        return Written(location=str(target), format="duckdb", rows=counter.rows, table=self.table)

    def _write(self, path: Path, reader: Any) -> None:
        import duckdb

        name = ".".join(map(quote, filter(None, (self._schema, self._name))))
        con = duckdb.connect(str(path))
        try:
            con.begin()
            if self._schema is not None:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self._schema)}")
            exists = con.sql(
                "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database()"
                " AND lower(table_schema) = lower(coalesce($schema, current_schema()))"
                " AND lower(table_name) = lower($name)",
                params={"name": self._name, "schema": self._schema},
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
        except duckdb.Error as exc:
            con.rollback()
            raise DataError(f"duckdb sink: cannot write table {self.table!r} in {self.database!r}: {exc}") from exc
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()


def catalog_of(database: Path) -> str:
    """The catalog name DuckDB gives a database file: its name up to the first dot (leading dots skipped)."""
    return database.name.lstrip(".").split(".")[0]
