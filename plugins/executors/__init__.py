"""Built-in executor plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_executors() -> list[Registration]:
    return [
        Registration(
            kind="executor",
            name="local",
            aliases=("streaming",),
            factory="plugins.executors.local:LocalExecutor",
            summary="streams the pipeline through this process in Arrow batches, bounded by the batch size",
            requires=("pyarrow", "numpy"),
        ),
        Registration(
            kind="executor",
            name="ray",
            factory="plugins.executors.ray_executor:RayExecutor",
            summary="streams the pipeline through Ray Data on a cluster (or a local one): actors built from JSON state",
            requires=("ray", "pyarrow", "numpy"),
            extra="ray",
        ),
    ]
