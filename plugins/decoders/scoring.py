"""Next-token scores: transformers' logits processors, in `generate`'s order, then our own rules.

`generate` builds its processors in `_get_logits_processor` and applies them in this order:
repetition_penalty, no_repeat_ngram_size, bad_words_ids, min_length, min_new_tokens,
forced_bos_token_id, forced_eos_token_id, suppress_tokens, begin_suppress_tokens. Greedy search
and sampling apply them to the raw logits (sampling then divides by the temperature); beam search
to log_softmax(logits). Our temperature in beam search divides the logits before that softmax, and
the seed article's decay of repeated tokens comes last.
"""

from __future__ import annotations

import attrs
import torch

from plugins.decoders.language_model import Rows

_BANNED = -float("inf")


@attrs.frozen
class ScoreRules:
    """How raw logits become the log-probabilities a search ranks by.

    `on_logits` chooses `generate`'s greedy/sampling order (processors on the raw logits, then the
    temperature and the softmax) over its beam-search order (softmax of the tempered logits, then
    the processors). `min_length` counts what `generate` calls input_ids (the padded prompt for a
    decoder-only model); `min_new_tokens`, when set, replaces it, as in `generate`.
    """

    max_new_tokens: int
    eos_ids: tuple[int, ...] = ()
    on_logits: bool = False
    temperature: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    bad_words_ids: tuple[tuple[int, ...], ...] = ()
    min_length: int = 0
    min_new_tokens: int | None = None
    forced_bos_token_id: int | None = None
    forced_eos_token_id: tuple[int, ...] = ()
    suppress_tokens: tuple[int, ...] = ()
    begin_suppress_tokens: tuple[int, ...] = ()
    decay_repeated: bool = False

    def log_probs(self, logits: torch.Tensor, rows: Rows) -> torch.Tensor:
        """Scores of every next token for every row: (rows, vocab) log-probabilities after the rules."""
        if self.on_logits:
            scores = self.processed(logits, rows)
            scores = torch.log_softmax(scores if self.temperature == 1.0 else scores / self.temperature, dim=-1)
        else:
            scaled = logits if self.temperature == 1.0 else logits / self.temperature
            scores = self.processed(torch.log_softmax(scaled, dim=-1), rows)
        if self.decay_repeated:
            scores = decay_repeated(scores, rows.generated)
        return scores

    def reads_steps(self) -> list[str]:
        """The rules in force that read a row's step or history, which rows at different steps cannot share."""
        active = {
            "repetition_penalty": self.repetition_penalty != 1.0,
            "no_repeat_ngram_size": self.no_repeat_ngram_size > 0,
            "bad_words_ids": bool(self.bad_words_ids),
            "min_length": self.min_new_tokens is None and self.min_length > 0,
            "min_new_tokens": bool(self.min_new_tokens),
            "forced_bos_token_id": self.forced_bos_token_id is not None,
            "forced_eos_token_id": bool(self.forced_eos_token_id),
            "begin_suppress_tokens": bool(self.begin_suppress_tokens),
            "decay_repeated": self.decay_repeated,
        }
        return [name for name, on in active.items() if on]

    def processed(self, scores: torch.Tensor, rows: Rows) -> torch.Tensor:
        """transformers' processors that `generate` builds from these settings, in its order."""
        length = rows.history.shape[1]
        if self.repetition_penalty != 1.0:
            scores = repetition_penalty(scores, rows, self.repetition_penalty)
        if self.no_repeat_ngram_size > 0:
            scores = ban_repeated_ngrams(scores, rows.history, self.no_repeat_ngram_size)
        if self.bad_words_ids:
            scores = ban_bad_words(scores, rows.history, self.bad_words_ids, self.eos_ids)
        if self.min_new_tokens is None:
            too_short = length < self.min_length
        else:
            too_short = length - rows.prompt_length < self.min_new_tokens
        if self.eos_ids and too_short:
            scores = _ban(scores, self.eos_ids)
        if self.forced_bos_token_id is not None and length == 1:
            scores = _force(scores, (self.forced_bos_token_id,))
        if self.forced_eos_token_id and length == rows.prompt_length + self.max_new_tokens - 1:
            scores = _force(scores, self.forced_eos_token_id)
        if self.suppress_tokens:
            scores = _ban(scores, self.suppress_tokens)
        if self.begin_suppress_tokens and length == self._begin_index(rows.prompt_length):
            scores = _ban(scores, self.begin_suppress_tokens)
        return scores

    def _begin_index(self, prompt_length: int) -> int:
        """Where `generate` starts generating, one later when it forces a BOS after a one-token start."""
        return prompt_length + 1 if prompt_length == 1 and self.forced_bos_token_id is not None else prompt_length


def _ban(scores: torch.Tensor, tokens: tuple[int, ...]) -> torch.Tensor:
    banned = torch.zeros(scores.shape[-1], dtype=torch.bool, device=scores.device)
    banned[[t for t in tokens if t < scores.shape[-1]]] = True
    return scores.masked_fill(banned, _BANNED)


def _force(scores: torch.Tensor, tokens: tuple[int, ...]) -> torch.Tensor:
    """Every token impossible but `tokens`, which score 0 (transformers' forced BOS/EOS)."""
    forced = torch.full_like(scores, _BANNED)
    forced[:, list(tokens)] = 0
    return forced


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
    return scores.masked_fill(banned[:, :vocab], _BANNED)


def ban_bad_words(
    scores: torch.Tensor, history: torch.Tensor, bad_words: tuple[tuple[int, ...], ...], eos_ids: tuple[int, ...]
) -> torch.Tensor:
    """transformers' rule: a word's last token is banned where the row ends with the rest of it (an EOS alone is never banned)."""
    banned = torch.zeros_like(scores, dtype=torch.bool)
    for word in bad_words:
        if len(word) == 1 and word[0] in eos_ids:
            continue
        *prefix, last = word
        if len(prefix) > history.shape[1]:
            continue
        if prefix:
            ends_with = (history[:, -len(prefix):] == torch.tensor(prefix, device=history.device)).all(dim=-1)
            banned[:, last] |= ends_with
        else:
            banned[:, last] = True
    return scores.masked_fill(banned, _BANNED)


def decay_repeated(scores: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """The seed article's rule: a token already generated `count` times has its log-prob x (1 + log(count + 1))."""
    counts = torch.zeros_like(scores)
    if generated.shape[1]:
        counts.scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
    return scores * torch.where(counts > 0, 1.0 + torch.log(counts + 1.0), torch.ones_like(counts))
