"""At float32 the CTranslate2 decoders give transformers' `generate` tokens on tiny random GPT-2 and T5
models, and scores within SCORE_TOLERANCE of generate's. CTranslate2's float32 kernels round otherwise
than torch's: on the GPT-2 model scores differ by under 1e-5; the tiny T5 is initialised at three times
the usual scale, its activations are large, and its scores differ by up to about 1.2e-3."""

from __future__ import annotations

import random

import pytest
import torch

import engine
from tests.decoders.tiny_models import cut_at_eos, flat, padded, reference

SCORE_TOLERANCE = {"gpt2": 1e-4, "t5": 5e-3}
MAX_NEW = 10


def prompts_for(model_dir, count: int = 6, *, seed: int = 0) -> list[list[int]]:
    """Word ids 4..23 of mixed lengths; T5 prompts end with EOS as its tokenizer writes them."""
    rng = random.Random(seed)
    prompts = [[rng.randrange(4, 24) for _ in range(rng.randrange(3, 8))] for _ in range(count)]
    return [p + [1] for p in prompts] if "t5" in str(model_dir) else prompts


def ct2(name: str, model_dir, cache_dir, **options):
    return engine.decoder(name, model=str(model_dir), cache_dir=str(cache_dir), intra_threads=1, **options)


def transformers_model(model_dir):
    return engine.decoder("greedy", model=str(model_dir)).load().language_model_.model


def greedy_sums(model, prompts: list[list[int]], pad: int) -> list[float]:
    """Each greedy row's summed log-probabilities (after the logits processors), from generate's scores."""
    decoder_only = not model.config.is_encoder_decoder
    ids, mask = padded(prompts, pad, left=decoder_only)
    out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, return_dict_in_generate=True,
                         output_scores=True, max_new_tokens=MAX_NEW)
    start = ids.shape[1] if decoder_only else 1
    steps = torch.stack([s.log_softmax(-1) for s in out.scores], dim=1)
    sums = []
    for row, sequence in enumerate(out.sequences.tolist()):
        tokens = cut_at_eos(sequence[start:])
        sums.append(sum(float(steps[row, k, t]) for k, t in enumerate(tokens)))
    return sums


PAD = {"gpt2": 2, "t5": 0}


def shape_of(model_dir) -> str:
    return "t5" if "t5" in str(model_dir) else "gpt2"


def pad_of(model_dir) -> int:
    return PAD[shape_of(model_dir)]


def test_greedy_equals_generate(model_dir, cache_dir):
    prompts = prompts_for(model_dir)
    model = transformers_model(model_dir)
    expected, _ = reference(model, prompts, pad=pad_of(model_dir), do_sample=False, max_new_tokens=MAX_NEW)
    result = ct2("ct2-greedy", model_dir, cache_dir, max_new_tokens=MAX_NEW).generate(prompts)
    assert flat(result) == expected
    assert any(seq[-1] == 1 for seq in expected) and any(len(seq) == MAX_NEW for seq in expected)
    sums = greedy_sums(model, prompts, pad_of(model_dir))
    assert [s[0] for s in result.scores] == pytest.approx(sums, abs=SCORE_TOLERANCE[shape_of(model_dir)])


def test_greedy_min_new_tokens_equals_generate(model_dir, cache_dir):
    prompts = prompts_for(model_dir, seed=1)
    expected, _ = reference(transformers_model(model_dir), prompts, pad=pad_of(model_dir), do_sample=False,
                            max_new_tokens=MAX_NEW, min_new_tokens=6)
    ours = flat(ct2("ct2-greedy", model_dir, cache_dir, max_new_tokens=MAX_NEW, min_new_tokens=6).generate(prompts))
    assert ours == expected and all(len(seq) >= 6 for seq in ours)


@pytest.mark.parametrize("beams", [2, 4])
@pytest.mark.parametrize("length_penalty", [0.5, 1.0, 2.0])
def test_beam_search_equals_generate_with_early_stopping(model_dir, cache_dir, beams, length_penalty):
    prompts = prompts_for(model_dir, 4, seed=beams)
    expected, scores = reference(
        transformers_model(model_dir), prompts, pad=pad_of(model_dir), do_sample=False, max_new_tokens=MAX_NEW,
        num_beams=beams, num_return_sequences=beams, length_penalty=length_penalty, early_stopping=True)
    result = ct2("ct2-beam", model_dir, cache_dir, max_new_tokens=MAX_NEW, beam_width=beams,
                 num_return_sequences=beams, length_penalty=length_penalty).generate(prompts)
    assert flat(result) == expected
    assert [s for row in result.scores for s in row] == pytest.approx(scores, abs=SCORE_TOLERANCE[shape_of(model_dir)])


def test_the_best_beam_alone_is_generates_first_sequence(model_dir, cache_dir):
    prompts = prompts_for(model_dir, 3, seed=7)
    expected, scores = reference(transformers_model(model_dir), prompts, pad=pad_of(model_dir), do_sample=False,
                                 max_new_tokens=MAX_NEW, num_beams=4, early_stopping=True)
    result = ct2("ct2-beam", model_dir, cache_dir, max_new_tokens=MAX_NEW).generate(prompts)
    assert [len(row) for row in result.token_ids] == [1, 1, 1]
    assert flat(result) == expected
    assert result.best_scores == pytest.approx(scores, abs=SCORE_TOLERANCE[shape_of(model_dir)])
