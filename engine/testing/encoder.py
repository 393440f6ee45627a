"""The contract suite for encoder plugins."""

from __future__ import annotations

from typing import ClassVar

from engine.testing.base import PluginContract


class EncoderContract(PluginContract):
    """Every encoder plugin passes these."""

    kind: ClassVar[str] = "encoder"
