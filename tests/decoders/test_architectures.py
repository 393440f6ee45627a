"""The equivalence grid against `generate` on tiny Llama, Mistral, Qwen2, BART, GPT-NeoX and OPT models.

Each model is written once per module with its trained BPE tokenizer and loaded through our code;
`generate` runs with its defaults, so that each model's generation config (BART's forced EOS,
Qwen2's two EOS ids) applies on its side as on ours.
"""

import random

import pytest
import torch

import engine

from .tiny_architectures import ARCHITECTURES, WORDS
from .tiny_models import padded

MAX_NEW = 8


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def arch(request, tmp_path_factory):
    """The architecture's folder and a greedy decoder loaded from it (its model and tokenizer are reused)."""
    spec = ARCHITECTURES[request.param]
    folder = spec.write(tmp_path_factory.mktemp(spec.name))
    return spec, folder, engine.decoder("greedy", model=str(folder), max_new_tokens=MAX_NEW).load()


def texts(count: int = 4, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 7))) for _ in range(count)]


def eos_of(model) -> list[int]:
    eos = model.generation_config.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos)


def reference(lm, prompts, **generate_kwargs):
    """`generate` on the padded prompts: each returned row's new ids cut after the first EOS, scores, texts."""
    model = lm.model
    decoder_only = not model.config.is_encoder_decoder
    ids, mask = padded(prompts, lm.pad_id, left=decoder_only)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=MAX_NEW, return_dict_in_generate=True,
                         output_scores=True, **generate_kwargs)
    new = out.sequences[:, ids.shape[1] if decoder_only else 1:]
    eos = eos_of(model)
    rows = []
    for row in new.tolist():
        cut = next((k + 1 for k, t in enumerate(row) if t in eos), len(row))
        rows.append(row[:cut])
    scores = getattr(out, "sequences_scores", None)
    return rows, None if scores is None else scores.tolist(), lm.tokenizer.batch_decode(new, skip_special_tokens=True)


def ours(result) -> list[list[int]]:
    return [list(seq) for row in result.token_ids for seq in row]


def build(arch, name, **options):
    lm = arch[2].language_model_
    return engine.decoder(name, model=lm.model, tokenizer=lm.tokenizer, max_new_tokens=MAX_NEW, **options)


def test_greedy_and_texts_equal_generate_on_a_ragged_batch(arch):
    greedy = arch[2]
    lm = greedy.language_model_
    prompts = [lm.tokenizer(t)["input_ids"] for t in texts(6)]
    assert len({len(p) for p in prompts}) > 1, "the batch must be ragged"
    expected, _, expected_texts = reference(lm, prompts, do_sample=False)
    result = greedy.generate(texts(6))
    assert ours(result) == expected
    assert list(result.best_texts) == expected_texts
    if arch[0].name == "bart":
        assert all(seq[-1] == 2 for seq in expected) and any(len(seq) == MAX_NEW for seq in expected), \
            "BART's config forces EOS as the last token"


def test_beam_grid_equals_generate(arch):
    lm = arch[2].language_model_
    prompts = [lm.tokenizer(t)["input_ids"] for t in texts(3, seed=1)]
    eos = eos_of(lm.model)
    early_eos = False
    for beams, length_penalty, early_stopping in [
        (3, 0.0, False), (3, 1.0, True), (3, 2.0, "never"), (3, 1.0, False), (2, 2.0, True), (2, 0.0, "never"),
    ]:
        decoder = build(arch, "beam", beam_width=beams, length_penalty=length_penalty, early_stopping=early_stopping,
                        num_return_sequences=beams)
        expected, expected_scores, expected_texts = reference(
            lm, prompts, num_beams=beams, length_penalty=length_penalty, early_stopping=early_stopping,
            num_return_sequences=beams, do_sample=False)
        result = decoder.generate(prompts)
        setting = f"beams={beams} length_penalty={length_penalty} early_stopping={early_stopping}"
        assert ours(result) == expected, setting
        assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4), setting
        assert [t for row in result.texts for t in row] == expected_texts, setting
        early_eos |= any(seq[-1] in eos and len(seq) < MAX_NEW for seq in expected)
    if arch[0].name != "bart":
        assert early_eos, "some beams should end with EOS before max_new_tokens, or the grid tests too little"


def test_penalties_equal_generate(arch):
    lm = arch[2].language_model_
    prompts = [lm.tokenizer(t)["input_ids"] for t in texts(3, seed=2)]
    beam = build(arch, "penalty", beam_width=3, num_return_sequences=3, decay_repeated=False,
                 repetition_penalty=1.3, no_repeat_ngram_size=2)
    expected, expected_scores, _ = reference(lm, prompts, num_beams=3, num_return_sequences=3, do_sample=False,
                                             repetition_penalty=1.3, no_repeat_ngram_size=2)
    result = beam.generate(prompts)
    assert ours(result) == expected
    assert [s for row in result.scores for s in row] == pytest.approx(expected_scores, abs=1e-4)
    one_beam = build(arch, "penalty", beam_width=1, decay_repeated=False, repetition_penalty=1.8)
    expected, _, _ = reference(lm, prompts, num_beams=1, do_sample=False, repetition_penalty=1.8)
    assert ours(one_beam.generate(prompts)) == expected


@pytest.mark.parametrize("warp", [{}, {"temperature": 1.3, "top_p": 0.8}])
def test_seeded_sampling_equals_generate(arch, warp):
    lm = arch[2].language_model_
    assert lm.vocab_size > 50, "the vocabulary must be larger than generate's default top_k"
    prompts = [lm.tokenizer(t)["input_ids"] for t in texts(4, seed=3)]
    decoder = build(arch, "sample", seed=5, **warp)
    torch.manual_seed(5)
    expected, _, expected_texts = reference(lm, prompts, do_sample=True, **warp)
    result = decoder.generate(prompts)
    assert ours(result) == expected
    assert list(result.best_texts) == expected_texts


def test_a_tokenizers_batch_encoding_is_taken_as_generate_takes_it(arch):
    greedy = arch[2]
    lm = greedy.language_model_
    tokenizer = lm.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right" if arch[0].encoder_decoder else "left"
    encoding = tokenizer(texts(4, seed=4), padding=True, return_tensors="pt")
    assert (encoding["attention_mask"] == 0).any(), "the batch must be padded"
    out = lm.model.generate(**encoding, max_new_tokens=MAX_NEW, do_sample=False)
    new = out[:, 1 if arch[0].encoder_decoder else encoding["input_ids"].shape[1]:]
    assert list(greedy.generate(encoding).best_texts) == tokenizer.batch_decode(new, skip_special_tokens=True)
