"""The `onehot` transform written as DuckDB SQL expressions, one per output column."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.encoders.levels import ColumnLayout

_VALUE_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "boolean": "BOOLEAN"}
_OUTPUT_TYPES = {"float64": "DOUBLE", "float32": "FLOAT", "uint8": "UTINYINT"}


def select_list(encoder: Any) -> str:
    """The SELECT list that computes the encoder's output columns, in order, from its input columns."""
    expressions: list[str] = []
    names = iter(encoder.get_feature_names_out())
    for block in encoder._blocks:
        if not block.encoded:
            expressions.append(f"{identifier(block.name)} AS {identifier(next(names))}")
            continue
        column = encoder.layouts_[block.name]
        value = _checked_value(column, encoder.handle_unknown, encoder.handle_missing)
        for slot in range(column.width):
            condition = _condition(column, encoder.handle_missing, value, slot)
            expressions.append(
                f"CAST(COALESCE({condition}, FALSE) AS {_OUTPUT_TYPES[encoder.dtype]}) AS {identifier(next(names))}"
            )
    return ",\n".join(expressions)


def _checked_value(column: ColumnLayout, handle_unknown: str, handle_missing: str) -> str:
    """The column cast to its fitted type, raising (DuckDB's error()) where the encoder would raise."""
    fitted = column.fitted
    value = f"CAST({identifier(fitted.column)} AS {_VALUE_TYPES[fitted.domain]})"
    guards = []
    if handle_missing == "error" or (handle_unknown == "error" and handle_missing == "level" and not column.missing_is_level):
        guards.append((f"{value} IS NULL", f"column {fitted.column} has missing values"))
    if handle_unknown == "error":
        guards.append((f"{_unknown(fitted.levels, value)}", f"column {fitted.column} has a level not seen in fit"))
    if not guards:
        return value
    cases = " ".join(f"WHEN {test} THEN error({literal(message)})" for test, message in guards)
    return f"(CASE {cases} ELSE {value} END)"


def _condition(column: ColumnLayout, handle_missing: str, value: str, slot: int) -> str:
    levels = column.fitted.levels
    slots = column.level_slots
    parts = []
    members = [levels[i] for i in np.flatnonzero(slots[:-1] == slot)]
    if len(members) == 1:
        parts.append(f"{value} = {literal(members[0])}")
    elif members:
        parts.append(f"{value} IN ({', '.join(literal(m) for m in members)})")
    missing_to_unknown = handle_missing == "level" and not column.missing_is_level
    if slots[-1] == slot or (missing_to_unknown and column.unknown_slot == slot):
        parts.append(f"{value} IS NULL")
    if column.unknown_slot == slot:
        parts.append(_unknown(levels, value))
    return " OR ".join(parts) or "FALSE"


def _unknown(levels: tuple[Any, ...], value: str) -> str:
    if not levels:
        return f"{value} IS NOT NULL"
    return f"({value} IS NOT NULL AND {value} NOT IN ({', '.join(literal(level) for level in levels)}))"


def identifier(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
