"""Batched beam search with the KV cache, scored exactly as transformers' `generate` scores it.

All beams of all prompts run as batch x beam_width rows in one forward pass per step. The prompt
is run once and its cache repeated for the beams; after each step the cache rows are reordered
to follow the surviving beams, never recomputed.

Each step considers, per prompt, the best K = max(2, 1 + number of EOS ids) x beam_width
continuations over all beams. Those ending (EOS, or the last allowed token) among the best
beam_width become finished hypotheses scored sum(log p) / length ** length_penalty; the best
beam_width of the rest run on. `early_stopping` decides when a prompt is done: True as soon as
beam_width hypotheses are finished; False when the best running beam, at its current length,
cannot beat the worst finished one; "never" like False but judged at the longest possible length
when length_penalty > 0.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch

from engine.kinds.decoder import TraceCandidate, TraceStep
from plugins.decoders.base import cut_at_eos
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules

EarlyStopping = bool | Literal["never"]
_OUT = -1.0e9
"""The score transformers gives a slot that must not be chosen; kept identical so ties break alike."""


@attrs.frozen
class BeamSettings:
    """The knobs of a beam search."""

    beam_width: int
    length_penalty: float = 1.0
    early_stopping: EarlyStopping = False
    num_return_sequences: int = 1


@attrs.define
class _Beams:
    """Running beams and finished hypotheses of every prompt: (batch, beam_width[, tokens]) tensors."""

    running_scores: torch.Tensor
    running_tokens: torch.Tensor
    finished_scores: torch.Tensor
    finished_tokens: torch.Tensor
    finished: torch.Tensor
    improvable: torch.Tensor


def beam_search(
    lm: LanguageModel,
    prompts: list[list[int]],
    rules: ScoreRules,
    settings: BeamSettings,
    steps: list[TraceStep] | None = None,
) -> tuple[list[list[list[int]]], list[list[float]]]:
    """The best `num_return_sequences` sequences of every prompt (ids, EOS included) and their scores."""
    n, limit = settings.beam_width, rules.max_new_tokens
    batch = len(prompts)
    logits, rows = lm.prefill(prompts)
    rows.expand(n, limit)
    logits = logits.repeat_interleave(n, dim=0)
    device = logits.device
    keep = min(max(2, 1 + len(rules.eos_ids)) * n, n * logits.shape[-1])
    in_top = torch.arange(keep, device=device) < n
    eos = torch.tensor(rules.eos_ids, dtype=torch.long, device=device)
    beams = _start(batch, n, limit, lm.fill_id, device)
    offsets = torch.arange(batch, device=device)[:, None] * n
    for step in range(limit):
        scores = rules.log_probs(logits, rows)
        vocab = scores.shape[-1]
        totals = scores.view(batch, n, vocab) + beams.running_scores[:, :, None]
        top_scores, top_index = totals.view(batch, n * vocab).topk(keep, dim=-1)
        source, tokens = top_index // vocab, top_index % vocab
        sequences = beams.running_tokens.gather(1, source[:, :, None].expand(-1, -1, limit)).clone()
        sequences[:, :, step] = tokens
        ends = torch.isin(tokens, eos) | (step + 1 >= limit)
        run_scores = top_scores + ends.float() * _OUT
        survivors = run_scores.topk(n, dim=-1).indices
        completed = _finish(beams, sequences, top_scores, ends & in_top, step + 1, settings)
        if steps is not None:
            _record(lm, steps, step, scores.view(batch, n, vocab), source, tokens, top_scores, sequences,
                    survivors, completed, ends, rules.eos_ids)
        beams.running_scores = run_scores.gather(1, survivors)
        beams.running_tokens = sequences.gather(1, survivors[:, :, None].expand(-1, -1, limit))
        _update_improvable(beams, step + 1, limit, settings)
        if not _should_continue(beams, ends, settings):
            break
        rows.reorder_beams((source.gather(1, survivors) + offsets).view(-1))
        logits = lm.advance(rows, tokens.gather(1, survivors).view(-1))
    return _results(beams, settings.num_return_sequences, rules.eos_ids)


def _start(batch: int, n: int, limit: int, fill: int, device: torch.device) -> _Beams:
    running_scores = torch.zeros((batch, n), device=device)
    running_scores[:, 1:] = _OUT
    return _Beams(
        running_scores=running_scores,
        running_tokens=torch.full((batch, n, limit), fill, dtype=torch.long, device=device),
        finished_scores=torch.full((batch, n), _OUT, device=device),
        finished_tokens=torch.full((batch, n, limit), fill, dtype=torch.long, device=device),
        finished=torch.zeros((batch, n), dtype=torch.bool, device=device),
        improvable=torch.ones((batch, 1), dtype=torch.bool, device=device),
    )


def _finish(
    beams: _Beams,
    sequences: torch.Tensor,
    top_scores: torch.Tensor,
    just_ended: torch.Tensor,
    length: int,
    settings: BeamSettings,
) -> torch.Tensor:
    """Merge this step's ended candidates into the finished hypotheses; which candidates were admitted."""
    n = settings.beam_width
    normalised = top_scores / (length ** settings.length_penalty)
    full = beams.finished.all(dim=-1, keepdim=True) & (settings.early_stopping is True)
    admitted = just_ended & ~full & beams.improvable
    normalised = normalised + full.float() * _OUT + (~beams.improvable).float() * _OUT + (~just_ended).float() * _OUT
    merged_scores = torch.cat([beams.finished_scores, normalised], dim=1)
    best = merged_scores.topk(n, dim=-1).indices
    limit = sequences.shape[-1]
    beams.finished_tokens = torch.cat([beams.finished_tokens, sequences], dim=1).gather(
        1, best[:, :, None].expand(-1, -1, limit)
    )
    beams.finished_scores = merged_scores.gather(1, best)
    beams.finished = torch.cat([beams.finished, just_ended], dim=1).gather(1, best)
    return admitted


def _update_improvable(beams: _Beams, length: int, limit: int, settings: BeamSettings) -> None:
    """Whether the best running beam could still beat the worst finished hypothesis (sticky once False)."""
    if settings.early_stopping == "never" and settings.length_penalty > 0.0:
        best_length = limit
    else:
        best_length = length
    best_possible = beams.running_scores[:, :1] / (best_length ** settings.length_penalty)
    worst_finished = torch.where(
        beams.finished, beams.finished_scores.min(dim=1, keepdim=True).values, torch.full_like(beams.finished_scores, _OUT)
    )
    beams.improvable &= (best_possible > worst_finished).any(dim=-1, keepdim=True)


def _should_continue(beams: _Beams, ends: torch.Tensor, settings: BeamSettings) -> bool:
    everything_finished = bool(beams.finished.all()) and settings.early_stopping is True
    return bool(beams.improvable.any()) and not everything_finished and not bool(ends.all())


def _results(beams: _Beams, count: int, eos_ids: tuple[int, ...]) -> tuple[list[list[list[int]]], list[list[float]]]:
    tokens = beams.finished_tokens[:, :count].tolist()
    sequences = [[cut_at_eos(seq, eos_ids) for seq in row] for row in tokens]
    return sequences, beams.finished_scores[:, :count].tolist()


def _record(
    lm: LanguageModel,
    steps: list[TraceStep],
    step: int,
    scores: torch.Tensor,
    source: torch.Tensor,
    tokens: torch.Tensor,
    top_scores: torch.Tensor,
    sequences: torch.Tensor,
    survivors: torch.Tensor,
    completed: torch.Tensor,
    ends: torch.Tensor,
    eos_ids: tuple[int, ...],
) -> None:
    """One trace step per prompt: every candidate considered, with whether it ran on, finished or was dropped."""
    kept = torch.zeros_like(ends).scatter_(1, survivors, True) & ~ends
    for prompt in range(tokens.shape[0]):
        candidates = []
        for k in range(tokens.shape[1]):
            beam, token = int(source[prompt, k]), int(tokens[prompt, k])
            status = "finished" if completed[prompt, k] else "kept" if kept[prompt, k] else "dropped"
            candidates.append(TraceCandidate(
                beam=beam,
                token_id=token,
                token=lm.token_text(token),
                log_prob=float(scores[prompt, beam, token]),
                score=float(top_scores[prompt, k]),
                status=status,
                text=lm.decode(cut_at_eos(sequences[prompt, k, : step + 1].tolist(), eos_ids)) or "",
            ))
        steps.append(TraceStep(step, prompt, candidates))
