"""Every built-in decoder passes the decoder contract suite on the tiny GPT-2 model."""

import pytest

from engine.testing import DecoderContract


class TinyModel(DecoderContract):
    prompts = ["w4 w5 w6", "w7 w8"]

    @pytest.fixture(autouse=True)
    def _tiny_model(self, gpt2_dir):
        self.options = {**type(self).options, "model": str(gpt2_dir), "max_new_tokens": 4}


class TestGreedy(TinyModel):
    name = "greedy"


class TestBeam(TinyModel):
    name = "beam"
    options = {"beam_width": 2}


class TestPenalty(TinyModel):
    name = "penalty"
    options = {"beam_width": 2, "repetition_penalty": 1.2, "no_repeat_ngram_size": 2}


class TestSample(TinyModel):
    name = "sample"
    options = {"seed": 0, "top_k": 5}
