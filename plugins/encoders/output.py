"""Building the encoder's output (CSR matrix, dense array, Arrow table, pandas or polars frame)
directly from each row's output column per input column, without intermediate frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from engine.errors import DataError, OptionError

OUTPUTS = ("sparse", "dense", "arrow", "pandas", "polars")


@attrs.frozen
class Block:
    """The output columns one input column becomes: `width` columns from `offset` (one for a passed-through column)."""

    name: str
    offset: int
    width: int
    encoded: bool


@attrs.frozen
class Encoded:
    """A transformed table before it takes its output form.

    `slots[r, j]` is the output column that row r of block j sets to one (-1: none); passed-through
    blocks keep their values in `passthrough`.
    """

    slots: np.ndarray = attrs.field(eq=False)
    blocks: tuple[Block, ...]
    names: tuple[str, ...]
    passthrough: Mapping[str, Any]

    @property
    def rows(self) -> int:
        return self.slots.shape[0]


def value_dtype(dtype: Any) -> np.dtype:
    """The output's value dtype from the `dtype` option (a name or a numpy type): a number or bool."""
    try:
        value = np.dtype(dtype)
    except TypeError:
        value = None
    if value is None or value.kind not in "biuf":
        raise OptionError(
            f"dtype must be a numeric dtype such as 'float64', 'float32', 'int32', 'uint8' or np.int32, got {dtype!r:.60}"
        )
    return value


def slot_dtype(rows: int, blocks: int, width: int) -> Any:
    """int32 where the matrix's entries and columns fit (scipy's and scikit-learn's choice), else int64."""
    return np.int32 if max(rows * blocks, width) < 2**31 - 1 else np.int64


def build(encoded: Encoded, output: str, dtype: str, index: Any = None) -> Any:
    """The output in form `output` with values of `dtype`; `index` is kept on a pandas frame."""
    if output == "sparse":
        return to_sparse(encoded, dtype)
    if output == "dense":
        return to_dense(encoded, dtype)
    table = to_table(encoded, dtype)
    if output == "arrow":
        return table
    if output == "pandas":
        frame = table.to_pandas()
        if index is not None:
            frame.index = index
        return frame
    import polars as pl

    return pl.from_arrow(table)


def to_sparse(encoded: Encoded, dtype: str) -> Any:
    import scipy.sparse as sp

    slots, rows = encoded.slots, encoded.rows
    numbers = _numbers(encoded, "sparse")
    values = None
    if numbers:
        values = np.ones(slots.shape, np.result_type(dtype, *numbers.values()))
        for j, column in numbers.items():
            values[:, j] = column
            slots[:, j] = np.where(column != 0, encoded.blocks[j].offset, -1)
    width = sum(b.width for b in encoded.blocks)
    per_row = slots.shape[1]
    if per_row and bool((slots >= 0).all()):
        indices = slots.reshape(-1)
        indptr = np.arange(0, slots.size + 1, per_row, dtype=slots.dtype)
        data = np.ones(indices.size, dtype) if values is None else values.reshape(-1)
    else:
        keep = slots >= 0
        indices = slots[keep]
        indptr = np.zeros(rows + 1, dtype=slots.dtype)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        data = np.ones(indices.size, dtype) if values is None else values[keep]
    return sp.csr_matrix((data, indices, indptr), shape=(rows, width))


def to_dense(encoded: Encoded, dtype: str) -> np.ndarray:
    numbers = _numbers(encoded, "dense")
    width = sum(b.width for b in encoded.blocks)
    out = np.zeros((encoded.rows, width), np.result_type(dtype, *numbers.values()))
    for j, block in enumerate(encoded.blocks):
        if block.encoded:
            column = encoded.slots[:, j]
            rows = np.flatnonzero(column >= 0)
            out[rows, column[rows]] = 1
        else:
            out[:, block.offset] = numbers[j]
    return out


def to_table(encoded: Encoded, dtype: str) -> Any:
    arrays: list[Any] = []
    for j, block in enumerate(encoded.blocks):
        if not block.encoded:
            arrays.append(encoded.passthrough[block.name])
            continue
        ones = np.zeros((block.width, encoded.rows), dtype)
        column = encoded.slots[:, j]
        rows = np.flatnonzero(column >= 0)
        ones[column[rows] - block.offset, rows] = 1
        arrays.extend(pa.array(row) for row in ones)
    return pa.Table.from_arrays(arrays, names=list(encoded.names))


def _numbers(encoded: Encoded, output: str) -> dict[int, np.ndarray]:
    """The passed-through columns as numbers, by block position; a non-numeric one raises."""
    numbers = {}
    for j, block in enumerate(encoded.blocks):
        if block.encoded:
            continue
        column = encoded.passthrough[block.name]
        kind = column.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            raise DataError(
                f"column {block.name!r} passes through but holds {kind} values, and a {output} output "
                "holds numbers only: encode it (add it to `columns`), drop it (remainder='drop'), "
                "or use output='arrow', 'pandas' or 'polars'"
            )
        numbers[j] = column.to_numpy() if column.null_count == 0 else column.cast(pa.float64()).to_numpy()
    return numbers


def names_of(
    blocks: Sequence[Block], labels: Mapping[str, Sequence[str]], separator: str, rename: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Output column names: `column{separator}label` for encoded columns, the name itself for
    passed-through ones; `rename` gives input columns other names."""
    names: list[str] = []
    for block in blocks:
        name = block.name if rename is None else rename[block.name]
        if block.encoded:
            names.extend(f"{name}{separator}{label}" for label in labels[block.name])
        else:
            names.append(name)
    return tuple(names)


def require_distinct(blocks: Sequence[Block], labels: Mapping[str, Sequence[str]], separator: str) -> None:
    """Refuse output names given to two columns (column `a` level `b_c` and column `a_b` level `c`
    are both `a_b_c`), naming where each comes from."""
    sources: dict[str, list[str]] = {}
    for block in blocks:
        if block.encoded:
            made = [(f"{block.name}{separator}{label}", f"column {block.name!r} level {label!r}") for label in labels[block.name]]
        else:
            made = [(block.name, f"passed-through column {block.name!r}")]
        for name, source in made:
            sources.setdefault(name, []).append(source)
    clashes = {name: where for name, where in sources.items() if len(where) > 1}
    if clashes:
        shown = "; ".join(f"{name!r} from {' and '.join(where)}" for name, where in list(clashes.items())[:5])
        raise DataError(
            f"{len(clashes)} output column name(s) would be given to more than one column: {shown}. "
            "Choose a separator that the column names and levels do not contain (for example separator='__'), "
            "or rename the columns"
        )
