"""The quantised paths (int8, int8_float32) change tokens, so they are held to shape, determinism and
EOS handling rather than to equality with `generate`."""

from __future__ import annotations

import pytest

import engine

MAX_NEW = 12
PROMPTS = ["w4 w5 w6", "w7 w8", "w9 w10 w11 w12", "w13", "w20 w21 w22"]
EOS = 1


def build(name: str, model_dir, cache_dir, compute_type: str, **options):
    return engine.decoder(name, model=str(model_dir), cache_dir=str(cache_dir), compute_type=compute_type,
                          intra_threads=1, max_new_tokens=MAX_NEW, **options)


@pytest.mark.parametrize("compute_type", ["int8", "int8_float32"])
@pytest.mark.parametrize("name, options", [("ct2-greedy", {}), ("ct2-beam", {"beam_width": 3, "num_return_sequences": 2}),
                                           ("ct2-sample", {"seed": 5, "top_k": 8})])
def test_quantised_results_have_the_records_shape_and_repeat(model_dir, cache_dir, compute_type, name, options):
    decoder = build(name, model_dir, cache_dir, compute_type, **options)
    result = decoder.generate(PROMPTS)
    returned = options.get("num_return_sequences", 1)
    assert len(result) == len(PROMPTS)
    assert [len(row) for row in result.token_ids] == [returned] * len(PROMPTS)
    assert [len(row) for row in result.texts] == [len(row) for row in result.scores] == [returned] * len(PROMPTS)
    for row in result.token_ids:
        for seq in row:
            assert 1 <= len(seq) <= MAX_NEW and all(isinstance(t, int) and 0 <= t < 24 for t in seq)
            assert EOS not in seq[:-1], "generation goes on past an EOS"
            assert seq[-1] == EOS or len(seq) == MAX_NEW, "a sequence shorter than max_new_tokens ends with EOS"
    again = build(name, model_dir, cache_dir, compute_type, **options)
    assert again.generate(PROMPTS) == result
    assert again.generate(PROMPTS) == decoder.generate(PROMPTS)


@pytest.mark.parametrize("compute_type", ["int8", "int8_float32"])
def test_quantised_beams_end_at_eos_and_respect_min_new_tokens(model_dir, cache_dir, compute_type):
    free = build("ct2-beam", model_dir, cache_dir, compute_type, beam_width=4, num_return_sequences=4).generate(PROMPTS)
    ended = [seq for row in free.token_ids for seq in row if seq[-1] == EOS]
    assert ended, "the tiny models end some beams with EOS"
    assert all(row == tuple(sorted(row, reverse=True)) for row in free.scores), "sequences come best first"
    held = build("ct2-beam", model_dir, cache_dir, compute_type, beam_width=4, min_new_tokens=MAX_NEW).generate(PROMPTS)
    assert all(len(seq) == MAX_NEW and EOS not in seq[:-1] for row in held.token_ids for seq in row)
