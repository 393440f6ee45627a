"""A transformers language model and tokenizer with the forward passes decoding needs.

Loads with `from_pretrained` (a local folder or a hub name) or wraps built objects; encodes a
batch of prompts (left padding for decoder-only models, right padding for encoder-decoder ones);
prefills once; then advances every row one token with the KV cache, which beams reorder or
expand but never recompute.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import attrs
import torch

from engine.errors import DataError, StateError
from plugins.decoders.packed_weights import pack, packed


def load_model(model: Any, *, trust_remote_code: bool = False) -> Any:
    """A transformers model with a language-model head, from a path or hub name, or as given."""
    if isinstance(model, (str, os.PathLike)):
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

        try:
            config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"could not load a model configuration from {str(model)!r}: {exc}. Give a folder written "
                "with save_pretrained, a hub name, or a built transformers model."
            ) from exc
        _require_lm_architecture(config, str(model))
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        try:
            model = auto.from_pretrained(model, config=config, trust_remote_code=trust_remote_code)
        except ValueError as exc:
            raise DataError(
                f"{str(model)!r} holds a {type(config).__name__} model without a language-model head "
                f"that transformers can generate with: {exc}"
            ) from exc
    if not callable(getattr(model, "get_output_embeddings", None)) or model.get_output_embeddings() is None:
        raise DataError(
            f"a {type(model).__name__} has no language-model head, so it gives no next-token scores; "
            "use its ...LMHeadModel / ...ForCausalLM / ...ForConditionalGeneration class"
        )
    return model.eval()


def _require_lm_architecture(config: Any, where: str) -> None:
    """Refuse a checkpoint saved from a headless model, which Auto classes would fill with random weights."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    )

    architectures = getattr(config, "architectures", None) or []
    with_head = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values()) | set(MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES.values())
    if architectures and not with_head.intersection(architectures):
        raise DataError(
            f"{where!r} holds a {', '.join(architectures)}, which has no language-model head; "
            "save and load the model's LM-head class (for example GPT2LMHeadModel or T5ForConditionalGeneration)"
        )


def load_tokenizer(tokenizer: Any, model: Any, *, trust_remote_code: bool = False) -> Any:
    """The tokenizer as given, from its own path, or from the model's folder; None when there is none."""
    source = tokenizer if tokenizer is not None else model
    if not isinstance(source, (str, os.PathLike)):
        return tokenizer
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        if tokenizer is None:
            return None
        raise DataError(f"could not load a tokenizer from {str(source)!r}: {exc}") from exc


def _ids(value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


@attrs.define
class Rows:
    """Per-row decoding state: the KV cache and what each row's next forward pass needs.

    `history` holds, per row, what transformers' `generate` calls input_ids: the padded prompt for
    a decoder-only model or the decoder start token for an encoder-decoder one, then the generated
    tokens; `prompt_length` is its length before generation; `pad_left` each row's left padding.
    """

    cache: Any
    history: torch.Tensor
    prompt_length: int
    pad_left: torch.Tensor
    attention_mask: torch.Tensor | None
    positions: torch.Tensor | None
    encoder: dict[str, Any]

    @property
    def generated(self) -> torch.Tensor:
        """The tokens generated so far, one row per sequence."""
        return self.history[:, self.prompt_length:]

    def expand(self, times: int, new_tokens: int) -> None:
        """Repeat every row `times` times (row i becomes rows i*times .. i*times+times-1), the cache
        made ready for `new_tokens` more positions and cheap beam reorders."""
        from plugins.decoders.kv_buffers import expand_for_beams

        rows = torch.arange(self.history.shape[0], device=self.history.device).repeat_interleave(times)
        expand_for_beams(self.cache, rows, new_tokens)
        self.history = self.history[rows]
        self.pad_left = self.pad_left[rows]
        if self.attention_mask is not None:
            self.attention_mask = self.attention_mask[rows]
        if self.positions is not None:
            self.positions = self.positions[rows]
        self.encoder = {k: _take_rows(v, rows) for k, v in self.encoder.items()}

    def reorder_beams(self, rows: torch.Tensor) -> None:
        """Let row i continue from row `rows[i]`, a row of the same prompt after `expand`.

        Only what differs between one prompt's beams moves: the generated tokens and the
        self-attention cache (padding, positions, encoder states and cross-attention are shared).
        """
        from plugins.decoders.kv_buffers import self_attention

        self_attention(self.cache).reorder_cache(rows)
        self.history = self.history[rows]

    def buffered_layers(self) -> list[Any]:
        """The self-attention cache layers as BufferedLayers (after `expand`); a StateError if any is not one."""
        from plugins.decoders.kv_buffers import BufferedLayer, self_attention

        layers = list(getattr(self_attention(self.cache), "layers", None) or [])
        if not layers or any(type(layer) is not BufferedLayer for layer in layers):
            raise StateError("this model's cache (sliding-window, static or quantised layers) cannot take in "
                             "new prompts mid-search; leave batch_size unset for it")
        return layers

    def relayout(self, drop: int, front: int, fill: int) -> None:
        """Drop the first `drop` positions of every row and put `front` masked ones (history `fill`) before the rest."""
        for layer in self.buffered_layers():
            layer.relayout(drop, front)
        kept = slice(drop, None)
        self.attention_mask = torch.cat([self.attention_mask.new_zeros((len(self.history), front)),
                                         self.attention_mask[:, kept]], dim=1)
        self.history = torch.cat([self.history.new_full((len(self.history), front), fill),
                                  self.history[:, kept]], dim=1)
        self.pad_left = (self.pad_left - drop).clamp(min=0) + front

    def make_room(self) -> None:
        """Before a step: drop the leading positions no row attends to once they are an eighth of the
        filled part (every step then attends to and reorders fewer), and always when the buffers are full."""
        layers = self.buffered_layers()
        length, full = layers[0].get_seq_length(), layers[0].get_seq_length() >= layers[0].get_max_length()
        self.keep_mask()
        unused = int(torch.nonzero(self.attention_mask.any(dim=0))[0, 0])
        if full and unused == 0:
            raise StateError("the KV buffers are full of positions in use; this is a bug in the decoders")
        if full or unused * 8 >= length:
            self.relayout(unused, 0, 0)

    def keep_mask(self) -> None:
        """Hold an attention mask from now on (all ones where there was none), as rows of different starts need."""
        if self.attention_mask is None:
            self.attention_mask = self.history.new_ones(self.history.shape)

    def admit(self, targets: torch.Tensor, fresh: Rows, fill: int) -> None:
        """Start the prefilled rows `fresh` (one prompt length, no padding) in the rows `targets`, their cache
        right-aligned to the filled part and everything before it masked, as left padding is."""
        length = fresh.history.shape[1]
        if length > self.history.shape[1]:
            self.relayout(0, length - self.history.shape[1], fill)
        for layer, new in zip(self.buffered_layers(), self_attention_layers(fresh.cache)):
            layer.place(targets, new.keys, new.values)
        start = self.history.shape[1] - length
        self.attention_mask[targets] = 0
        self.attention_mask[targets, start:] = 1
        self.history[targets] = fill
        self.history[targets, start:] = fresh.history
        self.pad_left[targets] = start
        self.positions[targets] = fresh.positions


def self_attention_layers(cache: Any) -> list[Any]:
    """The layers of a cache's self-attention part."""
    from plugins.decoders.kv_buffers import self_attention

    return list(self_attention(cache).layers)


def _take_rows(value: Any, rows: torch.Tensor) -> Any:
    if isinstance(value, torch.Tensor):
        return value[rows]
    if hasattr(value, "last_hidden_state"):
        return type(value)(last_hidden_state=value.last_hidden_state[rows])
    return value


class LanguageModel:
    """A loaded model and its tokenizer, with prefill and one-token steps over a batch of rows."""

    def __init__(self, model: Any, tokenizer: Any, *, pack_weights: bool = False) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.pack_weights = pack_weights
        self._packed: tuple[int, dict[Any, Any]] | None = None
        config = model.config
        self.is_encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        generation = getattr(model, "generation_config", None)
        self.eos_ids = (
            _ids(getattr(generation, "eos_token_id", None))
            or _ids(getattr(config, "eos_token_id", None))
            or _ids(getattr(tokenizer, "eos_token_id", None))
            or []
        )
        tokenizer_pad = getattr(tokenizer, "pad_token_id", None)
        model_pad = getattr(generation, "pad_token_id", None)
        if model_pad is None:
            model_pad = getattr(config, "pad_token_id", None)
        self.pad_id = next((p for p in (tokenizer_pad, model_pad) if p is not None), self.eos_ids[0] if self.eos_ids else None)
        self.fill_id = next((p for p in (model_pad, tokenizer_pad) if p is not None), self.eos_ids[0] if self.eos_ids else 0)
        self.vocab_size = int(model.get_output_embeddings().weight.shape[0])
        self.context = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
        self.start_id = getattr(generation, "decoder_start_token_id", None)
        if self.start_id is None:
            self.start_id = getattr(config, "decoder_start_token_id", None)
        forward = inspect.signature(model.forward).parameters
        self._cache_argument = "cache" if "cache" in forward else "past_key_values"
        self._last_logits_only = {"logits_to_keep": 1} if "logits_to_keep" in forward else {}
        if self.is_encoder_decoder and self.start_id is None:
            raise DataError("the encoder-decoder model has no decoder_start_token_id in its config; set one")

    @classmethod
    def load(cls, model: Any, tokenizer: Any = None, *, trust_remote_code: bool = False,
             pack_weights: bool = False) -> LanguageModel:
        """Load (or wrap) the model and tokenizer; trust_remote_code only when the caller asks."""
        built = load_model(model, trust_remote_code=trust_remote_code)
        return cls(built, load_tokenizer(tokenizer, model, trust_remote_code=trust_remote_code),
                   pack_weights=pack_weights)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def check_length(self, prompts: Sequence[Sequence[int]], max_new_tokens: int) -> None:
        """The model cannot see past its positions: a decoder-only model's prompt and new tokens must
        fit its context; an encoder-decoder model's input must fit its encoder and the new tokens its
        decoder. Models without a position limit in their config (T5's relative positions) pass."""
        if not self.context:
            return
        for i, ids in enumerate(prompts):
            if self.is_encoder_decoder and len(ids) > self.context:
                raise DataError(
                    f"prompt {i} has {len(ids)} tokens, more than the {self.context} positions of the model's "
                    "encoder. Shorten the prompt (or truncate it with the tokenizer's max_length)."
                )
            if not self.is_encoder_decoder and len(ids) + max_new_tokens > self.context:
                raise DataError(
                    f"prompt {i} has {len(ids)} tokens; with max_new_tokens={max_new_tokens} that exceeds the "
                    f"model's context of {self.context} tokens. Shorten the prompt or lower max_new_tokens."
                )
        if self.is_encoder_decoder and max_new_tokens > self.context:
            raise DataError(
                f"max_new_tokens={max_new_tokens} is more than the {self.context} positions of the model's decoder; "
                "lower max_new_tokens."
            )

    def decode(self, ids: Sequence[int]) -> str | None:
        """Text of generated ids, special tokens left out (None without a tokenizer)."""
        if self.tokenizer is None:
            return None
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def token_text(self, token_id: int) -> str:
        """How one token reads, for traces."""
        if self.tokenizer is None:
            return str(token_id)
        return self.tokenizer.convert_ids_to_tokens(int(token_id))

    def _padded(self, prompts: Sequence[Sequence[int]], *, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(p) for p in prompts)
        if any(len(p) < width for p in prompts) and self.pad_id is None:
            raise DataError(
                "prompts of different lengths need padding, but neither the tokenizer nor the model has a pad "
                "or EOS token; set tokenizer.pad_token (commonly to the EOS token)"
            )
        pad = self.pad_id if self.pad_id is not None else 0
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            span = slice(width - len(p), width) if left else slice(0, len(p))
            ids[i, span] = torch.tensor(p, dtype=torch.long)
            mask[i, span] = 1
        return ids.to(self.device), mask.to(self.device)

    def prefill(self, prompts: Sequence[Sequence[int]]) -> tuple[torch.Tensor, Rows]:
        """Run the prompts once; the next-token logits of every prompt and the rows to continue from."""
        if self.is_encoder_decoder:
            return self._prefill_encoder_decoder(prompts)
        ids, mask = self._padded(prompts, left=True)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        padded = bool((mask == 0).any())
        out = self.model(
            input_ids=ids, attention_mask=mask if padded else None, position_ids=positions, use_cache=True,
            **self._last_logits_only,
        )
        rows = Rows(
            cache=_cache_of(out),
            history=ids,
            prompt_length=ids.shape[1],
            pad_left=(mask == 0).sum(-1),
            attention_mask=mask if padded else None,
            positions=positions[:, -1],
            encoder={},
        )
        return out.logits[:, -1, :].float(), rows

    def _prefill_encoder_decoder(self, prompts: Sequence[Sequence[int]]) -> tuple[torch.Tensor, Rows]:
        ids, mask = self._padded(prompts, left=False)
        encoder_outputs = self.model.get_encoder()(input_ids=ids, attention_mask=mask, return_dict=True)
        start = torch.full((len(prompts), 1), self.start_id, dtype=torch.long, device=self.device)
        out = self.model(
            encoder_outputs=encoder_outputs, attention_mask=mask, decoder_input_ids=start, use_cache=True
        )
        rows = Rows(
            cache=_cache_of(out),
            history=start,
            prompt_length=1,
            pad_left=torch.zeros(len(prompts), dtype=torch.long, device=self.device),
            attention_mask=None,
            positions=None,
            encoder={"encoder_outputs": encoder_outputs, "attention_mask": mask},
        )
        return out.logits[:, -1, :].float(), rows

    def advance(self, rows: Rows, tokens: torch.Tensor) -> torch.Tensor:
        """Append one token to every row and return the next-token logits, reusing the cache."""
        rows.history = torch.cat([rows.history, tokens[:, None]], dim=1)
        with packed(self._packed_for(tokens.shape[0])):
            return self._step(rows, tokens[:, None])

    def refill(self, rows: Rows, targets: torch.Tensor, prompts: Sequence[Sequence[int]], times: int) -> torch.Tensor:
        """Prefill `prompts` (all one length, decoder-only) on their own and start each in `times` rows of
        `targets` (a prompt's rows together); their next-token logits, one row per target."""
        logits, fresh = self.prefill(prompts)
        fresh.history = fresh.history.repeat_interleave(times, dim=0)
        fresh.positions = fresh.positions.repeat_interleave(times, dim=0)
        layers = self_attention_layers(fresh.cache)
        for layer in layers:
            layer.keys, layer.values = (s.repeat_interleave(times, dim=0) for s in (layer.keys, layer.values))
        rows.keep_mask()
        rows.admit(targets, fresh, self.fill_id)
        return logits.repeat_interleave(times, dim=0)

    def _packed_for(self, count: int) -> dict[Any, Any]:
        """The packed layers for steps of `count` rows (none unless pack_weights); one row count kept at a time."""
        if not self.pack_weights:
            return {}
        if self._packed is None or self._packed[0] != count:
            self._packed = None  # the old copy goes before the new one is made
            self._packed = (count, pack(self.model, count))
        return self._packed[1]

    def _step(self, rows: Rows, step: torch.Tensor) -> torch.Tensor:
        if self.is_encoder_decoder:
            out = self.model(decoder_input_ids=step, use_cache=True, **{self._cache_argument: rows.cache}, **rows.encoder)
        else:
            rows.positions = rows.positions + 1
            if rows.attention_mask is not None:
                ones = rows.attention_mask.new_ones((rows.attention_mask.shape[0], 1))
                rows.attention_mask = torch.cat([rows.attention_mask, ones], dim=1)
            out = self.model(
                input_ids=step,
                attention_mask=rows.attention_mask,
                position_ids=rows.positions[:, None],
                use_cache=True,
                **{self._cache_argument: rows.cache},
            )
        rows.cache = _cache_of(out)
        return out.logits[:, -1, :].float()


def _cache_of(output: Any) -> Any:
    """The KV cache of a forward pass (`cache` in transformers 5, `past_key_values` before)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
