"""The contract suite for decoder plugins."""

from __future__ import annotations

from typing import ClassVar

from engine.testing.base import PluginContract


class DecoderContract(PluginContract):
    """Every decoder plugin passes these."""

    kind: ClassVar[str] = "decoder"
