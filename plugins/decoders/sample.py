"""`sample`: seeded sampling with temperature, top-k, top-p and min-p, filtered as transformers filters."""

from typing import Any

import attrs
import torch

from engine.errors import OptionError
from engine.kinds.decoder import TraceStep
from plugins.decoders.base import DecoderBase, at_least, positive
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules
from plugins.decoders.stepwise import extend


@attrs.define(kw_only=True, eq=False)
class SampleDecoder(DecoderBase):
    """Draws each token from the tempered distribution, cut to the top_k, top_p and min_p tokens.

    With a `seed` the draws are repeatable and equal `generate(do_sample=True)` after
    `torch.manual_seed(seed)`. A row's score is the sum of its tokens' tempered log-probabilities.
    """

    temperature: float = attrs.field(default=1.0, validator=positive)
    top_k: int = attrs.field(default=0, validator=at_least(0))
    top_p: float = 1.0
    min_p: float | None = None
    seed: int | None = None
    stop_strings: list[str] | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if not 0.0 < self.top_p <= 1.0:
            raise OptionError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if self.min_p is not None and not 0.0 <= self.min_p <= 1.0:
            raise OptionError(f"min_p must be in [0, 1], got {self.min_p!r}")

    @property
    def name(self) -> str:
        return "sample"

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        generator = torch.Generator(device=lm.device)
        if self.seed is None:
            generator.seed()
        else:
            generator.manual_seed(self.seed)

        def draw(scores: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(self.filtered(scores), dim=-1)
            return torch.multinomial(probs, 1, generator=generator)[:, 0]

        rules = ScoreRules(temperature=self.temperature, min_new_tokens=self.min_new_tokens)
        return extend(
            lm, prompts, rules, draw,
            max_new_tokens=self.max_new_tokens, stop_strings=self.stop_strings or (), steps=steps,
        )

    def filtered(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores with the tokens outside top_k, top_p and min_p set to -inf (at least one token kept)."""
        if self.top_k:
            kth = scores.topk(min(self.top_k, scores.shape[-1]), dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth, -float("inf"))
        if self.top_p < 1.0:
            ordered, order = scores.sort(dim=-1)
            drop = ordered.softmax(dim=-1).cumsum(dim=-1) <= 1 - self.top_p
            drop[..., -1:] = False
            scores = scores.masked_fill(drop.scatter(1, order, drop), -float("inf"))
        if self.min_p is not None:
            probs = scores.softmax(dim=-1)
            drop = probs < self.min_p * probs.amax(dim=-1, keepdim=True)
            drop.scatter_(1, probs.argmax(dim=-1, keepdim=True), False)
            scores = scores.masked_fill(drop, -float("inf"))
        return scores
