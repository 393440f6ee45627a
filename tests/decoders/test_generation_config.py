"""Decoders follow the model's saved generation_config as `generate` does, and our options override it.

Each case writes a copy of the tiny GPT-2 or T5 folder whose generation_config.json sets some
fields, loads it through our code, and compares with `generate` called with no generation
arguments but the decoding mode. Each case also checks that the fields change the result (so
the comparison can fail) and that `generation_overrides` puts them back as `generate(**kwargs)` does.
"""

import shutil

import pytest
import torch
from transformers import GenerationConfig

import engine

from .tiny_models import flat, reference

MAX_NEW = 10
PROMPTS = {"gpt2": [[5, 9, 4], [7, 8, 12, 13, 6], [20, 4, 4, 11]], "t5": [[5, 9, 4, 1], [7, 8, 12, 13, 6, 1], [21, 19, 18, 1]]}

MODES = {
    "greedy": ({}, {"do_sample": False, "num_beams": 1}),
    "beam": ({"beam_width": 3, "num_return_sequences": 3}, {"do_sample": False, "num_beams": 3, "num_return_sequences": 3}),
    "penalty": ({"beam_width": 1, "decay_repeated": False}, {"do_sample": False, "num_beams": 1}),
    "sample": ({"seed": 3}, {"do_sample": True}),
}
"""Our decoder's options and `generate`'s keyword arguments for the same decoding mode."""

CASES = [
    ("greedy", {"forced_bos_token_id": 7}, {"forced_bos_token_id": None}),
    ("beam", {"forced_eos_token_id": 1}, {"forced_eos_token_id": None}),
    ("sample", {"forced_eos_token_id": [1, 2]}, {"forced_eos_token_id": None}),
    ("greedy", {"suppress_tokens": list(range(4, 14))}, {"suppress_tokens": None}),
    ("sample", {"begin_suppress_tokens": [0, 1, *range(4, 14)]}, {"begin_suppress_tokens": None}),
    ("beam", {"bad_words_ids": [[4], [5], [6], [7], [8], [1], [10, 11], [12, 12]]}, {"bad_words_ids": None}),
    ("greedy", {"eos_token_id": [1, 5, 9]}, {"eos_token_id": 1}),
    ("beam", {"eos_token_id": [1, 5, 9]}, {"eos_token_id": 1}),
    ("greedy", {"min_length": 11}, {"min_length": 0}),
    ("greedy", {"repetition_penalty": 3.0}, {"repetition_penalty": 1.0}),
    ("penalty", {"repetition_penalty": 3.0, "no_repeat_ngram_size": 1}, {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0}),
    ("sample", {"no_repeat_ngram_size": 1}, {"no_repeat_ngram_size": 0}),
    ("sample", {"do_sample": True, "top_k": 3, "top_p": 0.6, "temperature": 0.5}, {"top_k": 50, "top_p": 1.0, "temperature": 1.0}),
]


def with_generation_config(source, folder, **fields):
    """A copy of a saved model whose generation_config.json also sets `fields`."""
    shutil.copytree(source, folder)
    config = GenerationConfig.from_pretrained(folder)
    config.update(**fields)
    config.save_pretrained(folder)
    return folder


def run_generate(decoder, prompts, seed: int | None, **kwargs):
    if seed is not None:
        torch.manual_seed(seed)
    lm = decoder.language_model_
    return reference(lm.model, prompts, pad=lm.pad_id, max_new_tokens=MAX_NEW, **kwargs)


@pytest.mark.parametrize(("mode", "fields", "neutral"), CASES, ids=lambda v: str(v)[:40])
def test_the_saved_generation_config_is_followed(model_dir, tmp_path, mode, fields, neutral):
    folder = with_generation_config(model_dir, tmp_path / "model", **fields)
    prompts = PROMPTS["t5" if "t5" in str(model_dir) else "gpt2"]
    if "forced_bos_token_id" in fields and "gpt2" in str(model_dir):
        prompts = [[5], [9], [13]]  # generate forces the BOS where its input_ids are one token long
    options, generate_kwargs = MODES[mode]
    seed = options.get("seed")
    decoder = engine.decoder(mode, model=str(folder), max_new_tokens=MAX_NEW, **options).load()
    expected, expected_scores = run_generate(decoder, prompts, seed, **generate_kwargs)
    result = decoder.generate(prompts)
    assert flat(result) == expected
    if mode == "beam":
        assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)
    undone, _ = run_generate(decoder, prompts, seed, **generate_kwargs, **neutral)
    assert undone != expected, f"{fields} should change what generate returns, or the case tests nothing"
    overridden = engine.decoder(mode, model=str(folder), max_new_tokens=MAX_NEW, generation_overrides=neutral,
                                **options)
    assert flat(overridden.generate(prompts)) == undone


def test_defaults_for_beams_come_from_the_config_and_options_override_them(gpt2_dir, tmp_path):
    fields = {"num_beams": 3, "length_penalty": 2.0, "early_stopping": True, "num_return_sequences": 2}
    folder = with_generation_config(gpt2_dir, tmp_path / "model", **fields)
    prompts = PROMPTS["gpt2"]
    decoder = engine.decoder("beam", model=str(folder), max_new_tokens=MAX_NEW).load()
    expected, expected_scores = run_generate(decoder, prompts, None, do_sample=False)
    result = decoder.generate(prompts)
    assert [len(row) for row in result.token_ids] == [2, 2, 2]
    assert flat(result) == expected
    assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)
    assert decoder.settings()["beam_width"] == 3 and decoder.settings()["length_penalty"] == 2.0
    mine = engine.decoder("beam", model=str(folder), max_new_tokens=MAX_NEW, beam_width=4, length_penalty=0.0,
                          num_return_sequences=1).load()
    expected, expected_scores = run_generate(mine, prompts, None, do_sample=False, num_beams=4, length_penalty=0.0,
                                             num_return_sequences=1)
    result = mine.generate(prompts)
    assert flat(result) == expected
    assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)


def test_beam_width_is_four_when_the_config_asks_for_one_beam(gpt2_dir):
    decoder = engine.decoder("beam", model=str(gpt2_dir), max_new_tokens=4).load()
    assert decoder.settings()["beam_width"] == 4


def test_the_default_top_k_is_generates_fifty(tmp_path):
    from .tiny_architectures import ARCHITECTURES

    folder = ARCHITECTURES["gpt_neox"].write(tmp_path / "neox")
    decoder = engine.decoder("sample", model=str(folder), max_new_tokens=MAX_NEW, seed=1, temperature=4.0).load()
    assert decoder.settings()["top_k"] == 50 and decoder.language_model_.vocab_size > 50
    prompts = [[5, 9, 4], [7, 8, 12, 13, 6]]
    torch.manual_seed(1)
    lm = decoder.language_model_
    model = lm.model
    eos = model.generation_config.eos_token_id
    from .tiny_models import padded

    ids, mask = padded(prompts, lm.pad_id, left=True)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=MAX_NEW, do_sample=True, temperature=4.0)
    expected = []
    for row in out[:, ids.shape[1]:].tolist():
        expected.append(row[: row.index(eos) + 1] if eos in row else row)
    assert flat(decoder.generate(prompts)) == expected
    unlimited = engine.decoder("sample", model=str(folder), max_new_tokens=MAX_NEW, seed=1, temperature=4.0, top_k=0)
    assert flat(unlimited.generate(prompts)) != expected, "top_k=0 draws from the whole vocabulary"


def test_the_config_and_overrides_are_checked(gpt2_dir, tmp_path):
    with pytest.raises(engine.OptionError, match="no decoder reads"):
        engine.decoder("greedy", model=str(gpt2_dir), generation_overrides={"top_q": 1}).load()
    with pytest.raises(engine.OptionError, match="given twice"):
        engine.decoder("sample", model=str(gpt2_dir), top_k=4, generation_overrides={"top_k": 5})
    with pytest.raises(engine.OptionError, match="suppress_tokens has ids"):
        engine.decoder("greedy", model=str(gpt2_dir), generation_overrides={"suppress_tokens": [99]}).load()
    folder = with_generation_config(gpt2_dir, tmp_path / "model", num_beams=2)
    with pytest.raises(engine.OptionError, match="cannot exceed beam_width"):
        engine.decoder("beam", model=str(folder), num_return_sequences=3).load()
