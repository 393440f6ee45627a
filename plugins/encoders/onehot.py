"""The `onehot` encoder: fitted once, it turns training and inference data into exactly the same
columns, whatever levels appear or go missing, and reports the drift of every transform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from engine.errors import DataError, OptionError
from engine.kinds.encoder import DriftReport
from plugins.encoders import output, state
from plugins.encoders.columns import domain_of
from plugins.encoders.encoding import ColumnEncoding
from plugins.encoders.estimator import EstimatorAPI
from plugins.encoders.inputs import as_table, stream
from plugins.encoders.levels import FittedColumn, LevelCounter, Settings, layout
from plugins.encoders.pieces import Piece, Slice, by_rows, cut, parallel_map, read_pieces


class OneHotEncoder(EstimatorAPI):
    """One-hot encoding of the named `columns` (all columns when None); the others pass through.

    Levels are sorted, missing values last, the infrequent column last within its column; unseen
    levels follow `handle_unknown`, missing values `handle_missing`. Output columns are named
    `column{separator}level`. Later data needs every encoded column; a passed-through one it lacks
    (an experiment's outcome, absent from the customers to score) is left out of the output.
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        handle_unknown: Literal["ignore", "error", "infrequent", "warn"] = "ignore",
        handle_missing: Literal["level", "zeros", "error"] = "level",
        min_frequency: int | float | None = None,
        max_categories: int | None = None,
        drop: Literal["first", "if_binary"] | None = None,
        separator: str = "_",
        infrequent_name: str = "infrequent",
        output: Literal["sparse", "dense", "arrow", "pandas", "polars"] = "sparse",
        dtype: Literal["float64", "float32", "uint8"] = "float64",
        remainder: Literal["passthrough", "drop"] = "passthrough",
    ) -> None:
        self.columns = columns
        self.handle_unknown = handle_unknown
        self.handle_missing = handle_missing
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.drop = drop
        self.separator = separator
        self.infrequent_name = infrequent_name
        self.output = output
        self.dtype = dtype
        self.remainder = remainder

    def fit(self, X: Any, y: Any = None) -> OneHotEncoder:
        """Learn the levels of each encoded column; `X` may be a table or streamed record batches."""
        settings = self._settings()
        names: list[str] | None = None
        domains: dict[str, str | None] = {}
        counters: dict[str, LevelCounter] = {}
        for table in stream(X):
            if names is None:
                names = list(table.column_names)
                encoded = self._encoded_columns(names)
                counters = {name: LevelCounter(name) for name in encoded}
            self._require_columns(table, counters)
            domains = self._domains(table, counters, domains)
            for piece in read_pieces(table, _known(domains)):
                counters[piece.column].add(piece.codes)
        fitted = [counters[name].result(domains[name] or "string") for name in counters]
        self._set_fitted(names or [], fitted, settings)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit and transform in one pass over the data (each column is hashed once)."""
        settings = self._settings()
        table = as_table(X)
        names = list(table.column_names)
        encoded = self._encoded_columns(names)
        domains = _known(self._domains(table, encoded, {}))
        pieces = read_pieces(table, domains)
        counters = {name: LevelCounter(name) for name in encoded}
        for piece in pieces:
            counters[piece.column].add(piece.codes)
        self._set_fitted(names, [counters[n].result(domains[n]) for n in encoded], settings)
        return self._encode(table, pieces, _index_of(X))

    def transform(self, X: Any) -> Any:
        """The fitted columns for `X`, in the fitted order; sets `drift_report_`."""
        self._require_fitted("layouts_")
        table = as_table(X)
        return self._encode(table, None, _index_of(X))

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        """The output column names: `column{separator}level` for encoded columns, in output order."""
        self._require_fitted("layouts_")
        if input_features is not None and list(input_features) != list(self.feature_names_in_):
            raise DataError(
                f"input_features {list(input_features)} differ from the columns seen in fit {list(self.feature_names_in_)}"
            )
        return np.asarray(self._names, dtype=object)

    def to_state(self) -> dict[str, Any]:
        """The fitted state as plain JSON data (levels, counts, settings), for `engine.save`."""
        self._require_fitted("layouts_")
        return state.dump(self)

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> OneHotEncoder:
        """An encoder rebuilt from `to_state()`; a newer schema or a corrupt state raises StateError."""
        return state.load(cls, saved)

    def to_sql(self, table: str | None = None) -> str:
        """The transform as DuckDB SQL: the select list, or a whole query over `table` when given."""
        from plugins.encoders.sql import select_list

        self._require_fitted("layouts_")
        expressions = select_list(self)
        return expressions if table is None else f"SELECT {expressions}\nFROM {table}"

    def _settings(self) -> Settings:
        self._check_params()
        if isinstance(self.columns, str):
            raise OptionError(f"columns must be a list of column names, got the string {self.columns!r}; write [{self.columns!r}]")
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise OptionError(f"columns {list(self.columns)} name a column more than once")
        frequency = self.min_frequency
        if isinstance(frequency, int) and frequency < 1 or isinstance(frequency, float) and not 0 < frequency <= 1:
            raise OptionError(
                f"min_frequency must be a count of at least 1 (int) or a share in (0, 1] (float), got {frequency!r}"
            )
        if self.max_categories is not None and self.max_categories < 1:
            raise OptionError(f"max_categories must be at least 1, got {self.max_categories}")
        return Settings(
            handle_unknown=self.handle_unknown,
            handle_missing=self.handle_missing,
            min_frequency=frequency,
            max_categories=self.max_categories,
            drop=self.drop,
            infrequent_name=self.infrequent_name,
        )

    def _encoded_columns(self, names: list[str]) -> list[str]:
        if self.columns is None:
            return list(names)
        absent = [c for c in self.columns if c not in names]
        if absent:
            raise DataError(f"columns {absent} are not in the data; it has {names}")
        chosen = set(self.columns)
        return [n for n in names if n in chosen]

    def _require_columns(self, table: Any, needed: Any) -> None:
        absent = [c for c in needed if c not in table.column_names]
        if absent:
            raise DataError(
                f"the data lacks column(s) {absent} that the encoder was fitted with; it has "
                f"{table.column_names}. Give it every fitted column (a constant or null one will do)"
            )

    def _domains(self, table: Any, columns: Any, known: dict[str, str | None]) -> dict[str, str | None]:
        return {name: known.get(name) or domain_of(name, table.schema.field(name).type) for name in columns}

    def _set_fitted(self, names: list[str], fitted: list[FittedColumn], settings: Settings) -> None:
        rows = max((f.rows for f in fitted), default=0)
        if not names or (fitted and rows == 0):
            raise DataError("cannot fit on empty data (no rows): fit on training data that has rows")
        if settings.handle_missing == "error":
            for column in fitted:
                if column.missing:
                    raise DataError(
                        f"column {column.column!r} has {column.missing} missing value(s) and handle_missing='error'; "
                        "fill them, or use handle_missing='level' (a column of their own) or 'zeros'"
                    )
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.layouts_ = {f.column: layout(f, settings) for f in fitted}

    @property
    def _blocks(self) -> tuple[output.Block, ...]:
        return self._blocks_of(None)

    def _blocks_of(self, present: Any) -> tuple[output.Block, ...]:
        """The output's blocks; with `present` (the data's column names), passed-through columns the
        data lacks are left out, so that a scoring base without the experiment's outcome and
        treatment still encodes (the encoded columns are always required)."""
        blocks, offset = [], 0
        for name in self.feature_names_in_:
            column = self.layouts_.get(name)
            if column is None and (self.remainder == "drop" or present is not None and name not in present):
                continue
            width = 1 if column is None else column.width
            blocks.append(output.Block(name, offset, width, column is not None))
            offset += width
        return tuple(blocks)

    @property
    def _names(self) -> tuple[str, ...]:
        return self._names_of(self._blocks)

    def _names_of(self, blocks: tuple[output.Block, ...]) -> tuple[str, ...]:
        labels = {name: column.labels for name, column in self.layouts_.items()}
        return output.names_of(blocks, labels, self.separator)

    def _encode(self, table: Any, pieces: list[Piece] | None, index: Any) -> Any:
        blocks = self._blocks_of(set(table.column_names))
        self._require_columns(table, list(self.layouts_))
        width = sum(b.width for b in blocks)
        slots = np.empty((table.num_rows, len(blocks)), output.slot_dtype(table.num_rows, len(blocks), width))
        position = {b.name: j for j, b in enumerate(blocks)}
        encodings = {
            b.name: ColumnEncoding(self.layouts_[b.name], b.offset, self.handle_unknown, self.handle_missing)
            for b in blocks
            if b.encoded
        }

        def encode(rows: list[Piece | Slice]) -> list[tuple[str, Any]]:
            tallies = []
            for work in rows:
                piece = work if isinstance(work, Piece) else work.read(encodings[work.column].levels)
                tallies.append((piece.column, encodings[piece.column].encode(piece, slots[:, position[piece.column]])))
            return tallies

        domains = {name: e.layout.fitted.domain for name, e in encodings.items()}
        work = by_rows(pieces if pieces is not None else cut(table, domains))
        tallies = [tally for rows in parallel_map(encode, work) for tally in rows]
        drift = [e.finish([t for name, t in tallies if name == column], table.num_rows) for column, e in encodings.items()]
        self.drift_report_ = DriftReport(rows=table.num_rows, columns=tuple(drift))
        for b in blocks:
            if not b.encoded:
                slots[:, position[b.name]] = b.offset
        passthrough = {b.name: table[b.name] for b in blocks if not b.encoded}
        encoded = output.Encoded(slots=slots, blocks=blocks, names=self._names_of(blocks), passthrough=passthrough)
        kind = self._output_config()
        return output.build(encoded, self.output if kind == "default" else kind, self.dtype, index)


def _known(domains: dict[str, str | None]) -> dict[str, str]:
    """Domains with an all-null column's unknown domain read as strings."""
    return {name: domain or "string" for name, domain in domains.items()}


def _index_of(data: Any) -> Any:
    """A pandas frame's index, kept on pandas output."""
    return data.index if type(data).__module__.split(".")[0] == "pandas" else None
