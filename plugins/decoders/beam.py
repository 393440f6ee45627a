"""`beam` and `penalty`: beam search with temperature, and with the seed article's repeated-token decay."""

from typing import Any

import attrs

from engine.errors import OptionError
from engine.kinds.decoder import TraceStep
from plugins.decoders.base import DecoderBase, at_least, positive
from plugins.decoders.beam_search import BeamSettings, EarlyStopping, beam_search
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules


@attrs.define(kw_only=True, eq=False)
class BeamDecoder(DecoderBase):
    """Beam search over batch x beam_width rows, one forward pass per step; transformers' scoring.

    `temperature` divides the logits before the softmax, so that at T > 1 a run of fairly likely
    tokens can outscore one very likely token (transformers' `generate` ignores temperature when
    not sampling). `beam_width` is transformers' `num_beams`.
    """

    beam_width: int = attrs.field(default=4, validator=at_least(1))
    temperature: float = attrs.field(default=1.0, validator=positive)
    length_penalty: float = 1.0
    early_stopping: EarlyStopping = attrs.field(default=False)
    num_return_sequences: int = attrs.field(default=1, validator=at_least(1))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.early_stopping not in (True, False, "never"):
            raise OptionError(f"early_stopping must be True, False or 'never', got {self.early_stopping!r}")
        if self.num_return_sequences > self.beam_width:
            raise OptionError(
                f"num_return_sequences ({self.num_return_sequences}) cannot exceed beam_width ({self.beam_width}); "
                "raise beam_width or return fewer sequences"
            )

    @property
    def name(self) -> str:
        return "beam"

    def rules(self) -> ScoreRules:
        """How this decoder turns logits into the scores it ranks by."""
        return ScoreRules(temperature=self.temperature, min_new_tokens=self.min_new_tokens)

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        settings = BeamSettings(
            beam_width=self.beam_width,
            max_new_tokens=self.max_new_tokens,
            length_penalty=self.length_penalty,
            early_stopping=self.early_stopping,
            num_return_sequences=self.num_return_sequences,
        )
        return beam_search(lm, prompts, self.rules(), settings, steps)


@attrs.define(kw_only=True, eq=False)
class PenaltyDecoder(BeamDecoder):
    """Beam search that discourages repetition.

    `decay_repeated` applies the seed article's rule: a token already generated `count` times has
    its log-probability multiplied by 1 + log(count + 1) (it becomes more negative). Besides it,
    transformers' `repetition_penalty` (x penalty on the log-probability of any token already in
    the sequence, prompt included) and `no_repeat_ngram_size` (no n-gram twice).
    """

    decay_repeated: bool = True
    repetition_penalty: float = attrs.field(default=1.0, validator=positive)
    no_repeat_ngram_size: int = attrs.field(default=0, validator=at_least(0))

    @property
    def name(self) -> str:
        return "penalty"

    def rules(self) -> ScoreRules:
        return ScoreRules(
            temperature=self.temperature,
            min_new_tokens=self.min_new_tokens,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            decay_repeated=self.decay_repeated,
        )
