"""The `onehot` encoder: fitted once, it turns training and inference data into exactly the same
columns, whatever levels appear or go missing, and reports the drift of every transform."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np

from engine.errors import DataError, OptionError
from engine.kinds.encoder import DriftReport
from plugins.encoders import categories, fitted_api, output, state
from plugins.encoders.columns import domain_of
from plugins.encoders.encoding import ColumnEncoding, warn_unknown
from plugins.encoders.estimator import EstimatorAPI
from plugins.encoders.inputs import Input, read, stream
from plugins.encoders.levels import ColumnLayout, DropLevel, FittedColumn, LevelCounter, Settings, layout
from plugins.encoders.pieces import Piece, Slice, by_rows, cut, parallel_map, read_pieces

UNKNOWN_MODES = {"infrequent_if_exist": "infrequent"}  # scikit-learn's spelling


class OneHotEncoder(fitted_api.FittedAPI, EstimatorAPI):
    """One-hot encoding of the named `columns` (all columns when None); the others pass through.

    Levels are sorted, missing values last, the infrequent column last within its column; unseen
    levels follow `handle_unknown`, missing values `handle_missing`. Output columns are named
    `column{separator}level`. Later data needs every encoded column; a passed-through one it lacks
    (an experiment's outcome, absent from the customers to score) is left out of the output.
    A 2-D array or list of rows is read as scikit-learn reads it (columns x0, x1, ..., by position).
    `categories` fixes the levels of each encoded column and their order, as in scikit-learn.
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        handle_unknown: Literal["ignore", "error", "infrequent", "infrequent_if_exist", "warn"] = "ignore",
        handle_missing: Literal["level", "zeros", "error"] = "level",
        min_frequency: int | float | None = None,
        max_categories: int | None = None,
        drop: Literal["first", "if_binary"] | Sequence[Any] | Mapping[str, Any] | None = None,
        separator: str = "_",
        infrequent_name: str = "infrequent",
        output: Literal["sparse", "dense", "arrow", "pandas", "polars"] = "sparse",
        dtype: str | type = "float64",
        remainder: Literal["passthrough", "drop"] = "passthrough",
        categories: Literal["auto"] | Sequence[Any] | Mapping[str, Any] = "auto",
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
        self.categories = categories

    def fit(self, X: Any, y: Any = None) -> OneHotEncoder:
        """Learn the levels of each encoded column; `X` may be a table or streamed record batches."""
        settings = self._settings()
        first: Input | None = None
        domains: dict[str, str | None] = {}
        counters: dict[str, LevelCounter] = {}
        for part in stream(X):
            table = part.table
            if first is None:
                first = part
                counters = {name: LevelCounter(name) for name in self._encoded_columns(table.column_names)}
            self._require_columns(table, counters)
            domains = self._domains(table, counters, domains)
            for piece in read_pieces(table, _known(domains)):
                counters[piece.column].add(piece.codes)
        fitted = [counters[name].result(domains[name] or "string") for name in counters]
        if first is None:
            raise DataError("the stream of record batches is empty: it has no schema to encode")
        self._set_fitted(first.table.column_names, fitted, settings, named=first.named, dtypes=first.dtypes)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit and transform in one pass over the data (each column is hashed once)."""
        settings = self._settings()
        data = read(X)
        table = data.table
        encoded = self._encoded_columns(table.column_names)
        domains = _known(self._domains(table, encoded, {}))
        pieces = read_pieces(table, domains)
        counters = {name: LevelCounter(name) for name in encoded}
        for piece in pieces:
            counters[piece.column].add(piece.codes)
        fitted = [counters[n].result(domains[n]) for n in encoded]
        self._set_fitted(table.column_names, fitted, settings, named=data.named, dtypes=data.dtypes)
        return self._encode(table, pieces, _index_of(X))

    def transform(self, X: Any) -> Any:
        """The fitted columns for `X`, in the fitted order; sets `drift_report_`."""
        self._require_fitted("layouts_")
        return self._encode(self._positional(read(X)).table, None, _index_of(X))

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        """The output column names: `column{separator}level` for encoded columns, in output order;
        `input_features` renames the input columns (any names for array input, the fitted ones for tables)."""
        self._require_fitted("layouts_")
        if input_features is None:
            return np.asarray(self._names, dtype=object)
        features = [str(f) for f in input_features]
        if len(features) != self.n_features_in_:
            raise DataError(
                f"input_features should have length equal to number of features ({self.n_features_in_}), got {len(features)}"
            )
        if self._named and features != list(self._columns_in):
            raise DataError(
                f"input_features is not equal to feature_names_in_: got {features}, fitted with {list(self._columns_in)}"
            )
        return np.asarray(self._names_of(self._blocks, dict(zip(self._columns_in, features))), dtype=object)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Encoded rows back to their levels (an object array, one column per output block's input
        column): see plugins.encoders.inverse for what all-zero and infrequent rows become."""
        from plugins.encoders.inverse import inverse

        self._require_fitted("layouts_")
        return inverse(self, X)

    def to_state(self) -> dict[str, Any]:
        """The fitted state as plain JSON data (levels, counts, settings), for `engine.save`."""
        self._require_fitted("layouts_")
        return state.dump(self)

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> OneHotEncoder:
        """An encoder rebuilt from `to_state()`; a newer schema or a corrupt state raises StateError."""
        return state.load(cls, saved)

    def to_sql(self, table: str | Sequence[str] | None = None) -> str:
        """The transform as DuckDB SQL: the select list, or a whole query over `table` when given
        (a name, quoted for you; a dotted name's parts are quoted one by one, and a part already in
        double quotes is kept; or a sequence of parts)."""
        from plugins.encoders.sql import query, select_list

        self._require_fitted("layouts_")
        return select_list(self) if table is None else query(self, table)

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
        output.value_dtype(self.dtype)
        drop = self.drop
        if isinstance(drop, Sequence) and not isinstance(drop, str):
            drop = tuple(drop)
        elif isinstance(drop, Mapping):
            drop = dict(drop)
        return Settings(
            handle_unknown=self._unknown_mode,
            handle_missing=self.handle_missing,
            min_frequency=frequency,
            max_categories=self.max_categories,
            drop=drop,
            infrequent_name=self.infrequent_name,
        )

    @property
    def _unknown_mode(self) -> str:
        """handle_unknown with scikit-learn's spelling read as ours."""
        return UNKNOWN_MODES.get(self.handle_unknown, self.handle_unknown)

    def _encoded_columns(self, names: Sequence[str]) -> list[str]:
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
        return {
            name: known.get(name) or domain_of(name, table.schema.field(name).type, table[name]) for name in columns
        }

    def _positional(self, data: Input) -> Input:
        """Data without column names (an array), or data for an encoder fitted without them, matched
        to the fitted columns by position, as scikit-learn does; it must have as many columns."""
        if data.named and self._named:
            return data
        table = data.table
        if table.num_columns != self.n_features_in_:
            raise DataError(
                f"X has {table.num_columns} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input: give it the columns it was fitted with, in order"
            )
        return attrs.evolve(data, table=table.rename_columns(list(self._columns_in)))

    def _set_fitted(
        self,
        names: Sequence[str],
        fitted: list[FittedColumn],
        settings: Settings,
        *,
        named: bool = True,
        dtypes: dict[str, np.dtype] | None = None,
    ) -> None:
        rows = max((f.rows for f in fitted), default=0)
        if not names:
            raise DataError("Found 0 feature(s) while a minimum of 1 is required: the data has no columns to encode")
        if fitted and rows == 0:
            raise DataError("cannot fit on empty data (no rows, 0 sample(s)): fit on training data that has rows")
        if settings.handle_missing == "error":
            for column in fitted:
                if column.missing:
                    raise DataError(
                        f"column {column.column!r} has {column.missing} missing value(s) and handle_missing='error'; "
                        "fill them, or use handle_missing='level' (a column of their own) or 'zeros'"
                    )
        stored, layouts = self._layouts(fitted, settings, dtypes or {})
        self._fitted = stored
        self._columns_in = tuple(names)
        self._named = named
        self._dtypes = dtypes or {}
        self._drops = settings.drop is not None
        self.n_features_in_ = len(names)
        self.layouts_ = layouts
        if named:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        output.require_distinct(self._blocks, {n: c.labels for n, c in layouts.items()}, self.separator)

    def _layouts(
        self, fitted: list[FittedColumn], settings: Settings, dtypes: dict[str, np.dtype]
    ) -> tuple[list[FittedColumn], dict[str, ColumnLayout]]:
        """The fitted columns to keep (without levels outside given `categories`) and the output
        layout of each, with its `drop` and in the order of its given categories where there are any."""
        drops = _column_drops(settings.drop, [f.column for f in fitted])
        given = categories.per_column(self.categories, [f.column for f in fitted])
        stored, layouts = [], {}
        for i, column in enumerate(fitted):
            listed = given[column.column]
            if listed is None:
                stored.append(column)
                layouts[column.column] = layout(column, settings, drops[column.column], i)
                continue
            allowed = categories.checked(listed, column, i, dtypes.get(column.column))
            column = categories.restricted(column, allowed, i, settings.handle_unknown, settings.handle_missing)
            stored.append(column)
            in_order = categories.ordered(column, allowed)
            layouts[column.column] = layout(in_order, settings, drops[column.column], i, None in allowed)
        return stored, layouts

    @property
    def _blocks(self) -> tuple[output.Block, ...]:
        return self._blocks_of(None)

    def _blocks_of(self, present: Any) -> tuple[output.Block, ...]:
        """The output's blocks; with `present` (the data's column names), passed-through columns the
        data lacks are left out, so that a scoring base without the experiment's outcome and
        treatment still encodes (the encoded columns are always required)."""
        blocks, offset = [], 0
        for name in self._columns_in:
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

    def _names_of(self, blocks: tuple[output.Block, ...], rename: Mapping[str, str] | None = None) -> tuple[str, ...]:
        labels = {name: column.labels for name, column in self.layouts_.items()}
        return output.names_of(blocks, labels, self.separator, rename)

    def _encode(self, table: Any, pieces: list[Piece] | None, index: Any) -> Any:
        kind = self._output_config()
        form = self.output if kind == "default" else kind
        if kind in ("pandas", "polars") and self.output == "sparse":
            raise DataError(
                f"{kind.capitalize()} output does not support sparse data. Set sparse_output=False to output "
                f"{kind} dataframes or disable {kind.capitalize()} output via set_output(transform='default') "
                "(in onehot: output='dense' rather than 'sparse')"
            )
        blocks = self._blocks_of(set(table.column_names))
        self._require_columns(table, list(self.layouts_))
        width = sum(b.width for b in blocks)
        slots = np.empty((table.num_rows, len(blocks)), output.slot_dtype(table.num_rows, len(blocks), width))
        position = {b.name: j for j, b in enumerate(blocks)}
        place = {name: i for i, name in enumerate(self.layouts_)}
        encodings = {
            b.name: ColumnEncoding(self.layouts_[b.name], b.offset, self._unknown_mode, self.handle_missing, place[b.name])
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
        if self._unknown_mode == "warn" or (self._unknown_mode != "error" and self._drops):
            warn_unknown(list(encodings.values()), drift, self._unknown_mode)
        for b in blocks:
            if not b.encoded:
                slots[:, position[b.name]] = b.offset
        passthrough = {b.name: table[b.name] for b in blocks if not b.encoded}
        encoded = output.Encoded(slots=slots, blocks=blocks, names=self._names_of(blocks), passthrough=passthrough)
        return output.build(encoded, form, output.value_dtype(self.dtype), index)


def _column_drops(drop: Any, columns: list[str]) -> dict[str, Any]:
    """`drop` for each encoded column: "first", "if_binary" or None for all, or a DropLevel (or None)
    per column from a list (one entry per encoded column, in order) or a mapping by column name."""
    if drop is None or isinstance(drop, str):
        return dict.fromkeys(columns, drop)
    if isinstance(drop, dict):
        unknown = [c for c in drop if c not in columns]
        if unknown:
            raise DataError(f"drop names column(s) {unknown} that are not encoded; the encoded columns are {columns}")
        return {c: DropLevel(drop[c]) if c in drop else None for c in columns}
    if len(drop) != len(columns):
        raise DataError(
            f"`drop` should have length equal to the number of features ({len(columns)}), got {len(drop)}: "
            f"give one level per encoded column {columns} (None or NaN: the missing level)"
        )
    return {c: DropLevel(value) for c, value in zip(columns, drop)}


def _known(domains: dict[str, str | None]) -> dict[str, str]:
    """Domains with an all-null column's unknown domain read as strings."""
    return {name: domain or "string" for name, domain in domains.items()}


def _index_of(data: Any) -> Any:
    """A pandas frame's index, kept on pandas output."""
    return data.index if type(data).__module__.split(".")[0] == "pandas" else None
