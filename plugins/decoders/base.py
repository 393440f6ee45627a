"""What every built-in decoder shares: its model options, lazy loading and the generate() entry point."""

import os
from collections.abc import Sequence
from typing import Any

import attrs
import torch

from engine.errors import DataError, OptionError
from engine.kinds.decoder import DecodingTrace, GenerationResult
from plugins.decoders.language_model import LanguageModel


def at_least(bound: int) -> Any:
    """An attrs validator: an integer option must be `bound` or more."""

    def check(instance: Any, attribute: attrs.Attribute, value: int) -> None:
        if value < bound:
            raise OptionError(f"{attribute.name} must be {bound} or more, got {value!r}")

    return check


def positive(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    """An attrs validator: a number option must be greater than 0."""
    if not value > 0:
        raise OptionError(f"{attribute.name} must be greater than 0, got {value!r}")


@attrs.define(kw_only=True, eq=False)
class DecoderBase:
    """A decoder over a transformers model given as a folder, a hub name or a built model object.

    `tokenizer` defaults to the model's folder; without one, prompts must be token ids and results
    carry no texts. `trust_remote_code` runs code shipped with the checkpoint: only set it for
    checkpoints you trust. Nothing is loaded until the first `generate` (or `load`).
    """

    model: str | os.PathLike[str] | Any
    tokenizer: str | os.PathLike[str] | Any | None = None
    max_new_tokens: int = attrs.field(default=32, validator=at_least(1))
    min_new_tokens: int = attrs.field(default=0, validator=at_least(0))
    trust_remote_code: bool = False
    language_model_: LanguageModel | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.min_new_tokens > self.max_new_tokens:
            raise OptionError(
                f"min_new_tokens ({self.min_new_tokens}) is more than max_new_tokens ({self.max_new_tokens})"
            )

    def load(self) -> "DecoderBase":
        """Load the model and tokenizer now (generate does it on first use); returns self."""
        if self.language_model_ is None:
            self.language_model_ = LanguageModel.load(
                self.model, self.tokenizer, trust_remote_code=self.trust_remote_code
            )
        return self

    def generate(self, prompts: str | Sequence[Any], *, trace: bool = False) -> GenerationResult:
        """Continue one prompt or a batch (strings or token ids); `trace` records every step's candidates."""
        lm = self.load().language_model_
        batch = _as_batch(prompts)
        ids = [lm.token_ids(p, i) for i, p in enumerate(batch)]
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
        """The decoding options that shape results (model objects left out), for traces."""
        skip = {"model", "tokenizer", "trust_remote_code", "language_model_"}
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.name not in skip}

    def _search(
        self, lm: LanguageModel, prompts: list[list[int]], steps: list[Any] | None
    ) -> tuple[list[list[list[int]]], list[list[float]]]:
        raise NotImplementedError


def _as_batch(prompts: Any) -> list[Any]:
    """One prompt (a string or a flat list of ids) becomes a batch of one."""
    if isinstance(prompts, str):
        return [prompts]
    if hasattr(prompts, "tolist"):
        prompts = prompts.tolist()
    prompts = list(prompts)
    if prompts and all(isinstance(p, int) and not isinstance(p, bool) for p in prompts):
        return [prompts]
    if not prompts:
        raise DataError("no prompts were given; pass a string, a list of token ids, or a list of either")
    return prompts


def cut_at_eos(tokens: Sequence[int], eos_ids: Sequence[int]) -> list[int]:
    """Generated ids up to and including the first EOS."""
    out = []
    for t in tokens:
        out.append(int(t))
        if t in eos_ids:
            break
    return out
