"""Tiny random Llama, Mistral, Qwen2, BART, GPT-NeoX and OPT models, each with a BPE tokenizer trained here.

Every model is built under a fixed seed, written with save_pretrained with its tokenizer, and
loaded back by the tests through the decoders' own loading code. Each keeps its family's special
tokens and generation settings: Llama, Mistral and OPT tokenizers add a BOS, BART's wraps the text
in <s> ... </s> and its default config forces EOS at the last position, Qwen2 stops at either of
two EOS ids, Mistral attends through a sliding window shorter than the test sequences.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import torch

WORDS = ("the cat sat on a mat while dogs ran past quick brown foxes jumping over lazy hills near old "
         "river banks where small birds sing songs about green trees and bright stars").split()
VOCAB = 160


@attrs.frozen
class Architecture:
    """One model family: its special tokens (in id order), how its tokenizer wraps text, and its model."""

    name: str
    specials: tuple[str, ...]
    roles: dict[str, str]
    template: tuple[str | None, str | None]
    build: Callable[[int], Any]
    encoder_decoder: bool = False
    seed: int = 0
    """Chosen so that some beams of the tests' prompts end with EOS before max_new_tokens (the tests check it)."""

    def write(self, folder: Path) -> Path:
        """Train the tokenizer, build the model under the seed, and save both to `folder`."""
        tokenizer = train_tokenizer(self.specials, self.roles, self.template)
        torch.manual_seed(self.seed)
        model = self.build(len(tokenizer))
        sharpen(model)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder


def corpus(lines: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 12))) for _ in range(lines)]


def train_tokenizer(specials: tuple[str, ...], roles: dict[str, str], template: tuple[str | None, str | None]):
    """A BPE tokenizer of VOCAB tokens, trained on the corpus with the `tokenizers` library (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token=roles.get("unk_token")))
    core.pre_tokenizer = pre_tokenizers.Metaspace()
    core.decoder = decoders.Metaspace()
    core.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=list(specials)))
    before, after = template
    if before or after:
        single = " ".join(t for t in (before, "$A", after) if t)
        core.post_processor = processors.TemplateProcessing(
            single=single, special_tokens=[(t, core.token_to_id(t)) for t in (before, after) if t])
    return PreTrainedTokenizerFast(tokenizer_object=core, **roles)


def sharpen(model: Any) -> None:
    """Scale an untied output layer so the random model prefers some tokens clearly (fewer near-ties, EOS
    within reach), as trained models do. Tied models (BART, OPT) get a wider initialisation instead, as
    scaling their head would scale the input embeddings too."""
    head = model.get_output_embeddings()
    if head.weight is model.get_input_embeddings().weight:
        return
    with torch.no_grad():
        head.weight.mul_(6.0 / head.weight.norm(dim=-1, keepdim=True).mean())


def _llama(vocab: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=1, eos_token_id=2, pad_token_id=None))


def _mistral(vocab: int):
    from transformers import MistralConfig, MistralForCausalLM

    return MistralForCausalLM(MistralConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, sliding_window=6, bos_token_id=1, eos_token_id=2,
        pad_token_id=None))


def _qwen2(vocab: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=None, eos_token_id=0, pad_token_id=0))
    model.generation_config.eos_token_id = [1, 0]
    return model


def _bart(vocab: int):
    from transformers import BartConfig, BartForConditionalGeneration

    return BartForConditionalGeneration(BartConfig(
        vocab_size=vocab, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64, init_std=0.3))


def _gpt_neox(vocab: int):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    return GPTNeoXForCausalLM(GPTNeoXConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, bos_token_id=0, eos_token_id=0))


def _opt(vocab: int):
    from transformers import OPTConfig, OPTForCausalLM

    return OPTForCausalLM(OPTConfig(
        vocab_size=vocab, hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, word_embed_proj_dim=32, init_std=0.3))


_LLAMA_TOKENS = dict(specials=("<unk>", "<s>", "</s>"),
                     roles={"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"}, template=("<s>", None))

ARCHITECTURES = {
    "llama": Architecture("llama", build=_llama, seed=1, **_LLAMA_TOKENS),
    "mistral": Architecture("mistral", build=_mistral, **_LLAMA_TOKENS),
    "qwen2": Architecture(
        "qwen2", specials=("<|endoftext|>", "<|im_end|>"),
        roles={"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, template=(None, None), build=_qwen2, seed=1),
    "bart": Architecture(
        "bart", specials=("<s>", "<pad>", "</s>", "<unk>"),
        roles={"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"},
        template=("<s>", "</s>"), build=_bart, encoder_decoder=True),
    "gpt_neox": Architecture(
        "gpt_neox", specials=("<|endoftext|>",),
        roles={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"},
        template=(None, None), build=_gpt_neox),
    "opt": Architecture(
        "opt", specials=("<s>", "<pad>", "</s>", "<unk>"),
        roles={"bos_token": "</s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"},
        template=("</s>", None), build=_opt, seed=1),
}
