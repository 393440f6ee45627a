"""Decoder plugins that run a transformers model converted to CTranslate2: registration records only."""

from __future__ import annotations

from engine import Registration, hookimpl

_REQUIRES = ("ctranslate2", "transformers", "torch")


@hookimpl
def register_decoders() -> list[Registration]:
    return [
        Registration(
            kind="decoder",
            name="ct2-greedy",
            factory="hookyard_ctranslate2.decoders:CT2Greedy",
            summary="greedy search in CTranslate2 (float32, int8 or int8_float32), the model converted once and cached",
            requires=_REQUIRES,
        ),
        Registration(
            kind="decoder",
            name="ct2-beam",
            factory="hookyard_ctranslate2.decoders:CT2Beam",
            summary="beam search in CTranslate2 with length_penalty, num_return_sequences and repetition rules",
            requires=_REQUIRES,
        ),
        Registration(
            kind="decoder",
            name="ct2-sample",
            factory="hookyard_ctranslate2.decoders:CT2Sample",
            summary="seeded sampling in CTranslate2 with temperature, top_k and top_p",
            requires=_REQUIRES,
        ),
    ]
