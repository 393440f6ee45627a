"""What CTranslate2 cannot do is an OptionError naming the option; what it can do follows our option names."""

from __future__ import annotations

import re

import pytest

import engine
from engine.errors import OptionError

PROMPTS = ["w4 w5 w6", "w7 w8", "w9 w10 w11"]


def build(name: str, gpt2_dir, cache_dir, **options):
    return engine.decoder(name, model=str(gpt2_dir), cache_dir=str(cache_dir), intra_threads=1,
                          **{"max_new_tokens": 8, **options})


@pytest.mark.parametrize("name, option, value", [
    ("ct2-beam", "temperature", 2.0),
    ("ct2-beam", "early_stopping", False),
    ("ct2-beam", "early_stopping", "never"),
    ("ct2-beam", "decay_repeated", True),
    ("ct2-sample", "min_p", 0.1),
    ("ct2-sample", "stop_strings", ["w5"]),
    ("ct2-greedy", "stop_strings", ["w5"]),
])
def test_an_option_ctranslate2_lacks_is_refused_by_name(gpt2_dir, cache_dir, name, option, value):
    with pytest.raises(OptionError, match=rf"{re.escape(f'{option}={value!r}')}.*CTranslate2"):
        build(name, gpt2_dir, cache_dir, **{option: value})


@pytest.mark.parametrize("name", ["ct2-greedy", "ct2-beam", "ct2-sample"])
def test_traces_are_refused_by_name(gpt2_dir, cache_dir, name):
    with pytest.raises(OptionError, match="trace.*CTranslate2"):
        build(name, gpt2_dir, cache_dir).generate(PROMPTS, trace=True)


@pytest.mark.parametrize("field, value", [("forced_bos_token_id", 5), ("begin_suppress_tokens", [5]), ("min_length", 4)])
def test_a_generation_setting_ctranslate2_cannot_apply_is_refused_by_name(gpt2_dir, cache_dir, field, value):
    decoder = build("ct2-greedy", gpt2_dir, cache_dir, generation_overrides={field: value})
    with pytest.raises(OptionError, match=rf"{field}=.*generation_overrides"):
        decoder.generate(PROMPTS)


def test_min_p_from_the_generation_config_is_refused_when_sampling(gpt2_dir, cache_dir):
    with pytest.raises(OptionError, match="min_p"):
        build("ct2-sample", gpt2_dir, cache_dir, generation_overrides={"min_p": 0.2}).generate(PROMPTS)
    assert len(build("ct2-greedy", gpt2_dir, cache_dir, generation_overrides={"min_p": 0.2}).generate(PROMPTS)) == 3


@pytest.mark.parametrize("options, match", [
    ({"compute_type": "float16"}, "compute_type"),
    ({"beam_width": 2, "num_return_sequences": 3}, "num_return_sequences"),
    ({"max_new_tokens": 3, "min_new_tokens": 4}, "min_new_tokens"),
    ({"repetition_penalty": 0.0}, "repetition_penalty"),
])
def test_bad_values_are_option_errors(gpt2_dir, cache_dir, options, match):
    with pytest.raises(OptionError, match=match):
        build("ct2-beam", gpt2_dir, cache_dir, **options).generate(PROMPTS)


def test_an_unknown_device_is_an_option_error(gpt2_dir, cache_dir):
    with pytest.raises(OptionError, match="device='tpu'"):
        build("ct2-greedy", gpt2_dir, cache_dir, device="tpu").load()


def test_seeded_sampling_repeats_and_top_k_1_is_greedy(gpt2_dir, cache_dir):
    first = build("ct2-sample", gpt2_dir, cache_dir, seed=11, top_k=0, temperature=1.5).generate(PROMPTS * 3)
    assert build("ct2-sample", gpt2_dir, cache_dir, seed=11, top_k=0, temperature=1.5).generate(PROMPTS * 3) == first
    others = {build("ct2-sample", gpt2_dir, cache_dir, seed=s, top_k=0, temperature=1.5).generate(PROMPTS * 3).token_ids
              for s in range(12, 16)}
    assert len(others | {first.token_ids}) > 1, "different seeds draw differently"
    greedy = build("ct2-greedy", gpt2_dir, cache_dir).generate(PROMPTS)
    assert build("ct2-sample", gpt2_dir, cache_dir, seed=1, top_k=1).generate(PROMPTS).token_ids == greedy.token_ids


def test_no_repeat_ngram_size_bans_repeated_ngrams(gpt2_dir, cache_dir):
    def bigrams(seq):
        return [tuple(seq[i:i + 2]) for i in range(len(seq) - 1)]

    plain = build("ct2-beam", gpt2_dir, cache_dir, max_new_tokens=12, beam_width=2).generate(PROMPTS)
    banned = build("ct2-beam", gpt2_dir, cache_dir, max_new_tokens=12, beam_width=2,
                   no_repeat_ngram_size=2).generate(PROMPTS)
    assert any(len(set(bigrams(s))) < len(bigrams(s)) for row in plain.token_ids for s in row)
    assert all(len(set(bigrams(s))) == len(bigrams(s)) for row in banned.token_ids for s in row)


def test_texts_come_from_the_tokenizer_and_token_id_prompts_work(gpt2_dir, cache_dir):
    decoder = build("ct2-greedy", gpt2_dir, cache_dir)
    by_text = decoder.generate(PROMPTS)
    by_ids = decoder.generate([[4, 5, 6], [7, 8], [9, 10, 11]])
    assert by_ids == by_text
    assert by_text.texts[0][0] == " ".join(f"w{t}" for t in by_text.token_ids[0][0] if t >= 4)
