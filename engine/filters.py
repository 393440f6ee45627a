"""Row filters as data: parsed once, then compiled to SQL with bound parameters or to pyarrow.compute.

A filter is written as a clause `("column", op, value)` (or `("column", "is null")`), a list of
clauses (all must hold), a list of lists of clauses (any inner list may hold, pyarrow's
disjunctive form), or built with `col("x") >= 3`, `&`, `|` and `~`. User values never become SQL
text: they travel as named parameters, and column names are always quoted identifiers.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from engine.errors import DataError, OptionError

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
MEMBERSHIP = ("in", "not in")
NULL_TESTS = ("is null", "is not null")
OPERATORS = COMPARISONS + MEMBERSHIP + NULL_TESTS
_ALIASES = {"=": "==", "<>": "!=", "not_in": "not in", "is_null": "is null", "is_not_null": "is not null"}


class Expression:
    """A boolean row filter; combine with `&` (and), `|` (or) and `~` (not)."""

    def __and__(self, other: Expression) -> Expression:
        return And((self, _checked(other)))

    def __or__(self, other: Expression) -> Expression:
        return Or((self, _checked(other)))

    def __invert__(self) -> Expression:
        return Not(self)


@attrs.frozen
class Predicate(Expression):
    """One test of one column: a comparison, membership in a list, or a null test."""

    column: str
    op: str
    value: Any = None

    def __str__(self) -> str:
        if self.op in NULL_TESTS:
            return f"{quote(self.column)} {self.op.upper()}"
        if self.op in MEMBERSHIP:
            return f"{quote(self.column)} {self.op.upper()} ({', '.join(map(repr, self.value))})"
        return f"{quote(self.column)} {self.op} {self.value!r}"


@attrs.frozen
class And(Expression):
    """Every part holds."""

    parts: tuple[Expression, ...]

    def __str__(self) -> str:
        return "(" + " AND ".join(map(str, self.parts)) + ")"


@attrs.frozen
class Or(Expression):
    """At least one part holds."""

    parts: tuple[Expression, ...]

    def __str__(self) -> str:
        return "(" + " OR ".join(map(str, self.parts)) + ")"


@attrs.frozen
class Not(Expression):
    """The part does not hold (rows where it is null are dropped, as in SQL)."""

    part: Expression

    def __str__(self) -> str:
        return f"NOT {self.part}"


@attrs.frozen(eq=False)
class Column:
    """`col("x")`: a column to compare, as in `col("year") >= 2020` or `col("region").isin(["eu"])`."""

    name: str

    def __eq__(self, value: Any) -> Predicate:  # type: ignore[override]
        return predicate(self.name, "==", value)

    def __ne__(self, value: Any) -> Predicate:  # type: ignore[override]
        return predicate(self.name, "!=", value)

    def __lt__(self, value: Any) -> Predicate:
        return predicate(self.name, "<", value)

    def __le__(self, value: Any) -> Predicate:
        return predicate(self.name, "<=", value)

    def __gt__(self, value: Any) -> Predicate:
        return predicate(self.name, ">", value)

    def __ge__(self, value: Any) -> Predicate:
        return predicate(self.name, ">=", value)

    __hash__ = object.__hash__

    def isin(self, values: Iterable[Any]) -> Predicate:
        return predicate(self.name, "in", values)

    def is_null(self) -> Predicate:
        return predicate(self.name, "is null")

    def is_not_null(self) -> Predicate:
        return predicate(self.name, "is not null")


def col(name: str) -> Column:
    """A column reference to build filters from."""
    return Column(name)


def predicate(column: str, op: str, value: Any = None) -> Predicate:
    """A checked Predicate: a known operator, a list for `in`, no value for null tests."""
    if not isinstance(column, str) or not column:
        raise OptionError(f"a filter names its column as a non-empty string, got {column!r}")
    key = _ALIASES.get(str(op).strip().lower(), str(op).strip().lower())
    if key not in OPERATORS:
        raise OptionError(f"filter on {column!r}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    if key in MEMBERSHIP:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise OptionError(f"filter {column!r} {key}: give a list of values, got {value!r}")
        value = tuple(value)
    elif key in COMPARISONS and value is None:
        raise OptionError(f"filter {column!r} {key} None: compare with None using 'is null' or 'is not null'")
    return Predicate(column, key, value)


def parse(filters: Any) -> Expression | None:
    """The Expression that `filters` describes (see the module docstring); None means no filter."""
    if filters is None or isinstance(filters, Expression):
        return filters
    if not isinstance(filters, Sequence) or isinstance(filters, (str, bytes)):
        raise OptionError(f"filters must be a clause, a list of clauses or an Expression, got {filters!r}")
    if not filters:
        return None
    if isinstance(filters[0], str):
        return _clause(filters)
    groups = [_all_of(group) for group in filters] if _is_disjunctive(filters) else None
    if groups is not None:
        return groups[0] if len(groups) == 1 else Or(tuple(groups))
    return _all_of(filters)


def _is_disjunctive(filters: Sequence[Any]) -> bool:
    """A list of lists of clauses: its first item is a list whose first item is a clause or an Expression."""
    first = filters[0]
    if not _is_list(first) or not first:
        return False
    return _is_list(first[0]) or isinstance(first[0], Expression)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _all_of(clauses: Any) -> Expression:
    if isinstance(clauses, Expression):
        return clauses
    if not isinstance(clauses, Sequence) or isinstance(clauses, str) or not clauses:
        raise OptionError(f"expected a non-empty list of filter clauses, got {clauses!r}")
    parts = tuple(c if isinstance(c, Expression) else _clause(c) for c in clauses)
    return parts[0] if len(parts) == 1 else And(parts)


def _clause(clause: Any) -> Predicate:
    if not isinstance(clause, Sequence) or isinstance(clause, str) or len(clause) not in (2, 3):
        raise OptionError(
            f"a filter clause is (column, op, value) or (column, 'is null'), got {clause!r}"
        )
    return predicate(*clause)


def _checked(other: Any) -> Expression:
    if not isinstance(other, Expression):
        raise OptionError(f"can only combine a filter with another filter, got {other!r}")
    return other


def columns(expr: Expression | None) -> list[str]:
    """The columns a filter reads, in first-use order."""
    if expr is None:
        return []
    if isinstance(expr, Predicate):
        return [expr.column]
    parts = (expr.part,) if isinstance(expr, Not) else expr.parts
    return list(dict.fromkeys(name for part in parts for name in columns(part)))


def check_columns(wanted: Iterable[str], available: Sequence[str], *, what: str, where: str) -> None:
    """Raise DataError naming every wanted column that `available` lacks, with a close match."""
    missing = [name for name in wanted if name not in available]
    if not missing:
        return
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, available, n=1)
        hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise DataError(
        f"{where}: {what} names column(s) {', '.join(hints)} that the data does not have; "
        f"its columns are: {', '.join(available)}"
    )


def quote(name: str) -> str:
    """A SQL identifier, double-quoted with inner quotes doubled, so any column name is safe."""
    return '"' + name.replace('"', '""') + '"'


_NAME_PART = re.compile(r'\s*(?:"(?P<quoted>(?:[^"]|"")*)"|(?P<bare>[^."\s](?:[^."]*[^."\s])?))\s*')


def table_name(name: Any, *, where: str) -> tuple[str, ...]:
    """The parts of a table name, `table`, `schema.table` or `catalog.schema.table`, each bare
    (`sales`, `odd name`) or double-quoted with inner quotes doubled (`"q1.sales"`); anything else
    (an empty part, a stray quote, a fourth part) is an OptionError. Join them with `quote`."""
    shape = ("give `table`, `schema.table` or `catalog.schema.table`, each part bare or in double quotes "
             '(`"a.b"` for a name with a dot, `""` for a quote in it)')
    if not isinstance(name, str):
        raise OptionError(f"{where}: table must be a string; {shape}")
    parts, rest = [], name
    while True:
        found = _NAME_PART.match(rest)
        quoted = None if found is None else found["quoted"]
        part = None if found is None else found["bare"] if quoted is None else quoted.replace('""', '"')
        if not part:
            raise OptionError(f"{where}: table {name!r:.100} has an empty or malformed part; {shape}")
        parts.append(part)
        rest = rest[found.end():]
        if not rest:
            break
        if not rest.startswith("."):
            raise OptionError(f"{where}: table {name!r:.100} is malformed at {rest!r:.40}; {shape}")
        rest = rest[1:]
    if len(parts) > 3:
        raise OptionError(f"{where}: table {name!r:.100} has {len(parts)} dotted parts, at most 3 are allowed; {shape}")
    return tuple(parts)


def to_sql(expr: Expression, params: dict[str, Any], prefix: str = "hookyard_filter_") -> str:
    """SQL text for `expr` with every value a named `$parameter` added to `params`, under a name that
    no key already in `params` has (DuckDB matches names case-insensitively), so a user's own
    parameters are never overwritten."""
    taken = {key.lower() for key in params}
    counter = itertools.count(len(params))

    def bind(value: Any) -> str:
        name = next(f"{prefix}{i}" for i in counter if f"{prefix}{i}".lower() not in taken)
        taken.add(name.lower())
        params[name] = value
        return f"${name}"

    def render(part: Expression) -> str:
        if isinstance(part, Predicate):
            column = quote(part.column)
            if part.op in NULL_TESTS:
                return f"{column} {part.op.upper()}"
            if part.op in MEMBERSHIP:
                if not part.value:
                    return "FALSE" if part.op == "in" else f"{column} IS NOT NULL"
                return f"{column} {part.op.upper()} ({', '.join(bind(v) for v in part.value)})"
            sql_op = "=" if part.op == "==" else part.op
            return f"{column} {sql_op} {bind(part.value)}"
        if isinstance(part, Not):
            return f"(NOT {render(part.part)})"
        joiner = " AND " if isinstance(part, And) else " OR "
        return "(" + joiner.join(map(render, part.parts)) + ")"

    return render(expr)


def to_arrow(expr: Expression) -> Any:
    """The same filter as a pyarrow.compute Expression, with SQL's handling of nulls."""
    import pyarrow.compute as pc

    if isinstance(expr, Predicate):
        field = pc.field(expr.column)
        if expr.op == "is null":
            return field.is_null()
        if expr.op == "is not null":
            return field.is_valid()
        if expr.op in MEMBERSHIP:
            found = field.isin(list(expr.value)) if expr.value else pc.scalar(False)
            return found if expr.op == "in" else (~found & field.is_valid())
        return {
            "==": field.__eq__, "!=": field.__ne__, "<": field.__lt__,
            "<=": field.__le__, ">": field.__gt__, ">=": field.__ge__,
        }[expr.op](expr.value)
    if isinstance(expr, Not):
        return ~to_arrow(expr.part)
    combined = to_arrow(expr.parts[0])
    for part in expr.parts[1:]:
        combined = (combined & to_arrow(part)) if isinstance(expr, And) else (combined | to_arrow(part))
    return combined


def describe(expr: Expression | None) -> str:
    """The filter as a person reads it (values shown, not bound), or 'none'."""
    return "none" if expr is None else str(expr)
