"""Built-in decoder plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl

_REQUIRES = ("torch", "transformers")


@hookimpl
def register_decoders() -> list[Registration]:
    return [
        Registration(
            kind="decoder",
            name="greedy",
            aliases=("argmax",),
            factory="plugins.decoders.greedy:GreedyDecoder",
            summary="the most likely token at each step, with the KV cache; stop strings and min_new_tokens",
            requires=_REQUIRES,
            extra="decoders",
        ),
        Registration(
            kind="decoder",
            name="beam",
            aliases=("beam-search",),
            factory="plugins.decoders.beam:BeamDecoder",
            summary="batched beam search with temperature, length_penalty and early_stopping, scored as transformers does",
            requires=_REQUIRES,
            extra="decoders",
        ),
        Registration(
            kind="decoder",
            name="penalty",
            aliases=("beam-penalty",),
            factory="plugins.decoders.beam:PenaltyDecoder",
            summary="beam search with the seed article's repeated-token decay, repetition_penalty and no_repeat_ngram_size",
            requires=_REQUIRES,
            extra="decoders",
        ),
        Registration(
            kind="decoder",
            name="sample",
            aliases=("sampling",),
            factory="plugins.decoders.sample:SampleDecoder",
            summary="seeded sampling with temperature, top_k, top_p and min_p",
            requires=_REQUIRES,
            extra="decoders",
        ),
    ]
