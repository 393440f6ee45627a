"""The encoder contract suite of engine.testing, run against this distribution's encoder."""

from __future__ import annotations

from engine.testing import EncoderContract


class TestExampleEncoder(EncoderContract):
    name = "example"
    options = {"columns": ["color_1_", "color_2_"]}  # the suite's data: see engine.testing.encoder
