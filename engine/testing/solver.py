"""The contract suite for solver plugins."""

from __future__ import annotations

from typing import ClassVar

from engine.testing.base import PluginContract


class SolverContract(PluginContract):
    """Every solver plugin passes these."""

    kind: ClassVar[str] = "solver"
