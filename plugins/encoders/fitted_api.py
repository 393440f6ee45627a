"""scikit-learn's fitted attributes of a one-hot encoder, derived from the fitted layouts:
`categories_`, `infrequent_categories_` and `drop_idx_`."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.encoders.levels import ColumnLayout


class FittedAPI:
    """The attributes scikit-learn's OneHotEncoder sets in fit, for an encoder with `layouts_`."""

    @property
    def categories_(self) -> list[np.ndarray]:
        """Per encoded column, its levels in output order (NaN last for the missing level), with the
        dtype scikit-learn would give them (that of the fitted data where known)."""
        return [categories_array(c, c.categories, self._dtypes_of(c)) for c in self._fitted_layouts()]

    @property
    def infrequent_categories_(self) -> list[np.ndarray | None]:
        """Per encoded column, the levels grouped into its infrequent column, or None."""
        return [
            categories_array(c, list(c.infrequent), self._dtypes_of(c)) if c.infrequent else None
            for c in self._fitted_layouts()
        ]

    @property
    def drop_idx_(self) -> np.ndarray | None:
        """Per encoded column, the index in categories_ of the dropped level (None: nothing dropped
        there); None when `drop` was None at fit."""
        layouts = self._fitted_layouts()
        if not self._drops:
            return None
        return np.array([c.dropped for c in layouts], dtype=object)

    def _fitted_layouts(self) -> list[ColumnLayout]:
        self._require_fitted("layouts_")
        return list(self.layouts_.values())

    def _dtypes_of(self, column: ColumnLayout) -> np.dtype | None:
        return self._dtypes.get(column.fitted.column)


def categories_array(column: ColumnLayout, values: list[Any], dtype: np.dtype | None) -> np.ndarray:
    """`values` of a column (None: the missing level, shown as NaN) as an array of `dtype` where it
    holds them, else of the column's domain, else object."""
    missing = any(v is None for v in values)
    shown = [np.nan if v is None else v for v in values]
    candidate = _domain_dtype(column.fitted.domain, missing) if dtype is None else dtype
    if candidate is not None and candidate.kind != "O" and (candidate.kind in "fc" or not missing):
        try:
            return np.array(shown, dtype=candidate.kind if candidate.kind in "US" else candidate)
        except (TypeError, ValueError, UnicodeEncodeError):
            pass
    out = np.empty(len(shown), dtype=object)
    out[:] = shown
    return out


def _domain_dtype(domain: str, missing: bool) -> np.dtype | None:
    if domain == "float" or (domain == "integer" and missing):
        return np.dtype(np.float64)
    return {"integer": np.dtype(np.int64), "boolean": np.dtype(bool)}.get(domain)
