"""The contract suite for cate plugins."""

from __future__ import annotations

from typing import ClassVar

from engine.testing.base import PluginContract


class CATEContract(PluginContract):
    """Every cate plugin passes these."""

    kind: ClassVar[str] = "cate"
