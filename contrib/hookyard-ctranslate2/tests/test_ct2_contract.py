"""The CTranslate2 decoders pass the decoder contract suite; traces, which CTranslate2 cannot record, are
refused by name instead."""

from __future__ import annotations

import pytest

from engine.errors import OptionError
from engine.testing import DecoderContract


class TinyModel(DecoderContract):
    prompts = ["w4 w5 w6", "w7 w8"]

    @pytest.fixture(autouse=True)
    def _tiny_model(self, gpt2_dir, cache_dir):
        self.options = {**type(self).options, "model": str(gpt2_dir), "cache_dir": str(cache_dir), "max_new_tokens": 4}

    def test_trace_round_trips_through_json(self, plugin, tmp_path):
        with pytest.raises(OptionError, match="trace"):
            plugin.generate(list(self.prompts), trace=True)


class TestGreedy(TinyModel):
    name = "ct2-greedy"


class TestBeam(TinyModel):
    name = "ct2-beam"
    options = {"beam_width": 2, "num_return_sequences": 2}


class TestSample(TinyModel):
    name = "ct2-sample"
    options = {"seed": 0, "top_k": 5}
