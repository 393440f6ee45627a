"""The contract suite for sink plugins."""

from __future__ import annotations

from typing import ClassVar

from engine.testing.base import PluginContract


class SinkContract(PluginContract):
    """Every sink plugin passes these."""

    kind: ClassVar[str] = "sink"
