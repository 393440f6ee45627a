"""The `sklearn-onehot` encoder: scikit-learn's OneHotEncoder with its exact behaviour, on named
columns of any table, the other columns passed through (a ColumnTransformer does the work)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.errors import OptionError
from plugins.encoders.estimator import EstimatorAPI
from plugins.encoders.inputs import as_table


class SklearnOneHotEncoder(EstimatorAPI):
    """scikit-learn's `OneHotEncoder` on `columns` (all when None); output columns are the encoded
    ones first, then the passed-through ones, as scikit-learn's `ColumnTransformer` orders them."""

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        handle_unknown: Literal["ignore", "error", "infrequent_if_exist", "warn"] = "ignore",
        min_frequency: int | float | None = None,
        max_categories: int | None = None,
        drop: Literal["first", "if_binary"] | None = None,
        sparse_output: bool = True,
        dtype: Literal["float64", "float32", "uint8"] = "float64",
        remainder: Literal["passthrough", "drop"] = "passthrough",
    ) -> None:
        self.columns = columns
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.drop = drop
        self.sparse_output = sparse_output
        self.dtype = dtype
        self.remainder = remainder

    def fit(self, X: Any, y: Any = None) -> SklearnOneHotEncoder:
        self._check_params()
        if isinstance(self.columns, str):
            raise OptionError(f"columns must be a list of column names, got the string {self.columns!r}")
        frame = _frame(X)
        self.transformer_ = self._transformer(list(frame.columns)).fit(frame)
        self.feature_names_in_ = self.transformer_.feature_names_in_
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X).transform(X)

    def transform(self, X: Any) -> Any:
        self._require_fitted("transformer_")
        encoded = self.transformer_.transform(_frame(X))
        if self._output_config() != "arrow":
            return encoded
        import pyarrow as pa

        return pa.Table.from_pandas(encoded, preserve_index=False)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        self._require_fitted("transformer_")
        return self.transformer_.get_feature_names_out(input_features)

    def _transformer(self, names: list[str]) -> Any:
        import numpy as np
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder

        config = self._output_config()
        frames = config != "default"
        encoder = OneHotEncoder(
            handle_unknown=self.handle_unknown,
            min_frequency=self.min_frequency,
            max_categories=self.max_categories,
            drop=self.drop,
            sparse_output=self.sparse_output and not frames,
            dtype=np.dtype(self.dtype).type,
        )
        columns = names if self.columns is None else list(self.columns)
        transformer = ColumnTransformer(
            [("onehot", encoder, columns)],
            remainder=self.remainder,
            verbose_feature_names_out=False,
            sparse_threshold=1.0 if self.sparse_output else 0.0,
        )
        if frames:
            transformer.set_output(transform="pandas" if config == "arrow" else config)
        return transformer


def _frame(data: Any) -> Any:
    """A pandas DataFrame as scikit-learn takes it (a pandas frame is used as it is)."""
    if type(data).__module__.split(".")[0] == "pandas":
        return data
    return as_table(data).to_pandas()
