"""batch_size (continuous batching: a finished prompt's rows go to the next waiting prompt) and packed weights."""

import random

import pytest
import torch

import engine
from plugins.decoders.packed_weights import available, pack, packed

from .tiny_models import reference

MAX_NEW = 12


def mixed_prompts(count: int, *, seed: int = 0, t5: bool = False) -> list[list[int]]:
    """Prompts of 1..8 word ids; the first few short so that longer ones arrive while the window is short."""
    rng = random.Random(seed)
    lengths = [1, 2, 1] + [rng.randrange(1, 9) for _ in range(count - 3)]
    prompts = [[rng.randrange(4, 24) for _ in range(n)] for n in lengths]
    return [p + [1] for p in prompts] if t5 else prompts


def alone(decoder, prompts):
    """Each prompt decoded by itself: its sequences and scores."""
    results = [decoder.generate(p) for p in prompts]
    return [r.token_ids[0] for r in results], [r.scores[0] for r in results]


@pytest.mark.parametrize("batch_size", [1, 2, 5])
@pytest.mark.parametrize("settings", [
    {},
    {"early_stopping": True, "num_return_sequences": 2},
    {"early_stopping": "never", "length_penalty": 2.0},
    {"length_penalty": -0.5, "temperature": 2.0},
])
def test_refilled_rows_give_each_prompt_its_alone_results(gpt2_dir, batch_size, settings):
    prompts = mixed_prompts(14)
    common = dict(model=str(gpt2_dir), max_new_tokens=MAX_NEW, beam_width=3, **settings)
    single = engine.decoder("beam", **common).load()
    want_tokens, want_scores = alone(single, prompts)
    got = engine.decoder("beam", batch_size=batch_size, **common).generate(prompts)
    assert [list(row) for row in got.token_ids] == [list(row) for row in want_tokens]
    assert [s for row in got.scores for s in row] == pytest.approx([s for row in want_scores for s in row], rel=1e-6, abs=1e-5)


def test_refilled_rows_equal_generate_on_each_prompt(gpt2_dir):
    prompts = mixed_prompts(10, seed=3)
    decoder = engine.decoder("beam", model=str(gpt2_dir), max_new_tokens=MAX_NEW, beam_width=4, batch_size=3).load()
    model, pad = decoder.language_model_.model, decoder.language_model_.pad_id
    got = decoder.generate(prompts)
    for prompt, row, score in zip(prompts, got.token_ids, got.scores):
        expected, expected_scores = reference(model, [prompt], pad=pad, num_beams=4, max_new_tokens=MAX_NEW,
                                              do_sample=False)
        assert [list(row[0])] == expected
        assert score[0] == pytest.approx(expected_scores[0], abs=1e-5)


def test_many_refills_through_a_small_window_stay_exact(gpt2_dir):
    """Forty prompts through two slots: the buffers are compacted and regrown many times."""
    prompts = mixed_prompts(40, seed=5)
    common = dict(model=str(gpt2_dir), max_new_tokens=MAX_NEW, beam_width=2)
    want_tokens, _ = alone(engine.decoder("beam", **common).load(), prompts)
    got = engine.decoder("beam", batch_size=2, **common).generate(prompts)
    assert [list(row) for row in got.token_ids] == [list(row) for row in want_tokens]
    lengths = {len(row[0]) for row in want_tokens}
    assert len(lengths) > 3, "the prompts should end at different lengths, or rows are never refilled mid-search"


def test_each_prompts_trace_is_its_alone_trace(gpt2_dir):
    prompts = mixed_prompts(6, seed=1)
    common = dict(model=str(gpt2_dir), max_new_tokens=6, beam_width=2)
    single = engine.decoder("beam", **common).load()
    got = engine.decoder("beam", batch_size=2, **common).generate(prompts, trace=True).trace
    for i, prompt in enumerate(prompts):
        own = single.generate(prompt, trace=True).trace.for_prompt(0)
        steps = got.for_prompt(i)
        assert [s.step for s in steps] == [s.step for s in own]
        assert [[(c.beam, c.token_id, c.status) for c in s.candidates] for s in steps] == \
            [[(c.beam, c.token_id, c.status) for c in s.candidates] for s in own]


@pytest.mark.parametrize("name, width", [("beam", 1), ("beam", 3)])
def test_t5_and_one_beam_decode_batches_one_after_another(t5_dir, name, width):
    prompts = mixed_prompts(7, seed=2, t5=True)
    common = dict(model=str(t5_dir), max_new_tokens=MAX_NEW, beam_width=width)
    whole = engine.decoder(name, **common).generate(prompts, trace=True)
    parts = engine.decoder(name, batch_size=3, **common).generate(prompts, trace=True)
    assert parts.token_ids == whole.token_ids
    assert {s.prompt for s in parts.trace.steps} == set(range(len(prompts)))


@pytest.mark.parametrize("name, options, named", [
    ("beam", {"min_new_tokens": 3}, "min_new_tokens"),
    ("penalty", {}, "decay_repeated"),
    ("penalty", {"decay_repeated": False, "no_repeat_ngram_size": 2}, "no_repeat_ngram_size"),
    ("beam", {"generation_overrides": {"forced_eos_token_id": 1}}, "forced_eos_token_id"),
])
def test_rules_that_read_a_rows_step_are_refused_with_refilling(gpt2_dir, name, options, named):
    decoder = engine.decoder(name, model=str(gpt2_dir), max_new_tokens=MAX_NEW, batch_size=2, **options)
    with pytest.raises(engine.OptionError, match=named):
        decoder.generate(mixed_prompts(4))
    assert len(decoder.generate(mixed_prompts(4)[:2])) == 2, "without refilling the rules apply"


def test_batch_size_must_be_positive(gpt2_dir):
    with pytest.raises(engine.OptionError, match="batch_size"):
        engine.decoder("beam", model=str(gpt2_dir), batch_size=0)


@pytest.mark.parametrize("name", ["greedy", "beam"])
def test_packed_weights_give_the_same_bits(model_dir, name):
    prompts = mixed_prompts(5, t5="t5" in str(model_dir))
    on = engine.decoder(name, model=str(model_dir), max_new_tokens=MAX_NEW).generate(prompts)
    off = engine.decoder(name, model=str(model_dir), max_new_tokens=MAX_NEW, pack_weights=False).generate(prompts)
    assert on.token_ids == off.token_ids
    assert on.scores == off.scores


@pytest.mark.skipif(not available(), reason="this torch build has no MKL packed sgemm")
def test_packing_swaps_layer_forwards_only_inside_and_matches_exactly(gpt2_dir):
    model = engine.decoder("greedy", model=str(gpt2_dir)).load().language_model_.model
    forwards = pack(model, 6)
    assert forwards, "the Conv1D layers of GPT-2 should pack"
    x = torch.randn(6, 64)
    layer = next(iter(forwards))
    with torch.inference_mode():
        plain = layer(x)
        with packed(forwards):
            assert "forward" in vars(layer)
            inside = layer(x)
            other_rows = layer(x[:5])
        assert "forward" not in vars(layer)
    assert torch.equal(inside, plain)
    assert torch.equal(other_rows, plain[:5])


def test_a_pipeline_step_refills_with_the_batch_size_option(gpt2_dir):
    import pyarrow as pa

    texts = ["w4", "w5 w6", "w7 w8 w9 w10", "w11 w12", "w13", "w14 w15 w16"]
    options = {"model": str(gpt2_dir), "max_new_tokens": MAX_NEW, "beam_width": 3}
    pipeline = engine.Pipeline([engine.Step("decoder", "beam", options={**options, "batch_size": 2})])
    out = pipeline.run(pa.table({"prompt": texts})).table
    single = engine.decoder("beam", **options)
    assert out.column("generation").to_pylist() == [single.generate(t).best_texts[0] for t in texts]
