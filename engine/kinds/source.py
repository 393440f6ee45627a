"""The data source contract: a table as streamed Arrow record batches."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engine.flow import Flow


@runtime_checkable
class DataSource(Protocol):
    """Knows its schema and row count; streams record batches; materialises to one Arrow table."""

    def schema(self) -> Any: ...

    def count(self) -> int: ...

    def scan(self, batch_size: int | None = None) -> Any: ...

    def to_arrow(self) -> Any: ...


protocol = DataSource


def run_step(plugin: DataSource, flow: Flow) -> Flow:
    """Start the flow with the source's whole table."""
    return flow.evolve(table=plugin.to_arrow())
