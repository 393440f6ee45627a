"""What every built-in decoder shares: its model options, lazy loading, the model's generation
settings and the generate() entry point."""

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import torch

from engine.errors import OptionError
from engine.kinds.decoder import DecodingTrace, GenerationResult
from plugins.decoders.generation_settings import GenerationValues, token_list
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.prompts import prompt_ids
from plugins.decoders.scoring import ScoreRules


def at_least(bound: int) -> Any:
    """An attrs validator: an integer option, when given, must be `bound` or more."""

    def check(instance: Any, attribute: Any, value: int | None) -> None:
        if value is not None and value < bound:
            raise OptionError(f"{getattr(attribute, 'name', attribute)} must be {bound} or more, got {value!r}")

    return check


def positive(instance: Any, attribute: Any, value: float | None) -> None:
    """An attrs validator: a number option, when given, must be greater than 0."""
    if value is not None and not value > 0:
        raise OptionError(f"{getattr(attribute, 'name', attribute)} must be greater than 0, got {value!r}")


@attrs.define(kw_only=True, eq=False)
class DecoderBase:
    """A decoder over a transformers model given as a folder, a hub name or a built model object.

    `tokenizer` defaults to the model's folder; without one, prompts must be token ids and results
    carry no texts. `trust_remote_code` runs code shipped with the checkpoint: only set it for
    checkpoints you trust. Nothing is loaded until the first `generate` (or `load`).

    Options left at None follow the model's `generation_config` as `generate` does;
    `generation_overrides` replaces any field of it that decoders read (as `generate(**kwargs)`).
    `pack_weights` runs decoding steps on MKL-packed copies of the float32 CPU weight matrices
    (bit-identical results, steps about 1.5x faster, a second copy of those weights in memory).
    """

    from_config: ClassVar[dict[str, str]] = {"min_new_tokens": "min_new_tokens"}
    """Options that default to a generation-config field: option name -> field name."""

    model: str | os.PathLike[str] | Any
    tokenizer: str | os.PathLike[str] | Any | None = None
    max_new_tokens: int = attrs.field(default=32, validator=at_least(1))
    min_new_tokens: int | None = attrs.field(default=None, validator=at_least(0))
    generation_overrides: dict[str, Any] | None = None
    trust_remote_code: bool = False
    pack_weights: bool = True
    language_model_: LanguageModel | None = attrs.field(default=None, init=False, repr=False)
    values_: GenerationValues | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.min_new_tokens is not None and self.min_new_tokens > self.max_new_tokens:
            raise OptionError(
                f"min_new_tokens ({self.min_new_tokens}) is more than max_new_tokens ({self.max_new_tokens})"
            )
        twice = [f"{option} (generation_overrides {field!r})" for option, field in self.from_config.items()
                 if getattr(self, option) is not None and field in (self.generation_overrides or {})]
        if twice:
            raise OptionError(f"{', '.join(twice)} given twice; give each setting once")

    def load(self) -> "DecoderBase":
        """Load the model and tokenizer now (generate does it on first use); returns self."""
        if self.language_model_ is None:
            lm = LanguageModel.load(self.model, self.tokenizer, trust_remote_code=self.trust_remote_code,
                                    pack_weights=self.pack_weights)
            self.values_ = GenerationValues(lm.model, self.generation_overrides)
            self.language_model_ = lm
            self.rules()
        return self

    def option(self, name: str) -> Any:
        """An option's value: as given, else the model's generation config's (after load)."""
        value = getattr(self, name)
        field = self.from_config.get(name)
        if field is None or self.values_ is None:
            return value
        return self.values_.pick(field, value)

    def generate(self, prompts: str | Sequence[Any], *, trace: bool = False) -> GenerationResult:
        """Continue one prompt or a batch (strings, token ids or a tokenizer's output); `trace` records every step."""
        lm = self.load().language_model_
        ids = prompt_ids(prompts, lm.tokenizer, lm.vocab_size)
        lm.check_length(ids, self.max_new_tokens)
        steps: list[Any] | None = [] if trace else None
        with torch.inference_mode():
            sequences, scores = self._search(lm, ids, steps)
        texts = None if lm.tokenizer is None else [[lm.decode(s) for s in row] for row in sequences]
        recorded = None if steps is None else DecodingTrace(self.name, self.settings(), steps)
        return GenerationResult(sequences, texts, scores, recorded)

    @property
    def name(self) -> str:
        """The registered name of the decoder, for traces."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """The decoding options that shape results, as used (model objects left out), for traces."""
        skip = {"model", "tokenizer", "trust_remote_code", "pack_weights", "language_model_", "values_"}
        return {f.name: self.option(f.name) for f in attrs.fields(type(self)) if f.name not in skip}

    def rules(self) -> ScoreRules:
        """The scoring rules of `generate`'s greedy search, from the options and the generation config."""
        values, lm = self.values_, self.language_model_
        eos = token_list(values.set_by_model("eos_token_id")) or tuple(lm.eos_ids)
        rules = ScoreRules(
            max_new_tokens=self.max_new_tokens,
            eos_ids=eos,
            on_logits=True,
            repetition_penalty=float(self.setting("repetition_penalty")),
            no_repeat_ngram_size=int(self.setting("no_repeat_ngram_size")),
            bad_words_ids=tuple(token_list(word) for word in values["bad_words_ids"] or ()),
            min_length=int(values["min_length"]),
            min_new_tokens=self.option("min_new_tokens"),
            forced_bos_token_id=values["forced_bos_token_id"],
            forced_eos_token_id=token_list(values["forced_eos_token_id"]),
            suppress_tokens=token_list(values["suppress_tokens"]),
            begin_suppress_tokens=token_list(values["begin_suppress_tokens"]),
        )
        _check_rules(rules, lm.vocab_size)
        return rules

    def setting(self, field: str) -> Any:
        """A generation-config field's value, through the option that stands for it when there is one."""
        option = next((o for o, f in self.from_config.items() if f == field), None)
        return self.option(option) if option is not None else self.values_[field]

    def _search(
        self, lm: LanguageModel, prompts: list[list[int]], steps: list[Any] | None
    ) -> tuple[list[list[list[int]]], list[list[float]]]:
        raise NotImplementedError


def _check_rules(rules: ScoreRules, vocab_size: int) -> None:
    """Token ids of the generation settings must be in the vocabulary and penalties in range."""
    named = {
        "eos_token_id": rules.eos_ids,
        "forced_bos_token_id": () if rules.forced_bos_token_id is None else (rules.forced_bos_token_id,),
        "forced_eos_token_id": rules.forced_eos_token_id,
        "suppress_tokens": rules.suppress_tokens,
        "begin_suppress_tokens": rules.begin_suppress_tokens,
        "bad_words_ids": tuple(t for word in rules.bad_words_ids for t in word),
    }
    for field, ids in named.items():
        bad = [t for t in ids if not 0 <= t < vocab_size]
        if bad:
            raise OptionError(f"{field} has ids {bad[:5]} outside the vocabulary (0..{vocab_size - 1}); "
                              "fix the model's generation_config or give generation_overrides")
    if any(not word for word in rules.bad_words_ids):
        raise OptionError("bad_words_ids holds an empty word; give each word as a non-empty list of ids")
    positive(None, "repetition_penalty", rules.repetition_penalty)
    at_least(0)(None, "no_repeat_ngram_size", rules.no_repeat_ngram_size)


def cut_at_eos(tokens: Sequence[int], eos_ids: Sequence[int]) -> list[int]:
    """Generated ids up to and including the first EOS."""
    out = []
    for t in tokens:
        out.append(int(t))
        if t in eos_ids:
            break
    return out

