"""A decoder without a neural model: the next-token scores come from the prompt's own bigram
counts over bytes, and decoding takes the most likely token each step (greedy search).

Replace `_next_scores` with a language model's log-probabilities to make it a real decoder; the
batching, the result records and the trace stay as they are.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from engine import DataError
from engine.kinds.decoder import DecodingTrace, GenerationResult, TraceCandidate, TraceStep


class ExampleDecoder:
    """Greedy decoding of `max_new_tokens` byte tokens per prompt (a string, or byte token ids)."""

    def __init__(self, max_new_tokens: int = 8) -> None:
        self.max_new_tokens = max_new_tokens

    def generate(self, prompts: str | Sequence[Any], *, trace: bool = False) -> GenerationResult:
        """One sequence per prompt, with its mean log-probability as score; `trace` records each step."""
        batch = [prompts] if isinstance(prompts, str) or _is_ids(prompts) else list(prompts)
        encoded = [_encode(p, i) for i, p in enumerate(batch)]
        ids, texts, scores, steps = [], [], [], []
        for index, prompt in enumerate(encoded):
            tokens, log_probs = list(prompt), []
            for step in range(self.max_new_tokens):
                token, log_prob = max(_next_scores(tokens).items(), key=lambda item: (item[1], -item[0]))
                tokens.append(token)
                log_probs.append(log_prob)
                text = _decode(tokens[len(prompt):])
                steps.append(TraceStep(step, index, [
                    TraceCandidate(0, token, _decode([token]), log_prob, sum(log_probs), "kept", text)]))
            generated = tokens[len(prompt):]
            ids.append([generated])
            texts.append([_decode(generated)])
            scores.append([sum(log_probs) / len(log_probs)])
        settings = {"max_new_tokens": self.max_new_tokens}
        return GenerationResult(ids, texts, scores, DecodingTrace("example", settings, steps) if trace else None)


def _is_ids(prompt: Any) -> bool:
    return isinstance(prompt, (list, tuple)) and bool(prompt) and all(isinstance(t, int) for t in prompt)


def _encode(prompt: Any, index: int) -> list[int]:
    tokens = list(prompt.encode("utf-8")) if isinstance(prompt, str) else list(prompt)
    if not tokens:
        raise DataError(f"prompt {index} is empty; give every prompt at least one token")
    if not all(isinstance(t, int) and 0 <= t < 256 for t in tokens):
        raise DataError(f"prompt {index} must be a string or byte token ids (0-255)")
    return tokens


def _decode(tokens: Sequence[int]) -> str:
    return bytes(tokens).decode("utf-8", errors="replace")


def _next_scores(tokens: Sequence[int]) -> dict[int, float]:
    """Log-probabilities of the next token: how often each token followed the last one so far."""
    following = Counter(b for a, b in zip(tokens, tokens[1:]) if a == tokens[-1]) or Counter(tokens)
    total = sum(following.values())
    return {token: math.log(count / total) for token, count in following.items()}
