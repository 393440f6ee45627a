"""Tiny randomly initialised GPT-2 and T5 models with a word-level tokenizer, written with save_pretrained."""

from pathlib import Path

import torch

GPT2_SEED = 0
T5_SEED = 3
"""Seeds under which the tiny models end some beams with EOS within ten tokens (the tests check it)."""
WORDS = ["<pad>", "</s>", "<fill>", "<unk>"] + [f"w{i}" for i in range(4, 24)]


def tokenizer(pad_token: str | None):
    """A 24-token word-level tokenizer (no download): ids 0 <pad>, 1 </s>, 2 <fill>, 3 <unk>, 4..23 words."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", unk_token="<unk>", pad_token=pad_token)


def write_gpt2(folder: Path, *, pad_token: str | None = "<fill>") -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(GPT2_SEED)
    config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=24, eos_token_id=1, pad_token_id=2,
                        initializer_range=0.3)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer(pad_token).save_pretrained(folder)
    return folder


def write_t5(folder: Path) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(T5_SEED)
    config = T5Config(vocab_size=24, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, pad_token_id=0,
                      eos_token_id=1, decoder_start_token_id=0, initializer_factor=3.0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer("<pad>").save_pretrained(folder)
    return folder


def cut_at_eos(ids, eos: int | list[int] = 1) -> list[int]:
    """The ids up to and including the first of the EOS ids."""
    ends = [eos] if isinstance(eos, int) else list(eos)
    out = []
    for t in ids:
        out.append(int(t))
        if t in ends:
            break
    return out


def padded(prompts: list[list[int]], pad: int, *, left: bool):
    """The batch as transformers users build it: padded tensors and the attention mask."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        span = slice(width - len(p), width) if left else slice(0, len(p))
        ids[i, span] = torch.tensor(p)
        mask[i, span] = 1
    return ids, mask


def reference(model, prompts: list[list[int]], *, pad: int, **generate_kwargs):
    """transformers' `generate` on the same prompts: per returned row, the new ids cut at EOS, and the scores."""
    decoder_only = not model.config.is_encoder_decoder
    ids, mask = padded(prompts, pad, left=decoder_only)
    out = model.generate(input_ids=ids, attention_mask=mask, return_dict_in_generate=True, output_scores=True,
                         **generate_kwargs)
    start = ids.shape[1] if decoder_only else 1
    eos = generate_kwargs.get("eos_token_id", model.generation_config.eos_token_id)
    sequences = [cut_at_eos(row[start:], eos) for row in out.sequences.tolist()]
    scores = out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None else None
    return sequences, scores


def flat(result) -> list[list[int]]:
    """Our result's sequences in generate's row order (prompt-major)."""
    return [list(seq) for row in result.token_ids for seq in row]
