"""Our decoders against transformers' `generate` on tiny random GPT-2 and T5 models loaded through our code."""

import random

import pytest
import torch
from transformers import LogitsProcessor, LogitsProcessorList

import engine
from plugins.decoders.scoring import decay_repeated

from .tiny_models import flat, reference

MAX_NEW = 10


def prompts_for(model_dir, count: int = 4, *, ragged: bool = True, seed: int = 0) -> list[list[int]]:
    """Word ids 4..23; T5 prompts end with EOS as its tokenizer would write them."""
    rng = random.Random(seed)
    lengths = [rng.randrange(3, 8) if ragged else 5 for _ in range(count)]
    prompts = [[rng.randrange(4, 24) for _ in range(n)] for n in lengths]
    if "t5" in str(model_dir):
        prompts = [p + [1] for p in prompts]
    return prompts


def pad_of(decoder) -> int:
    return decoder.language_model_.pad_id


def build(name: str, model_dir, **options):
    return engine.decoder(name, model=str(model_dir), **options).load()


def test_greedy_is_token_identical_batched_and_unbatched(model_dir):
    decoder = build("greedy", model_dir, max_new_tokens=MAX_NEW)
    model = decoder.language_model_.model
    prompts = prompts_for(model_dir, 6)
    expected, _ = reference(model, prompts, pad=pad_of(decoder), max_new_tokens=MAX_NEW, do_sample=False)
    assert flat(decoder.generate(prompts)) == expected
    for prompt, want in zip(prompts, expected):
        alone, _ = reference(model, [prompt], pad=pad_of(decoder), max_new_tokens=MAX_NEW, do_sample=False)
        assert alone == [want]
        assert flat(decoder.generate(prompt)) == alone


def test_greedy_min_new_tokens_matches_generate(model_dir):
    decoder = build("greedy", model_dir, max_new_tokens=MAX_NEW, min_new_tokens=6)
    prompts = prompts_for(model_dir, 6, seed=1)
    expected, _ = reference(decoder.language_model_.model, prompts, pad=pad_of(decoder), max_new_tokens=MAX_NEW,
                            min_new_tokens=6, do_sample=False)
    ours = flat(decoder.generate(prompts))
    assert ours == expected
    assert all(len(seq) >= 6 for seq in ours)


@pytest.mark.parametrize("beams", [2, 4])
def test_beam_search_equals_generate_over_the_settings_grid(model_dir, beams):
    prompts = prompts_for(model_dir, 4)
    model = build("greedy", model_dir).language_model_.model
    saw_eos = False
    for length_penalty in (0.0, 1.0, 2.0):
        for early_stopping in (False, True, "never"):
            decoder = engine.decoder(
                "beam", model=model, tokenizer=None, max_new_tokens=MAX_NEW, beam_width=beams,
                length_penalty=length_penalty, early_stopping=early_stopping, num_return_sequences=beams,
            )
            expected, expected_scores = reference(
                model, prompts, pad=decoder.load().language_model_.pad_id, max_new_tokens=MAX_NEW, num_beams=beams,
                length_penalty=length_penalty, early_stopping=early_stopping, num_return_sequences=beams,
                do_sample=False,
            )
            result = decoder.generate(prompts)
            setting = f"length_penalty={length_penalty} early_stopping={early_stopping}"
            assert flat(result) == expected, setting
            ours = [s for row in result.scores for s in row]
            assert ours == pytest.approx(expected_scores, abs=1e-4), setting
            saw_eos |= any(seq[-1] == 1 for seq in expected)
    assert saw_eos, "the tiny model should end some beams with EOS, or the grid tests too little"


def test_beam_width_one_is_greedy(model_dir):
    prompts = prompts_for(model_dir, 6, seed=2)
    greedy = build("greedy", model_dir, max_new_tokens=MAX_NEW).generate(prompts)
    beam = build("beam", model_dir, max_new_tokens=MAX_NEW, beam_width=1).generate(prompts)
    assert beam.token_ids == greedy.token_ids


class TemperatureAndDecay(LogitsProcessor):
    """What our `beam`/`penalty` do to next-token scores, as a LogitsProcessor for `generate`.

    In beam search `generate` hands processors log-probabilities; log_softmax(scores / T) is then
    exactly log_softmax(logits / T). The decay counts the tokens generated after `prompt_length`.
    """

    def __init__(self, temperature: float, prompt_length: int, decay: bool):
        self.temperature, self.prompt_length, self.decay = temperature, prompt_length, decay

    def __call__(self, input_ids, scores):
        scores = torch.log_softmax(scores / self.temperature, dim=-1)
        return decay_repeated(scores, input_ids[:, self.prompt_length:]) if self.decay else scores


@pytest.mark.parametrize(("name", "decay"), [("beam", False), ("penalty", True)])
def test_temperature_and_decay_equal_generate_with_a_logits_processor(model_dir, name, decay):
    prompts = prompts_for(model_dir, 4, ragged=False, seed=3)
    decoder_only = "gpt2" in str(model_dir)
    prompt_length = len(prompts[0]) if decoder_only else 1
    for temperature in (1.0, 4.0):
        decoder = build(name, model_dir, max_new_tokens=MAX_NEW, beam_width=4, temperature=temperature,
                        num_return_sequences=4)
        processor = TemperatureAndDecay(temperature, prompt_length, decay)
        expected, expected_scores = reference(
            decoder.language_model_.model, prompts, pad=pad_of(decoder), max_new_tokens=MAX_NEW, num_beams=4,
            num_return_sequences=4, do_sample=False, logits_processor=LogitsProcessorList([processor]),
        )
        result = decoder.generate(prompts)
        assert flat(result) == expected
        assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)


def test_temperature_changes_which_sequence_beam_search_chooses(gpt2_dir):
    prompts = prompts_for(gpt2_dir, 8, seed=4)
    cold = build("beam", gpt2_dir, max_new_tokens=MAX_NEW, beam_width=4).generate(prompts)
    hot = build("beam", gpt2_dir, max_new_tokens=MAX_NEW, beam_width=4, temperature=4.0).generate(prompts)
    assert cold.token_ids != hot.token_ids


def test_decay_discourages_repeated_tokens(gpt2_dir):
    prompts = prompts_for(gpt2_dir, 8, seed=5)
    plain = build("beam", gpt2_dir, max_new_tokens=MAX_NEW, beam_width=4).generate(prompts)
    decayed = build("penalty", gpt2_dir, max_new_tokens=MAX_NEW, beam_width=4).generate(prompts)

    def repeats(result):
        return sum(len(seq) - len(set(seq)) for seq in flat(result))

    assert repeats(decayed) < repeats(plain)


@pytest.mark.parametrize(("penalty", "ngram"), [(1.6, 0), (1.0, 2), (1.3, 3)])
def test_repetition_penalty_and_no_repeat_ngram_equal_generate(model_dir, penalty, ngram):
    prompts = prompts_for(model_dir, 4, seed=6)
    decoder = build("penalty", model_dir, max_new_tokens=MAX_NEW, beam_width=3, num_return_sequences=3,
                    decay_repeated=False, repetition_penalty=penalty, no_repeat_ngram_size=ngram)
    expected, expected_scores = reference(
        decoder.language_model_.model, prompts, pad=pad_of(decoder), max_new_tokens=MAX_NEW, num_beams=3,
        num_return_sequences=3, do_sample=False, repetition_penalty=penalty, no_repeat_ngram_size=ngram,
    )
    result = decoder.generate(prompts)
    assert flat(result) == expected
    assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)


@pytest.mark.parametrize("warp", [
    {"temperature": 0.7, "top_k": 0, "top_p": 1.0},
    {"temperature": 1.3, "top_k": 5, "top_p": 1.0},
    {"temperature": 1.0, "top_k": 0, "top_p": 0.8},
    {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.1},
])
def test_seeded_sampling_equals_generate(model_dir, warp):
    prompts = prompts_for(model_dir, 6, seed=7)
    decoder = build("sample", model_dir, max_new_tokens=MAX_NEW, seed=11, **warp)
    torch.manual_seed(11)
    expected, _ = reference(decoder.language_model_.model, prompts, pad=pad_of(decoder), max_new_tokens=MAX_NEW,
                            do_sample=True, **warp)
    assert flat(decoder.generate(prompts)) == expected
