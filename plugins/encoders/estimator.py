"""The scikit-learn estimator API that both encoders share without importing scikit-learn:
parameters from the constructor's signature, `set_output`, tags and a readable repr."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from engine.errors import NotFittedError, OptionError
from engine.options import describe, matches

OUTPUT_CONFIGS = ("default", "arrow", "pandas", "polars")


class EstimatorAPI:
    """get_params/set_params/set_output as scikit-learn defines them, so that `clone`, `Pipeline`
    and `ColumnTransformer` accept the encoder; parameters are checked against their type hints."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> EstimatorAPI:
        known = self._param_names()
        for name, value in params.items():
            if name not in known:
                raise OptionError(f"{type(self).__name__} has no parameter {name!r}; its parameters are: {', '.join(known)}")
            setattr(self, name, value)
        return self

    def set_output(self, *, transform: str | None = None) -> EstimatorAPI:
        """Choose what `transform` returns: "default" (the `output` option), "arrow", "pandas" or "polars"."""
        if transform is None:
            return self
        if transform not in OUTPUT_CONFIGS:
            raise OptionError(f"set_output(transform={transform!r}): choose one of {', '.join(map(repr, OUTPUT_CONFIGS))}")
        self._sklearn_output_config = {"transform": transform}
        return self

    def _output_config(self) -> str:
        return getattr(self, "_sklearn_output_config", {}).get("transform", "default")

    def _check_params(self) -> None:
        """Every parameter against its type hint: raise OptionError naming the first that does not fit."""
        hints = typing.get_type_hints(type(self).__init__)
        for name, value in self.get_params().items():
            expected = hints.get(name, Any)
            if not matches(value, expected):
                raise OptionError(f"{type(self).__name__}: {name} must be {describe(expected)}, got {value!r:.60}")

    def _require_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit() with training data before using it"
            )

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(),
            input_tags=InputTags(categorical=True, string=True, allow_nan=True),
        )

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{n}={v!r}" for n, v in self.get_params().items() if v is not defaults.get(n) and v != defaults.get(n)]
        return f"{type(self).__name__}({', '.join(changed)})"
