"""Built-in solvers plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_solvers() -> list[Registration]:
    return []
