"""The `duckdb` source: Parquet, CSV and JSON files (globs, lists, hive folders, S3), DuckDB
database tables, or a SQL query, with projection and filters pushed down into DuckDB's scan."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from engine import filters as filtering
from engine import progress
from engine.errors import DataError, OptionError
from engine.filters import Expression
from engine.kinds.source import ArrowConversions, with_progress
from plugins.sources import locations, s3 as s3_access

READERS = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}
DEFAULT_BATCH_SIZE = 131_072


class DuckDBSource(ArrowConversions):
    """Rows from files, a database table or a query, read by DuckDB.

    Give exactly one of `path` (file, glob, folder or list of them; `s3://` too; `glob=False` reads
    each path as it is spelt, `[`, `*` and `?` included), `table` (in `database`) or `sql` (one
    SELECT, VALUES or FROM-first query, over `database` when given, with named `$params`). `columns` and
    `filters` become part of the query DuckDB plans, so they reach the Parquet reader (row-group
    and hive-partition pruning); filter values are bound parameters. `threads`, `memory_limit`
    ("4GB"), `temp_directory` and `extension_directory` configure the connection. `s3` picks how
    S3 is read: "httpfs" (DuckDB's extension, installed in the extension directory), "fsspec"
    (s3fs registered with DuckDB) or "auto" (httpfs where installed and nothing asks for s3fs,
    else fsspec); `s3_route` says which was taken. `storage_options` (s3fs's names) give
    credentials, region and endpoint.
    """

    label = "duckdb"

    def __init__(
        self,
        path: str | Sequence[str] | None = None,
        table: str | None = None,
        sql: str | None = None,
        database: str | None = None,
        format: Literal["auto", "parquet", "csv", "json"] = "auto",
        glob: bool = True,
        hive_partitioning: bool | None = None,
        columns: Sequence[str] | None = None,
        filters: Sequence[Any] | Expression | None = None,
        params: Mapping[str, Any] | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
        extension_directory: str | None = None,
        s3: Literal["auto", "httpfs", "fsspec"] = "auto",
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        given = [name for name, value in (("path", path), ("table", table), ("sql", sql)) if value is not None]
        if len(given) != 1:
            raise OptionError(
                "the duckdb source reads from exactly one of path=..., table=... or sql=...; "
                + (f"got {' and '.join(given)}" if given else "got none")
            )
        if table is not None and database is None:
            raise OptionError(f"table={table!r} needs database='<file>.duckdb' to say which database holds it")
        if isinstance(path, str) and path.lower().endswith(locations.DATABASE_SUFFIXES):
            raise OptionError(f"{path!r} looks like a DuckDB database: pass database={path!r} and table='<name>'")
        if params is not None and sql is None:
            raise OptionError("params are the named $parameters of sql=...; give them only with sql")
        if not glob and path is None:
            raise OptionError("glob=False says how path=... is read; give it only with path")
        if table is not None:
            filtering.table_name(table, where="duckdb source")
        if sql is not None:
            sql = single_query(sql)
        if s3 not in s3_access.ROUTES:
            raise OptionError(f"s3={s3!r} is not a route to S3; choose one of {', '.join(map(repr, s3_access.ROUTES))}")
        self.path = path
        self.table = table
        self.sql = sql
        self.database = database
        self.format = format
        self.glob = glob
        self.hive_partitioning = hive_partitioning
        self.columns = columns
        self.filters = filters
        self.params = params
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        self.extension_directory = extension_directory
        self.s3 = s3
        self.storage_options = storage_options
        self._expr = filtering.parse(filters)

    @property
    def _paths(self) -> list[str]:
        if self.path is None:
            return []
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @property
    def _reads_s3(self) -> bool:
        sql = (self.sql or "").lower()
        return any(map(locations.is_s3, self._paths)) or any(scheme in sql for scheme in locations.S3_SCHEMES)

    @property
    def s3_route(self) -> str | None:
        """How S3 is read, "httpfs" or "fsspec" (settled on first use); None when nothing is on S3."""
        access = self._session[1] if self._reads_s3 else None
        return access.route if access else None

    @property
    def _connection(self) -> Any:
        return self._session[0]

    @functools.cached_property
    def _session(self) -> tuple[Any, s3_access.Access | None]:
        """The connection, set up for S3 (by the route `s3` comes to) when the source reads S3."""
        import duckdb

        config = {
            key: value
            for key, value in (
                ("threads", self.threads), ("memory_limit", self.memory_limit), ("temp_directory", self.temp_directory),
                ("extension_directory", self.extension_directory),
            )
            if value is not None
        }
        try:
            if self.database is not None:
                con = duckdb.connect(self.database, read_only=True, config=config)
            else:
                con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            what = f"the database {self.database!r}" if self.database else "an in-memory database"
            raise DataError(f"duckdb source: cannot open {what}: {exc}") from exc
        if not self._reads_s3:
            return con, None
        try:
            return con, s3_access.attach(con, self.s3, self.storage_options)
        except BaseException:
            con.close()
            raise

    @functools.cached_property
    def _from(self) -> tuple[str, dict[str, Any]]:
        """The FROM item and its parameters, checked to bind, with projection and filter columns verified."""
        if self.sql is not None:
            item, params = f"({self.sql}\n) AS source", dict(self.params or {})
        elif self.table is not None:
            item, params = ".".join(map(filtering.quote, filtering.table_name(self.table, where="duckdb source"))), {}
        else:
            access = self._session[1]
            located = locations.locate(self._paths, self.format, access.files if access else None, wildcards=self.glob)
            params = {"source_path": list(located.patterns)}
            options = ""
            if self.hive_partitioning is not None:
                params["source_hive"] = self.hive_partitioning
                options = ", hive_partitioning=$source_hive"
            item = f"{READERS[located.format]}($source_path{options})"
        with self._errors("cannot read the source"):
            names = [column[0] for column in self._result(f"SELECT * FROM {item} LIMIT 0", params).description]
        where = f"duckdb source ({self._what})"
        filtering.check_columns(self.columns or (), names, what="the projection", where=where)
        filtering.check_columns(filtering.columns(self._expr), names, what="the filter", where=where)
        return item, params

    @property
    def _what(self) -> str:
        if self.sql is not None:
            return "sql query"
        if self.table is not None:
            return f"table {self.table!r} in {self.database!r}"
        return f"path {self.path!r}"

    def _statement(self) -> tuple[str, dict[str, Any]]:
        """The whole query (projection and filter included) and its bound parameters."""
        item, base_params = self._from
        params = dict(base_params)
        projection = "*" if self.columns is None else ", ".join(map(filtering.quote, self.columns))
        query = f"SELECT {projection} FROM {item}"
        if self._expr is not None:
            query += f" WHERE {filtering.to_sql(self._expr, params)}"
        return query, params

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """DuckDB's errors as DataErrors that say which source and what to do."""
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            raise DataError(f"duckdb source ({self._what}): {doing}: {self._advice(exc)}") from exc

    def _advice(self, exc: Exception) -> str:
        import duckdb

        text = str(exc).strip()
        status = s3_access.http_status(exc)
        if "PermissionError" in text or status == 403:
            return f"S3 refused access ({text.splitlines()[0]}); {s3_access.CREDENTIALS_HINT}"
        if status == 404:
            return f"S3 has no such object or bucket ({text.splitlines()[0]}); check the path"
        if isinstance(exc, duckdb.ParserException):
            return f"the SQL does not parse: {text}"
        if isinstance(exc, duckdb.CatalogException) and self.database is not None:
            tables = [".".join(row) for row in self._connection.cursor().sql(
                "SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL"
            ).fetchall()]
            return f"{text} The database {self.database!r} has the tables: {', '.join(tables) or 'none'}."
        return text

    def _result(self, query: str, params: dict[str, Any]) -> Any:
        """The query's rows on a cursor of their own, read lazily (Arrow batch by batch too)."""
        cursor = self._connection.cursor()
        if lazy_parameterised_sql():
            return cursor.sql(query, params=params)
        return cursor.execute(query, params)

    def schema(self) -> Any:
        """The Arrow schema of the projected columns (planned, not scanned)."""
        query, params = self._statement()
        with self._errors("cannot plan the query"):
            return self._result(f"SELECT * FROM ({query}) LIMIT 0", params).to_arrow_table().schema

    def files(self) -> list[str] | None:
        """The data files a path source reads, in the order DuckDB reads them (its glob of each path in
        turn, S3 included); None for a SQL or table source."""
        if self.path is None:
            return None
        _, params = self._from
        with self._errors("cannot list the source's files"):
            return [row[0] for pattern in params["source_path"]
                    for row in self._result("SELECT file FROM glob($pattern)", {"pattern": pattern}).fetchall()]

    def parts(self) -> list[dict[str, Any]] | None:
        """The source split into its files, in the order it reads them: for each, the options that read
        that one file (`path`, no glob) laid over this source's own. None for a SQL or table source,
        which DuckDB reads whole."""
        files = self.files()
        return None if files is None else [{"path": file, "glob": False} for file in files]

    def count(self) -> int:
        """Rows that pass the filter (DuckDB answers from Parquet metadata where it can)."""
        query, params = self._statement()
        with self._errors("cannot count the rows"):
            return int(self._result(f"SELECT count(*) FROM ({query})", params).fetchall()[0][0])

    def scan(self, batch_size: int | None = None) -> Any:
        """A RecordBatchReader on a cursor of its own, at most `batch_size` rows per batch."""
        query, params = self._statement()
        with self._errors("cannot run the query"):
            reader = self._result(query, params).to_arrow_reader(batch_size or DEFAULT_BATCH_SIZE)
        return with_progress(reader, desc=f"duckdb {self._what}")

    def sample(self, size: int | float, seed: int) -> Any:
        """A seeded sample of the projected, filtered rows as one table, drawn by DuckDB: exactly `size`
        rows (reservoir; all of them when fewer), or each row with probability `size` (bernoulli)."""
        from engine.sampling import check_size

        size = check_size(size)
        query, params = self._statement()
        method = f"reservoir({int(size)} ROWS)" if isinstance(size, int) else f"bernoulli({100.0 * size!r} PERCENT)"
        with self._errors("cannot sample the rows"):
            return self._result(f"SELECT * FROM ({query}) USING SAMPLE {method} REPEATABLE ({int(seed)})",
                                params).to_arrow_table()

    def to_arrow(self) -> Any:
        """Every projected, filtered row as one pyarrow Table."""
        if progress.enabled():
            return self.scan().read_all()
        query, params = self._statement()
        with self._errors("cannot run the query"):
            return self._result(query, params).to_arrow_table()

    def explain(self) -> str:
        """The query with its bound parameters, the S3 route, and DuckDB's physical plan, where the
        pushed-down projection, filters and pruned files show in the scan operator."""
        query, params = self._statement()
        with self._errors("cannot plan the query"):
            plan = "\n".join(row[1] for row in self._result(f"EXPLAIN {query}", params).fetchall())
        route = f"S3 route: {self.s3_route}\n" if self.s3_route else ""
        return f"duckdb source: {self._what}\n{route}SQL: {query}\nParameters: {params!r}\n\n{plan}"

    def close(self) -> None:
        """Release the connection (and with it any database file)."""
        if "_session" in self.__dict__:
            self.__dict__.pop("_session")[0].close()

    def __enter__(self) -> DuckDBSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def single_query(sql: str) -> str:
    """`sql` when DuckDB's parser finds exactly one statement in it and that statement is a query
    (SELECT, WITH ... SELECT, VALUES, FROM-first), its text without the closing `;`; otherwise an
    OptionError. The source wraps it as `(sql) AS source`, so a second statement (a `COPY ... TO`
    after `) AS source;`) never runs."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise OptionError(f"duckdb source: sql does not parse: {str(exc).strip()[:500]}") from None
    kinds = [statement.type.name for statement in statements]
    if kinds != ["SELECT"]:
        found = f"{len(kinds)} statements ({', '.join(kinds)})" if len(kinds) != 1 else f"a {kinds[0]} statement"
        raise OptionError(f"duckdb source: sql must be exactly one query (SELECT, WITH ... SELECT, VALUES or "
                          f"FROM ...), got {found if kinds else 'no statement'}; a source only reads")
    return statements[0].query.strip().rstrip(";").rstrip()


@functools.cache
def lazy_parameterised_sql() -> bool:
    """Whether `sql()` with parameters plans lazily (DuckDB 2.0 on); before 2.0 it runs the query at
    once into memory, so a prepared `execute()`, which streams there, reads instead."""
    import duckdb

    return int(duckdb.__version__.split(".")[0]) >= 2
