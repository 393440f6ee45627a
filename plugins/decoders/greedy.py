"""`greedy`: the most likely token at every step, with the KV cache."""

from typing import Any

import attrs

from engine.kinds.decoder import TraceStep
from plugins.decoders.base import DecoderBase
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules
from plugins.decoders.stepwise import extend


@attrs.define(kw_only=True, eq=False)
class GreedyDecoder(DecoderBase):
    """Argmax decoding until EOS, a stop string or `max_new_tokens`; token-identical to `generate(do_sample=False)`.

    A row's score is the sum of its tokens' log-probabilities. `stop_strings` end a row once its
    generated text contains one of them (the stop string stays in the text).
    """

    stop_strings: list[str] | None = None

    @property
    def name(self) -> str:
        return "greedy"

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        rules = ScoreRules(min_new_tokens=self.min_new_tokens)
        return extend(
            lm, prompts, rules, lambda scores: scores.argmax(dim=-1),
            max_new_tokens=self.max_new_tokens, stop_strings=self.stop_strings or (), steps=steps,
        )
