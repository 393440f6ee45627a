"""Prompts as users hold them: numpy ints, 0-d tensors, arrays, a tokenizer's output; bad ids and lengths refused."""

import numpy as np
import pytest
import torch

import engine

from .tiny_architectures import ARCHITECTURES
from .tiny_models import cut_at_eos


@pytest.fixture(scope="module")
def greedy(gpt2_dir):
    return engine.decoder("greedy", model=str(gpt2_dir), max_new_tokens=5).load()


@pytest.fixture(scope="module")
def bart_dir(tmp_path_factory):
    return ARCHITECTURES["bart"].write(tmp_path_factory.mktemp("bart"))


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    folder = ARCHITECTURES["llama"].write(tmp_path_factory.mktemp("llama"))
    return engine.decoder("greedy", model=str(folder), max_new_tokens=5).load()


@pytest.mark.parametrize("convert", [
    lambda ids: list(np.array(ids)),
    lambda ids: list(torch.tensor(ids)),
    lambda ids: np.array(ids, dtype=np.int32),
    lambda ids: torch.tensor(ids),
    lambda ids: [np.int64(t) for t in ids],
], ids=["numpy ints", "0-d tensors", "int32 array", "1-d tensor", "numpy int64 list"])
def test_one_prompt_of_ids_in_any_integer_form(greedy, convert):
    assert greedy.generate(convert([5, 6, 7])) == greedy.generate([5, 6, 7])


def test_a_batch_of_arrays_or_a_2d_array(greedy):
    plain = greedy.generate([[5, 6, 7], [9, 10, 11]])
    assert greedy.generate([np.array([5, 6, 7]), torch.tensor([9, 10, 11])]) == plain
    assert greedy.generate(np.array([[5, 6, 7], [9, 10, 11]])) == plain
    assert greedy.generate([list(np.array([5, 6, 7])), list(torch.tensor([9, 10, 11]))]) == plain


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_mapping_with_an_attention_mask_drops_the_padding(greedy, side):
    prompts = [[5, 6, 7, 8], [9, 10]]
    pad = [2, 2]
    ids = [prompts[0], pad + prompts[1] if side == "left" else prompts[1] + pad]
    mask = [[1, 1, 1, 1], [0, 0, 1, 1] if side == "left" else [1, 1, 0, 0]]
    expected = greedy.generate(prompts)
    assert greedy.generate({"input_ids": ids, "attention_mask": mask}) == expected
    as_tensors = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}
    assert greedy.generate(as_tensors) == expected
    assert greedy.generate({"input_ids": torch.tensor(prompts[0])}) == greedy.generate(prompts[0])


def test_a_batch_encoding_from_the_tokenizer(greedy):
    tokenizer = greedy.language_model_.tokenizer
    tokenizer.padding_side = "left"
    encoding = tokenizer(["w5 w6 w7 w8", "w9"], padding=True, return_tensors="pt")
    assert (encoding["attention_mask"] == 0).any()
    assert greedy.generate(encoding) == greedy.generate(["w5 w6 w7 w8", "w9"])


@pytest.mark.parametrize(("mapping", "message"), [
    ({"attention_mask": [[1, 1]]}, "must hold input_ids"),
    ({"input_ids": [[5, 6]], "token_type_ids": [[0, 0]]}, "drop \\['token_type_ids'\\]"),
    ({"input_ids": [[5, 6, 7]], "attention_mask": [[1, 0, 1]]}, "padding inside the prompt"),
    ({"input_ids": [[5, 6, 7]], "attention_mask": [[1, 1]]}, "shape of input_ids"),
    ({"input_ids": [[5, 6]], "attention_mask": [[0, 0]]}, "prompt 0 is empty"),
    ({"input_ids": []}, "no prompts"),
])
def test_a_bad_mapping_is_refused_saying_what_to_do(greedy, mapping, message):
    with pytest.raises(engine.DataError, match=message):
        greedy.generate(mapping)


@pytest.mark.parametrize("prompts", [
    [5.0, 6.0], [5.7, 6], np.array([5.0, 6.0]), torch.tensor([5.0, 6.0]), [[5, 6], [7.5]], [True, False],
    [torch.tensor(5.0)],
], ids=["floats", "a fraction", "float array", "float tensor", "a float in a batch", "bools", "0-d float tensor"])
def test_float_or_bool_ids_are_refused_not_truncated(greedy, prompts):
    with pytest.raises(engine.DataError, match="token ids must be integers"):
        greedy.generate(prompts)


def test_an_encoder_decoder_input_longer_than_its_positions_is_refused(bart_dir):
    decoder = engine.decoder("greedy", model=str(bart_dir), max_new_tokens=4)
    assert len(decoder.generate([[5] * 64])) == 1, "an input filling all 64 positions is fine"
    with pytest.raises(engine.DataError, match="65 tokens, more than the 64 positions of the model's encoder"):
        decoder.generate([[5] * 64, [5] * 65])
    with pytest.raises(engine.DataError, match="more than the 64 positions of the model's decoder"):
        engine.decoder("greedy", model=str(bart_dir), max_new_tokens=65).generate([[5, 6]])
    assert len(engine.decoder("greedy", model=str(bart_dir), max_new_tokens=64).generate([[5, 6]])) == 1


def test_empty_text_is_refused_even_where_the_tokenizer_would_add_a_bos(llama):
    tokenizer = llama.language_model_.tokenizer
    assert tokenizer("")["input_ids"] == [tokenizer.bos_token_id], "the Llama-style tokenizer adds a BOS"
    with pytest.raises(engine.DataError, match="prompt 1 is empty text.*bos_token_id"):
        llama.generate(["the cat", ""])
    model = llama.language_model_.model
    from_bos = llama.generate([[tokenizer.bos_token_id]])
    out = model.generate(input_ids=torch.tensor([[tokenizer.bos_token_id]]), max_new_tokens=5, do_sample=False)
    assert list(from_bos.token_ids[0][0]) == cut_at_eos(out[0, 1:].tolist(), model.generation_config.eos_token_id)
