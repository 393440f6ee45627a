"""`greedy`: the most likely token at every step, with the KV cache."""

from typing import Any

import attrs

from engine.kinds.decoder import TraceStep
from plugins.decoders.base import DecoderBase
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.stepwise import extend


@attrs.define(kw_only=True, eq=False)
class GreedyDecoder(DecoderBase):
    """Argmax decoding until EOS, a stop string or `max_new_tokens`; token-identical to `generate(do_sample=False)`.

    The model's generation config applies as in `generate`'s greedy search (forced and suppressed
    tokens, bad words, repetition_penalty and no_repeat_ngram_size on the raw logits). A row's score
    is the sum of its tokens' log-probabilities after those rules. `stop_strings` end a row once its
    generated text contains one of them (the stop string stays in the text).
    """

    stop_strings: list[str] | None = None

    @property
    def name(self) -> str:
        return "greedy"

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        return extend(lm, prompts, self.rules(), lambda scores: scores.argmax(dim=-1),
                      stop_strings=self.stop_strings or (), steps=steps)
