"""A one-hot encoder over Arrow tables whose fitted levels are plain data (so it can be saved)."""

from __future__ import annotations

from typing import Any

from engine import DataError, NotFittedError, StateError
from engine import state_checks as checks
from engine.tables import to_arrow

STATE_SCHEMA = 1


class ExampleEncoder:
    """One column per training level of each encoded column; other columns pass through first.

    `columns` are the columns to encode (all string columns when None); `separator` joins a
    column's name and a level into the output column's name.
    """

    def __init__(self, columns: list[str] | None = None, separator: str = "_") -> None:
        self.columns = columns
        self.separator = separator

    def fit(self, X: Any, y: Any = None) -> ExampleEncoder:
        """Learn each encoded column's levels (sorted, nulls left out)."""
        import pyarrow as pa

        table = to_arrow(X)
        columns = self.columns
        if columns is None:
            columns = [f.name for f in table.schema if pa.types.is_string(f.type)]
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise DataError(f"columns {missing} are not in the data; it has {table.column_names}")
        self.passthrough_ = [c for c in table.column_names if c not in columns]
        self.levels_ = {c: sorted({v for v in table.column(c).to_pylist() if v is not None}) for c in columns}
        return self

    def transform(self, X: Any) -> Any:
        """A pyarrow Table with the passed-through columns, then one 0/1 column per fitted level."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not hasattr(self, "levels_"):
            raise NotFittedError("this encoder is not fitted yet: call fit first")
        table = to_arrow(X)
        missing = [c for c in [*self.passthrough_, *self.levels_] if c not in table.column_names]
        if missing:
            raise DataError(f"the data lacks the fitted columns {missing}")
        out = {c: table.column(c) for c in self.passthrough_}
        for column, levels in self.levels_.items():
            for level in levels:
                hit = pc.fill_null(pc.equal(table.column(column), level), False)
                out[f"{column}{self.separator}{level}"] = pc.cast(hit, pa.float64())
        return pa.table(out)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> list[str]:
        """The output's column names, in order."""
        if not hasattr(self, "levels_"):
            raise NotFittedError("this encoder is not fitted yet: call fit first")
        encoded = [f"{c}{self.separator}{level}" for c, levels in self.levels_.items() for level in levels]
        return [*self.passthrough_, *encoded]

    def to_state(self) -> dict[str, Any]:
        """The fitted state as plain data, with its schema version (engine.save writes it as JSON)."""
        return {"schema": STATE_SCHEMA, "separator": self.separator, "passthrough": self.passthrough_,
                "levels": self.levels_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ExampleEncoder:
        """The encoder `to_state` described; a newer schema is refused, and a corrupt field is a
        StateError naming it (the checks of engine.state_checks)."""
        if state.get("schema") != STATE_SCHEMA:
            raise StateError(f"encoder state schema {state.get('schema')!r} is not {STATE_SCHEMA}; upgrade the plugin")
        checks.require_object(state, "state", keys=("separator", "passthrough", "levels"))
        levels = checks.require_object(state["levels"], "state.levels")
        encoder = cls(columns=list(levels), separator=checks.require_str(state["separator"], "state.separator"))
        encoder.passthrough_ = checks.require_each(state["passthrough"], "state.passthrough", checks.require_str)
        encoder.levels_ = {
            column: checks.require_each(values, f"state.levels.{column}", checks.require_scalar)
            for column, values in levels.items()
        }
        return encoder
