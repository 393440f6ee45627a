"""The sink contract: write a table somewhere, whole or not at all."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engine.flow import Flow


@runtime_checkable
class Sink(Protocol):
    """`write(table)` stores the table atomically and returns where it went."""

    def write(self, table: Any) -> Any: ...


protocol = Sink


def run_step(plugin: Sink, flow: Flow) -> Flow:
    """Write the incoming table; the flow passes on unchanged, noting where it was written."""
    written = plugin.write(flow.table)
    return flow.evolve(written=written)
