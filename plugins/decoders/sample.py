"""`sample`: seeded sampling with temperature, top-k, top-p and min-p, filtered as transformers filters."""

from typing import Any, ClassVar

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

    `temperature`, `top_k`, `top_p` and `min_p` left at None follow the model's generation config,
    else transformers' defaults (1.0, 50, 1.0, none), as `generate(do_sample=True)` does. With a
    `seed` the draws are repeatable and equal `generate(do_sample=True)` after
    `torch.manual_seed(seed)`. A row's score is the sum of its tokens' tempered log-probabilities.
    """

    from_config: ClassVar[dict[str, str]] = {
        **DecoderBase.from_config, "temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "min_p": "min_p",
    }

    temperature: float | None = attrs.field(default=None, validator=positive)
    top_k: int | None = attrs.field(default=None, validator=at_least(0))
    top_p: float | None = None
    min_p: float | None = None
    seed: int | None = None
    stop_strings: list[str] | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        _check_filters(self.top_p, self.min_p)

    @property
    def name(self) -> str:
        return "sample"

    def rules(self) -> ScoreRules:
        temperature = self.option("temperature")
        positive(None, "temperature", temperature)
        at_least(0)(None, "top_k", self.option("top_k"))
        _check_filters(self.option("top_p"), self.option("min_p"))
        return attrs.evolve(super().rules(), temperature=float(temperature))

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        generator = torch.Generator(device=lm.device)
        if self.seed is None:
            generator.seed()
        else:
            generator.manual_seed(self.seed)

        def draw(scores: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(self.filtered(scores), dim=-1)
            return torch.multinomial(probs, 1, generator=generator)[:, 0]

        return extend(lm, prompts, self.rules(), draw, stop_strings=self.stop_strings or (), steps=steps)

    def filtered(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores with the tokens outside top_k, top_p and min_p set to -inf (at least one token kept)."""
        top_k, top_p, min_p = self.option("top_k"), self.option("top_p"), self.option("min_p")
        if top_k:
            kth = scores.topk(min(top_k, scores.shape[-1]), dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth, -float("inf"))
        if top_p < 1.0:
            ordered, order = scores.sort(dim=-1)
            drop = ordered.softmax(dim=-1).cumsum(dim=-1) <= 1 - top_p
            drop[..., -1:] = False
            scores = scores.masked_fill(drop.scatter(1, order, drop), -float("inf"))
        if min_p is not None:
            probs = scores.softmax(dim=-1)
            drop = probs < min_p * probs.amax(dim=-1, keepdim=True)
            drop.scatter_(1, probs.argmax(dim=-1, keepdim=True), False)
            scores = scores.masked_fill(drop, -float("inf"))
        return scores


def _check_filters(top_p: float | None, min_p: float | None) -> None:
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise OptionError(f"top_p must be in (0, 1], got {top_p!r}")
    if min_p is not None and not 0.0 <= min_p <= 1.0:
        raise OptionError(f"min_p must be in [0, 1], got {min_p!r}")
