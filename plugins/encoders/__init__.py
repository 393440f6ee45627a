"""Built-in encoder plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_encoders() -> list[Registration]:
    return [
        Registration(
            kind="encoder",
            name="onehot",
            aliases=("one-hot",),
            factory="plugins.encoders.onehot:OneHotEncoder",
            summary="one-hot encoding that gives inference data exactly the training columns, with a drift report",
            requires=("numpy", "pyarrow", "scipy"),
            extra="encoders",
            capabilities=frozenset({"persist", "stream-fit", "sql", "drift"}),
        ),
        Registration(
            kind="encoder",
            name="sklearn-onehot",
            factory="plugins.encoders.sklearn_onehot:SklearnOneHotEncoder",
            summary="scikit-learn's OneHotEncoder on named columns of any table, the rest passed through",
            requires=("sklearn", "pandas"),
            extra="encoders",
        ),
    ]
