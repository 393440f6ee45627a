"""The encoder contract: scikit-learn's transformer API over tables."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engine.flow import Flow
from engine.tables import to_arrow


@runtime_checkable
class Encoder(Protocol):
    """Learns levels with `fit`, then `transform`s any later data to exactly the fitted columns."""

    def fit(self, X: Any, y: Any = None) -> Encoder: ...

    def transform(self, X: Any) -> Any: ...

    def fit_transform(self, X: Any, y: Any = None) -> Any: ...

    def get_feature_names_out(self, input_features: Any = None) -> Any: ...


protocol = Encoder


def run_step(plugin: Encoder, flow: Flow) -> Flow:
    """Fit on the incoming table and pass on its encoding as an Arrow table."""
    encoded = plugin.fit_transform(flow.table)
    return flow.evolve(table=to_arrow(encoded, names=plugin.get_feature_names_out()))
