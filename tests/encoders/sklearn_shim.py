"""scikit-learn's OneHotEncoder constructor mapped onto `onehot`, so that scikit-learn's own tests
can run against it: the same parameter names and defaults, our encoder underneath."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.encoders.onehot import OneHotEncoder as HookyardOneHotEncoder


class OneHotEncoder(HookyardOneHotEncoder):
    """`onehot` with scikit-learn's parameters: `sparse_output` picks the sparse or dense output,
    `infrequent_sklearn` names the infrequent column, missing values are a level, every column
    is encoded. `feature_name_combiner` other than "concat" is not offered."""

    columns = None
    handle_missing = "level"
    separator = "_"
    infrequent_name = "infrequent_sklearn"
    remainder = "passthrough"

    def __init__(
        self,
        *,
        categories: Any = "auto",
        drop: Any = None,
        sparse_output: Any = True,
        dtype: Any = np.float64,
        handle_unknown: Any = "error",
        min_frequency: Any = None,
        max_categories: Any = None,
        feature_name_combiner: Any = "concat",
    ) -> None:
        self.categories = categories
        self.drop = drop
        self.sparse_output = sparse_output
        self.dtype = dtype
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.feature_name_combiner = feature_name_combiner

    @property
    def output(self) -> str:
        return "sparse" if self.sparse_output else "dense"

    def _settings(self) -> Any:
        if self.feature_name_combiner != "concat":
            raise NotImplementedError("onehot names its columns column_level only (feature_name_combiner='concat')")
        return super()._settings()
