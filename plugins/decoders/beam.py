"""`beam` and `penalty`: beam search with temperature, and with the seed article's repeated-token decay."""

from typing import Any, ClassVar

import attrs

from engine.errors import OptionError
from engine.kinds.decoder import TraceStep
from plugins.decoders.base import DecoderBase, at_least, positive
from plugins.decoders.beam_search import BeamSettings, EarlyStopping, beam_search
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules
from plugins.decoders.stepwise import extend

DEFAULT_BEAM_WIDTH = 4
"""The beam width when neither the option nor the model's generation config asks for more than one beam."""


@attrs.define(kw_only=True, eq=False)
class BeamDecoder(DecoderBase):
    """Beam search over batch x beam_width rows, one forward pass per step; transformers' scoring.

    `temperature` divides the logits before the softmax, so that at T > 1 a run of fairly likely
    tokens can outscore one very likely token (transformers' `generate` ignores temperature when
    not sampling). `beam_width` is transformers' `num_beams`; left at None it is the model's
    `num_beams` when that is more than 1, else 4. `length_penalty`, `early_stopping` and
    `num_return_sequences` left at None follow the generation config. With one beam this is
    `generate(num_beams=1)`: greedy search, scored sum(log p) / length ** length_penalty.

    `batch_size` decodes that many prompts at once. On a decoder-only model a prompt that is done
    hands its rows to the next waiting prompt (continuous batching), so no row idles until the
    longest search ends; each prompt's results are those of decoding it alone. Rules that read a
    row's step or history (min_new_tokens, forced or begin-suppressed tokens, repetition rules,
    bad words, the decay) cannot be shared by rows at different steps and are refused with it. An
    encoder-decoder model, or one beam, decodes `batch_size` prompts after another.
    """

    from_config: ClassVar[dict[str, str]] = {
        **DecoderBase.from_config, "beam_width": "num_beams", "length_penalty": "length_penalty",
        "early_stopping": "early_stopping", "num_return_sequences": "num_return_sequences",
    }

    beam_width: int | None = attrs.field(default=None, validator=at_least(1))
    temperature: float = attrs.field(default=1.0, validator=positive)
    length_penalty: float | None = None
    early_stopping: EarlyStopping | None = None
    num_return_sequences: int | None = attrs.field(default=None, validator=at_least(1))
    batch_size: int | None = attrs.field(default=None, validator=at_least(1))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        _check_beams(self.early_stopping, self.num_return_sequences, self.beam_width)

    @property
    def name(self) -> str:
        return "beam"

    def option(self, name: str) -> Any:
        if name == "beam_width" and self.beam_width is None and self.values_ is not None:
            asked = self.values_.set_by_model("num_beams")
            return asked if asked is not None and asked > 1 else DEFAULT_BEAM_WIDTH
        return super().option(name)

    def rules(self) -> ScoreRules:
        """How this decoder turns logits into the scores it ranks by."""
        width = self.option("beam_width")
        _check_beams(self.option("early_stopping"), self.option("num_return_sequences"), width)
        return attrs.evolve(super().rules(), on_logits=width == 1, temperature=self.temperature)

    def _search(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        width, penalty = self.option("beam_width"), float(self.option("length_penalty"))
        if self.batch_size is not None and (width == 1 or lm.is_encoder_decoder) and len(prompts) > self.batch_size:
            return self._one_batch_after_another(lm, prompts, steps)
        if width == 1:
            sequences, totals = extend(lm, prompts, self.rules(), lambda scores: scores.argmax(dim=-1), steps=steps)
            scores = [[total / len(seq) ** penalty for seq, total in zip(row, sums)] for row, sums in zip(sequences, totals)]
            return sequences, scores
        settings = BeamSettings(
            beam_width=width,
            length_penalty=penalty,
            early_stopping=self.option("early_stopping"),
            num_return_sequences=self.option("num_return_sequences"),
        )
        return beam_search(lm, prompts, self.rules(), settings, steps, self.batch_size)


    def _one_batch_after_another(self, lm: LanguageModel, prompts: list[list[int]], steps: list[TraceStep] | None) -> Any:
        sequences: list[Any] = []
        scores: list[Any] = []
        for first in range(0, len(prompts), self.batch_size):
            recorded = None if steps is None else []
            part = self._search(lm, prompts[first: first + self.batch_size], recorded)
            sequences += part[0]
            scores += part[1]
            if steps is not None:
                steps += [attrs.evolve(step, prompt=step.prompt + first) for step in recorded]
        return sequences, scores


def _check_beams(early_stopping: Any, num_return_sequences: int | None, beam_width: int | None) -> None:
    if early_stopping not in (True, False, "never", None):
        raise OptionError(f"early_stopping must be True, False or 'never', got {early_stopping!r}")
    if num_return_sequences is not None and beam_width is not None and num_return_sequences > beam_width:
        raise OptionError(
            f"num_return_sequences ({num_return_sequences}) cannot exceed beam_width ({beam_width}); "
            "raise beam_width or return fewer sequences"
        )


@attrs.define(kw_only=True, eq=False)
class PenaltyDecoder(BeamDecoder):
    """Beam search that discourages repetition.

    `decay_repeated` applies the seed article's rule: a token already generated `count` times has
    its log-probability multiplied by 1 + log(count + 1) (it becomes more negative). Besides it,
    transformers' `repetition_penalty` (x penalty on the log-probability of any token already in
    the sequence, prompt included; on the raw logits with one beam, as `generate`'s greedy search)
    and `no_repeat_ngram_size` (no n-gram twice); left at None, both follow the generation config.
    """

    from_config: ClassVar[dict[str, str]] = {
        **BeamDecoder.from_config, "repetition_penalty": "repetition_penalty",
        "no_repeat_ngram_size": "no_repeat_ngram_size",
    }

    decay_repeated: bool = True
    repetition_penalty: float | None = attrs.field(default=None, validator=positive)
    no_repeat_ngram_size: int | None = attrs.field(default=None, validator=at_least(0))

    @property
    def name(self) -> str:
        return "penalty"

    def rules(self) -> ScoreRules:
        return attrs.evolve(super().rules(), decay_repeated=self.decay_repeated)
