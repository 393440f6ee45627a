"""Categorical columns read chunk by chunk as a small dictionary of values plus one code per row.

Every encoded column has a value domain ("string", "integer", "float" or "boolean") fixed at fit;
later data is cast to it. A float column whose values are all whole numbers is "integer", one with
fractional values "float"; a fractional value in an "integer" column stays a float, a level that
fit cannot have seen. Missing values (Arrow null, NaN, None, pd.NA) get the code len(dictionary).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import DataError

DOMAIN_TYPES = {"string": pa.string(), "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_()}


@attrs.frozen
class ChunkCodes:
    """One chunk of a column: `dictionary` (distinct values, no nulls) and `codes` per row
    (int32; len(dictionary) marks a missing value), with `counts` of every code."""

    dictionary: Any
    codes: np.ndarray
    counts: np.ndarray

    @property
    def missing(self) -> int:
        return int(self.counts[-1])


def domain_of(column: str, arrow_type: Any, values: Any = None) -> str | None:
    """The value domain of an Arrow type (of a float column, of its `values`), None for an all-null
    column; other types raise."""
    if pa.types.is_dictionary(arrow_type):
        return domain_of(column, arrow_type.value_type, None if values is None else pc.cast(values, arrow_type.value_type))
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return "string"
    if pa.types.is_floating(arrow_type):
        return "integer" if values is None or not _fractional(values).any() else "float"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_null(arrow_type):
        return None
    raise DataError(
        f"column {column!r} holds {arrow_type} values, which are not categorical: cast it to "
        "string or integer first, or leave it out of `columns` so it passes through"
    )


def array_codes(column: str, array: Any, domain: str, known: Any = None) -> ChunkCodes:
    """One Arrow array of a column as dictionary + codes in `domain`.

    `known` (levels of the domain's type, no nulls) are the levels expected: rows holding one are
    looked up, which costs less than hashing them into a new dictionary; only the others are hashed.
    """
    if pa.types.is_null(array.type):
        return ChunkCodes(pa.array([], DOMAIN_TYPES[domain]), np.zeros(len(array), np.int32), np.array([len(array)]))
    if known is not None and len(known) and array.type == known.type and not pa.types.is_floating(array.type):
        return _looked_up(array, known)  # (floats are hashed: their NaN is a missing value, not a level)
    encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
    return _codes(column, encoded.dictionary, encoded.indices, domain)


def _looked_up(array: Any, known: Any) -> ChunkCodes:
    """Codes of `array` (of the same type as `known`) over `known` followed by the levels it lacks."""
    found = pc.index_in(array, value_set=known)
    if found.null_count == array.null_count:
        dictionary = known
        codes = (pc.fill_null(found, len(known)) if found.null_count else found).to_numpy(zero_copy_only=False)
    else:
        new_rows = pc.and_(pc.is_null(found), pc.is_valid(array))
        new = pc.dictionary_encode(array.filter(new_rows))
        dictionary = pa.concat_arrays([known, new.dictionary])
        codes = np.array(pc.fill_null(found, len(dictionary)).to_numpy(zero_copy_only=False))
        codes[new_rows.to_numpy(zero_copy_only=False)] = new.indices.to_numpy() + len(known)
    return ChunkCodes(dictionary, codes, np.bincount(codes, minlength=len(dictionary) + 1))


def _codes(column: str, dictionary: Any, indices: Any, domain: str) -> ChunkCodes:
    values, missing = _in_domain(column, dictionary, domain)
    n = len(values)
    if indices.null_count:
        indices = pc.fill_null(indices, len(dictionary))  # the missing code before any remap
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    if missing is not None:
        remap = np.append(missing, n).astype(np.int32)
        codes = remap[codes]
    counts = np.bincount(codes, minlength=n + 1)
    return ChunkCodes(values, codes, counts)


def _in_domain(column: str, dictionary: Any, domain: str) -> tuple[Any, np.ndarray | None]:
    """The dictionary cast to `domain` without its missing entries, and (when it had any) where
    each old entry now sits (len of the new dictionary for the missing ones)."""
    if pa.types.is_float16(dictionary.type):
        dictionary = dictionary.cast(pa.float32())  # Arrow computes little on half floats
    if pa.types.is_floating(dictionary.type):
        dictionary = pc.if_else(pc.is_nan(dictionary), pa.scalar(None, dictionary.type), dictionary)
        if domain == "integer" and _fractional(dictionary).any():
            domain = "float"  # fractional values: none can be a fitted integer level
    if pa.types.is_large_string(dictionary.type) or pa.types.is_string_view(dictionary.type):
        dictionary = dictionary.cast(pa.string())
    target = DOMAIN_TYPES[domain]
    if dictionary.type != target:
        try:
            dictionary = dictionary.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(
                f"column {column!r} was fitted with {domain} levels but now holds {dictionary.type} "
                f"values that do not convert ({exc}); give it the same type as in training"
            ) from None
    if not dictionary.null_count:
        return dictionary, None
    valid = pc.is_valid(dictionary).to_numpy(zero_copy_only=False)
    position = np.cumsum(valid) - 1
    kept = dictionary.filter(pc.is_valid(dictionary))
    return kept, np.where(valid, position, len(kept))


def _fractional(values: Any) -> np.ndarray:
    """Which of float `values` are not whole numbers (infinities included; NaN and nulls are not)."""
    if pa.types.is_float16(values.type):
        values = values.cast(pa.float32())
    whole = pc.and_(pc.is_finite(values), pc.equal(pc.floor(values), values))
    odd = pc.and_(pc.invert(whole), pc.invert(pc.is_nan(values)))
    return pc.fill_null(odd, False).to_numpy(zero_copy_only=False)
