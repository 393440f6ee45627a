"""A converted model loaded in CTranslate2 (a Generator for decoder-only models, a Translator for
encoder-decoder ones) beside the transformers folder's tokenizer, config and generation settings."""

from __future__ import annotations

import os
import types
from collections.abc import Sequence
from typing import Any

import attrs

from engine.errors import OptionError
from hookyard_ctranslate2.cache import converted, model_folder, vocabulary

COMPUTE_TYPES = ("float32", "int8", "int8_float32")


@attrs.define(eq=False)
class ConvertedModel:
    """What decoding needs: the CTranslate2 runner, the vocabulary both ways, the tokenizer (None without
    one), the end ids, the context length and the model's generation config."""

    runner: Any
    tokenizer: Any
    vocabulary: list[str]
    index: dict[str, int]
    is_encoder_decoder: bool
    context: int | None
    eos_ids: tuple[int, ...]
    holder: Any
    """An object with the folder's `generation_config`, as plugins.decoders' GenerationValues reads it."""

    @classmethod
    def load(cls, model: str | os.PathLike[str], tokenizer: Any = None, *, cache_dir: Any = None,
             compute_type: str = "float32", intra_threads: int = 0, device: str = "cpu",
             trust_remote_code: bool = False) -> ConvertedModel:
        """Convert the folder (once: later loads read the cache) and load it with these settings."""
        import ctranslate2
        from transformers import AutoConfig, GenerationConfig

        from plugins.decoders.generation_settings import token_list
        from plugins.decoders.language_model import load_tokenizer

        folder = model_folder(model)
        config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
        path = converted(folder, cache_dir, trust_remote_code=trust_remote_code)
        encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        kind = ctranslate2.Translator if encoder_decoder else ctranslate2.Generator
        try:
            runner = kind(str(path), device=device, compute_type=compute_type, intra_threads=intra_threads)
        except (ValueError, RuntimeError) as exc:
            raise OptionError(f"CTranslate2 cannot load the model with device={device!r}, compute_type="
                              f"{compute_type!r}: {exc}. Choose another device or compute_type") from exc
        if (folder / "generation_config.json").is_file():
            generation = GenerationConfig.from_pretrained(folder)
        else:
            generation = GenerationConfig.from_model_config(config)
        words = vocabulary(path)
        loaded_tokenizer = load_tokenizer(tokenizer, folder, trust_remote_code=trust_remote_code)
        eos = (token_list(generation.eos_token_id) or token_list(config.eos_token_id)
               or token_list(getattr(loaded_tokenizer, "eos_token_id", None)))
        return cls(
            runner=runner,
            tokenizer=loaded_tokenizer,
            vocabulary=words,
            index={w: i for i, w in enumerate(words)},
            is_encoder_decoder=encoder_decoder,
            context=getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None),
            eos_ids=eos,
            holder=types.SimpleNamespace(generation_config=generation),
        )

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.vocabulary[i] for i in ids]

    def decode(self, ids: Sequence[int]) -> str | None:
        """Text of generated ids, special tokens left out (None without a tokenizer)."""
        return None if self.tokenizer is None else self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def check_length(self, prompts: Sequence[Sequence[int]], max_new_tokens: int) -> None:
        """The position limits of the built-in decoders (plugins.decoders' LanguageModel.check_length):
        it reads only `context` and `is_encoder_decoder`, which this model has too."""
        from plugins.decoders.language_model import LanguageModel

        LanguageModel.check_length(self, prompts, max_new_tokens)  # type: ignore[arg-type]

    def search(self, prompts: list[list[int]], *, max_new_tokens: int, min_new_tokens: int,
               **options: Any) -> tuple[list[list[list[int]]], list[list[float]]]:
        """Every prompt's returned sequences (generated ids, EOS included when generated) and scores.

        `options` are CTranslate2's search options (beam_size, num_hypotheses, length_penalty,...).
        A Generator gets prompts of one length per call: it forwards a batch's prompts at once only
        up to the shortest, and would count the rest of longer prompts as generated tokens.
        """
        common = {"return_scores": True, "return_end_token": True, "end_token": list(self.eos_ids), **options}
        sequences: list[Any] = [None] * len(prompts)
        scores: list[Any] = [None] * len(prompts)
        if self.is_encoder_decoder:
            results = self.runner.translate_batch(
                [self.tokens(p) for p in prompts], max_decoding_length=max_new_tokens,
                min_decoding_length=min_new_tokens, max_input_length=0, **common)
            for i, result in enumerate(results):
                sequences[i] = [[self.index[t] for t in h] for h in result.hypotheses]
                scores[i] = list(result.scores)
            return sequences, scores
        by_length: dict[int, list[int]] = {}
        for i, prompt in enumerate(prompts):
            by_length.setdefault(len(prompt), []).append(i)
        for rows in by_length.values():
            results = self.runner.generate_batch(
                [self.tokens(prompts[i]) for i in rows], max_length=max_new_tokens, min_length=min_new_tokens,
                include_prompt_in_result=False, **common)
            for i, result in zip(rows, results):
                sequences[i] = [list(s) for s in result.sequences_ids]
                scores[i] = list(result.scores)
        return sequences, scores
