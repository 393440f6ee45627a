"""The decoder contract suite of engine.testing, run against this distribution's decoder."""

from __future__ import annotations

from engine.testing import DecoderContract


class TestExampleDecoder(DecoderContract):
    name = "example"
    prompts = ["Hello there", "The quick brown fox jumps"]
