"""Next-token scores: logits to log-probabilities, then temperature, penalties and bans.

The order is fixed: log_softmax(logits / temperature), then `min_new_tokens` (EOS banned),
transformers' `repetition_penalty` and `no_repeat_ngram_size` (on log-probabilities, as
`generate` applies them in beam search), and last the seed article's decay of repeated tokens.
"""

from __future__ import annotations

import attrs
import torch

from plugins.decoders.language_model import Rows


@attrs.frozen
class ScoreRules:
    """How raw logits become the scores a search ranks by."""

    temperature: float = 1.0
    min_new_tokens: int = 0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    decay_repeated: bool = False

    def log_probs(self, logits: torch.Tensor, rows: Rows, eos_ids: list[int]) -> torch.Tensor:
        """Scores of every next token for every row: (rows, vocab) log-probabilities after the rules."""
        scaled = logits if self.temperature == 1.0 else logits / self.temperature
        scores = torch.log_softmax(scaled, dim=-1)
        if self.repetition_penalty != 1.0:
            scores = repetition_penalty(scores, rows, self.repetition_penalty)
        if self.no_repeat_ngram_size > 0:
            scores = ban_repeated_ngrams(scores, rows.history, self.no_repeat_ngram_size)
        if eos_ids and rows.generated.shape[1] < self.min_new_tokens:
            scores[:, eos_ids] = -float("inf")
        if self.decay_repeated:
            scores = decay_repeated(scores, rows.generated)
        return scores


def repetition_penalty(scores: torch.Tensor, rows: Rows, penalty: float) -> torch.Tensor:
    """transformers' rule: a token already in the row (prompt padding aside) scores x penalty if negative, / penalty if not."""
    history = rows.history
    vocab = scores.shape[-1]
    positions = torch.arange(history.shape[1], device=history.device)
    seen_ids = history.masked_fill(positions[None, :] < rows.pad_left[:, None], vocab)
    seen = torch.zeros((scores.shape[0], vocab + 1), dtype=torch.bool, device=scores.device)
    seen.scatter_(1, seen_ids, True)
    penalised = torch.where(scores < 0, scores * penalty, scores / penalty)
    return torch.where(seen[:, :vocab], penalised, scores)


def ban_repeated_ngrams(scores: torch.Tensor, history: torch.Tensor, size: int) -> torch.Tensor:
    """transformers' rule: a token that would complete an n-gram already in the row is banned (-inf)."""
    length = history.shape[1]
    if length < size:
        return scores
    vocab = scores.shape[-1]
    prefix = history[:, length + 1 - size:]
    windows = history.unfold(1, size, 1)
    matches = (windows[..., :-1] == prefix[:, None, :]).all(dim=-1)
    banned = torch.zeros((scores.shape[0], vocab + 1), dtype=torch.bool, device=scores.device)
    banned.scatter_(1, torch.where(matches, windows[..., -1].clamp(max=vocab), vocab), True)
    return scores.masked_fill(banned[:, :vocab], -float("inf"))


def decay_repeated(scores: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """The seed article's rule: a token already generated `count` times has its log-prob x (1 + log(count + 1))."""
    counts = torch.zeros_like(scores)
    if generated.shape[1]:
        counts.scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
    return scores * torch.where(counts > 0, 1.0 + torch.log(counts + 1.0), torch.ones_like(counts))
