"""Built-in source plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_sources() -> list[Registration]:
    return [
        Registration(
            kind="source",
            name="memory",
            aliases=("in-memory",),
            factory="plugins.sources.memory:MemorySource",
            summary="pandas, polars or pyarrow tables and dicts of columns as a source",
            requires=("pyarrow",),
        ),
    ]
