"""The `onehot` transform written as DuckDB SQL, computing exactly what `transform` does (raising
through DuckDB's `error()` where it raises), with text that grows linearly with the levels.

Two forms: `select_list` (expressions over the input columns, one per output column: each level
appears in one condition) and `query` (a whole query over a table: each encoded column's level is
looked up once per row, by position in a list of its levels, and the output columns compare that
position; DuckDB runs it faster when columns have many levels)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.errors import OptionError
from plugins.encoders.levels import ColumnLayout
from plugins.encoders.output import value_dtype

_VALUE_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN"}
_OUTPUT_TYPES = {
    "float64": "DOUBLE", "float32": "FLOAT", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER",
    "int64": "BIGINT", "uint8": "UTINYINT", "uint16": "USMALLINT", "uint32": "UINTEGER", "uint64": "UBIGINT",
    "bool": "BOOLEAN",
}
_PART = re.compile(r'"(?:[^"]|"")+"|[^".]+')


class _Column:
    """SQL for one encoded input column: its value in the fitted domain, whether it is missing,
    unseen or must raise, and which levels go to which output column."""

    def __init__(self, layout: ColumnLayout, handle_unknown: str, handle_missing: str) -> None:
        fitted = layout.fitted
        self.layout = layout
        self.name = fitted.column
        raw = identifier(fitted.column)
        number = f"TRY_CAST({raw} AS DOUBLE)"
        self.fractional = "FALSE"
        if fitted.domain in ("integer", "float"):
            self.missing = f"({raw} IS NULL OR isnan({number}))"
            if fitted.domain == "integer":
                self.fractional = f"(NOT isnan({number}) AND (isinf({number}) OR {number} <> floor({number})))"
            kept = f"CASE WHEN {self.missing} OR {self.fractional} THEN NULL ELSE {raw} END"
            self.value = f"CAST({kept} AS {_VALUE_TYPES[fitted.domain]})"
        else:
            self.missing = f"({raw} IS NULL)"
            self.value = f"CAST({raw} AS {_VALUE_TYPES[fitted.domain]})"
        self.levels = fitted.levels
        slots = layout.level_slots
        unseen_slot = layout.unknown_slot if handle_missing == "level" else -1
        self.missing_slot = int(slots[-1]) if layout.missing_is_level else unseen_slot
        missing_unseen = handle_missing == "level" and not layout.missing_is_level
        self.missing_raises = handle_missing == "error" or (handle_unknown == "error" and missing_unseen)
        self.unknown_raises = handle_unknown == "error"
        self.members: dict[int, list[int]] = {}
        for at, slot in enumerate(slots[: len(self.levels)].tolist()):
            if slot >= 0:
                self.members.setdefault(slot, []).append(at)

    def unknown(self) -> str:
        if not self.levels:
            return f"(NOT {self.missing})"
        return f"(NOT {self.missing} AND ({self.fractional} OR {self.value} NOT IN ({_literals(self.levels)})))"

    def guards(self) -> list[tuple[str, str]]:
        """(condition, message) pairs where transform raises."""
        out = []
        if self.missing_raises:
            out.append((self.missing, self.missing_message))
        if self.unknown_raises:
            out.append((self.unknown(), self.unknown_message))
        return out

    @property
    def missing_message(self) -> str:
        return f"column {self.name} has missing values"

    @property
    def unknown_message(self) -> str:
        return f"column {self.name} has a level not seen in fit"

    def condition(self, slot: int) -> str:
        """When a row sets output column `slot` (select-list form)."""
        parts = []
        members = [self.levels[at] for at in self.members.get(slot, [])]
        if len(members) == 1:
            parts.append(f"{self.value} = {literal(members[0])}")
        elif members:
            parts.append(f"{self.value} IN ({_literals(members)})")
        if self.missing_slot == slot:
            parts.append(self.missing)
        if self.layout.unknown_slot == slot:
            parts.append(self.unknown())
        return " OR ".join(parts) or "FALSE"

    def position(self) -> str:
        """The 1-based position of the row's level among the fitted ones; NULL when missing or unseen."""
        if not self.levels:
            return "CAST(NULL AS BIGINT)"
        return f"list_position([{_literals(self.levels)}], {self.value})"

    def located(self, position: str, missing: str) -> str:
        """0 for a missing row, the position for a fitted level, -1 for an unseen one, error() where transform raises."""
        missing_case = f"error({literal(self.missing_message)})" if self.missing_raises else "0"
        unknown_case = f"error({literal(self.unknown_message)})" if self.unknown_raises else "-1"
        return f"CASE WHEN {missing} THEN {missing_case} WHEN {position} IS NULL THEN {unknown_case} ELSE {position} END"

    def condition_at(self, slot: int, located: str) -> str:
        """When a row sets output column `slot`, from its located position (query form)."""
        parts = []
        members = [at + 1 for at in self.members.get(slot, [])]
        if len(members) == 1:
            parts.append(f"{located} = {members[0]}")
        elif members:
            parts.append(f"{located} IN ({', '.join(map(str, members))})")
        if self.missing_slot == slot:
            parts.append(f"{located} = 0")
        if self.layout.unknown_slot == slot:
            parts.append(f"{located} = -1")
        return " OR ".join(parts) or "FALSE"


def select_list(encoder: Any) -> str:
    """The SELECT list that computes the encoder's output columns, in order, from its input columns."""
    return ",\n".join(_expressions(encoder, _columns(encoder), None))


def query(encoder: Any, table: str | Sequence[str]) -> str:
    """A whole query over `table`; each encoded column's level is located once per row."""
    source = table_name(table)
    columns = _columns(encoder)
    missing = [identifier(f"__hookyard_missing_{j}") for j in range(len(columns))]
    position = [identifier(f"__hookyard_position_{j}") for j in range(len(columns))]
    level = [identifier(f"__hookyard_level_{j}") for j in range(len(columns))]
    inner = ", ".join(f"{c.missing} AS {missing[j]}, {c.position()} AS {position[j]}" for j, c in enumerate(columns.values()))
    middle = ", ".join(f"{c.located(position[j], missing[j])} AS {level[j]}" for j, c in enumerate(columns.values()))
    located = dict(zip(columns, level))
    body = ",\n".join(_expressions(encoder, columns, located))
    if not columns:
        return f"SELECT {body}\nFROM {source}"
    return (
        f"SELECT {body}\nFROM (SELECT *, {middle}\n  FROM (SELECT *, {inner}\n    FROM {source}) AS __hookyard_read)"
        " AS __hookyard_input"
    )


def _columns(encoder: Any) -> dict[str, _Column]:
    return {
        name: _Column(layout, encoder._unknown_mode, encoder.handle_missing) for name, layout in encoder.layouts_.items()
    }


def _expressions(encoder: Any, columns: dict[str, _Column], located: dict[str, str] | None) -> list[str]:
    """One expression per output column; a column's raising guards go into its first output column
    (into the first output column of all for a column without any)."""
    kind = _output_type(encoder.dtype)
    names = iter(encoder.get_feature_names_out())
    expressions: list[str] = []
    homeless: list[tuple[str, str]] = []
    for block in encoder._blocks:
        if not block.encoded:
            expressions.append(f"{identifier(block.name)} AS {identifier(next(names))}")
            continue
        column = columns[block.name]
        guards = [] if located is not None else column.guards()
        if block.width == 0:
            homeless.extend(column.guards())
        for slot in range(block.width):
            if located is None:
                value = f"CAST(COALESCE({column.condition(slot)}, FALSE) AS {kind})"
            else:  # the located level is never NULL
                value = f"CAST({column.condition_at(slot, located[block.name])} AS {kind})"
            if slot == 0 and guards:
                value = _guarded(value, guards)
            expressions.append(f"{value} AS {identifier(next(names))}")
    if not expressions:
        raise OptionError("the encoder gives no output columns (every level dropped), and SQL cannot select none")
    if homeless:
        value, name = expressions[0].rsplit(" AS ", 1)
        expressions[0] = f"{_guarded(value, homeless)} AS {name}"
    return expressions


def _guarded(value: str, guards: list[tuple[str, str]]) -> str:
    cases = " ".join(f"WHEN {test} THEN error({literal(message)})" for test, message in guards)
    return f"(CASE {cases} ELSE {value} END)"


def _output_type(dtype: Any) -> str:
    name = value_dtype(dtype).name
    if name not in _OUTPUT_TYPES:
        raise OptionError(f"dtype {name} has no DuckDB type for to_sql(); use one of {', '.join(_OUTPUT_TYPES)}")
    return _OUTPUT_TYPES[name]


def table_name(table: str | Sequence[str]) -> str:
    """A table name as DuckDB SQL: a sequence of parts, or a dotted name whose parts are quoted as
    identifiers unless already in double quotes ("my db".main.t)."""
    if isinstance(table, str):
        parts = [m.group(0) for m in _PART.finditer(table)]
        if not table or ".".join(parts) != table:
            raise OptionError(
                f"to_sql(table={table!r:.80}): give a table name, a dotted name (db.schema.table) whose "
                'parts are plain or double-quoted ("my table"), or a list of parts'
            )
        return ".".join(p if p.startswith('"') else identifier(p) for p in parts)
    parts = list(table)
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise OptionError(f"to_sql(table=...): the parts of a table name must be non-empty strings, got {parts!r:.80}")
    return ".".join(identifier(p) for p in parts)


def identifier(name: str) -> str:
    return '"' + _sql_text(str(name)).replace('"', '""') + '"'


def _sql_text(text: str) -> str:
    if "\x00" in text:
        raise OptionError(f"{text!r:.60} holds a NUL character, which DuckDB SQL cannot hold: rename the column or level")
    return text


def _literals(values: Sequence[Any]) -> str:
    return ", ".join(literal(v) for v in values)


def literal(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"CAST('{float(value)!r}' AS DOUBLE)"
    return "'" + _sql_text(str(value)).replace("'", "''") + "'"
