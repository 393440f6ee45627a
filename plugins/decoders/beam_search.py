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

With a batch size below the number of prompts, a prompt that is done hands its rows to the next
waiting one (continuous batching); every prompt then keeps its own step count.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import torch

from engine.errors import OptionError
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
    batch_size: int | None = None,
) -> tuple[list[list[list[int]]], list[list[float]]]:
    """The best `num_return_sequences` sequences of every prompt (ids, EOS included) and their scores.

    With `batch_size` fewer than the prompts (decoder-only models), that many prompts decode at once
    and a prompt that is done hands its rows to the next waiting one (continuous batching): each
    prompt's search is the one it has alone, so its results are those of decoding it alone.
    """
    n, limit = settings.beam_width, rules.max_new_tokens
    size = len(prompts) if batch_size is None else min(batch_size, len(prompts))
    waiting = list(range(size, len(prompts)))
    refilling = bool(waiting)
    if refilling:
        _check_refillable(lm, rules)
    logits, rows = lm.prefill(prompts[:size])
    start_length = rows.history.shape[1]
    rows.expand(n, 2 * (max(map(len, prompts)) + limit) - start_length if refilling else limit)
    logits = logits.repeat_interleave(n, dim=0)
    device = logits.device
    keep = min(max(2, 1 + len(rules.eos_ids)) * n, n * logits.shape[-1])
    in_top = torch.arange(keep, device=device) < n
    eos = torch.tensor(rules.eos_ids, dtype=torch.long, device=device)
    beams = _start(size, n, limit, lm.fill_id, device)
    offsets = torch.arange(size, device=device)[:, None] * n
    owners: list[int | None] = list(range(size))
    taken = torch.zeros((size, 1), dtype=torch.long, device=device)
    results: list[tuple[list[list[int]], list[float]]] = [([], [])] * len(prompts)
    while True:
        scores = rules.log_probs(logits, rows)
        vocab = scores.shape[-1]
        totals = scores.view(size, n, vocab) + beams.running_scores[:, :, None]
        top_scores, top_index = totals.view(size, n * vocab).topk(keep, dim=-1)
        source, tokens = top_index // vocab, top_index % vocab
        sequences = beams.running_tokens.gather(1, source[:, :, None].expand(-1, -1, limit))
        sequences.scatter_(2, taken[:, :, None].expand(-1, keep, 1), tokens[:, :, None])
        length = taken + 1
        ends = torch.isin(tokens, eos) | (length >= limit)
        run_scores = top_scores + ends.float() * _OUT
        survivors = run_scores.topk(n, dim=-1).indices
        completed = _finish(beams, sequences, top_scores, ends & in_top, length, settings)
        if steps is not None:
            _record(lm, steps, taken[:, 0].tolist(), owners, scores.view(size, n, vocab), source, tokens, top_scores,
                    sequences, survivors, completed, ends, rules.eos_ids)
        beams.running_scores = run_scores.gather(1, survivors)
        beams.running_tokens = sequences.gather(1, survivors[:, :, None].expand(-1, -1, limit))
        _update_improvable(beams, length, limit, settings)
        done = _done(beams, ends, length, limit, settings).tolist()
        live = [slot for slot, owner in enumerate(owners) if owner is not None]
        freed = [slot for slot in live if done[slot]] if refilling or all(done[slot] for slot in live) else []
        for slot in freed:
            results[owners[slot]] = _results(beams, slot, settings.num_return_sequences, rules.eos_ids)
            owners[slot] = None
        if len(freed) == len(live) and not waiting:
            break
        rows.reorder_beams((source.gather(1, survivors) + offsets).view(-1))
        if refilling:
            rows.make_room()
        logits = lm.advance(rows, tokens.gather(1, survivors).view(-1))
        taken = (taken + 1).clamp(max=limit - 1)
        if waiting and freed:
            logits = _refill(lm, rows, logits, beams, taken, owners, freed, waiting, prompts, n)
    sequences_of = [sequences for sequences, _ in results]
    return sequences_of, [scores for _, scores in results]


def _check_refillable(lm: LanguageModel, rules: ScoreRules) -> None:
    """Continuous batching runs each prompt at its own step: refuse what needs all rows at one step."""
    if lm.is_encoder_decoder:
        raise OptionError("batch_size refilling runs decoder-only models; an encoder-decoder model decodes "
                          "its prompts all at once (leave batch_size unset)")
    if rules.reads_steps():
        raise OptionError(f"batch_size refilling cannot apply {', '.join(rules.reads_steps())}, which depend on "
                          "a row's step or history; leave batch_size unset to use them")


def _refill(
    lm: LanguageModel,
    rows: Any,
    logits: torch.Tensor,
    beams: _Beams,
    taken: torch.Tensor,
    owners: list[int | None],
    freed: list[int],
    waiting: list[int],
    prompts: list[list[int]],
    n: int,
) -> torch.Tensor:
    """Start waiting prompts in the freed slots, prompts of one length prefilled together."""
    started = list(zip(freed, waiting))
    del waiting[: len(started)]
    by_length: dict[int, list[tuple[int, int]]] = {}
    for slot, prompt in started:
        by_length.setdefault(len(prompts[prompt]), []).append((slot, prompt))
        owners[slot] = prompt
    for group in by_length.values():
        slots = torch.tensor([slot for slot, _ in group], device=logits.device)
        targets = (slots[:, None] * n + torch.arange(n, device=logits.device)).view(-1)
        logits[targets] = lm.refill(rows, targets, [prompts[p] for _, p in group], n)
        _reset(beams, slots, lm.fill_id)
        taken[slots] = 0
    return logits


def _start(batch: int, n: int, limit: int, fill: int, device: torch.device) -> _Beams:
    beams = _Beams(
        running_scores=torch.zeros((batch, n), device=device),
        running_tokens=torch.empty((batch, n, limit), dtype=torch.long, device=device),
        finished_scores=torch.empty((batch, n), device=device),
        finished_tokens=torch.empty((batch, n, limit), dtype=torch.long, device=device),
        finished=torch.empty((batch, n), dtype=torch.bool, device=device),
        improvable=torch.empty((batch, 1), dtype=torch.bool, device=device),
    )
    _reset(beams, slice(None), fill)
    return beams


def _reset(beams: _Beams, slots: Any, fill: int) -> None:
    """The slots' state as a search starts: one live beam of score 0, nothing finished."""
    beams.running_scores[slots] = 0.0
    beams.running_scores[slots, 1:] = _OUT
    beams.running_tokens[slots] = fill
    beams.finished_scores[slots] = _OUT
    beams.finished_tokens[slots] = fill
    beams.finished[slots] = False
    beams.improvable[slots] = True


def _divisor(length: torch.Tensor | int, length_penalty: float) -> torch.Tensor | float:
    """length ** length_penalty, computed in double as transformers computes it for one length."""
    if isinstance(length, int):
        return length ** length_penalty
    return (length.double() ** length_penalty).float()


def _finish(
    beams: _Beams,
    sequences: torch.Tensor,
    top_scores: torch.Tensor,
    just_ended: torch.Tensor,
    length: torch.Tensor,
    settings: BeamSettings,
) -> torch.Tensor:
    """Merge this step's ended candidates into the finished hypotheses; which candidates were admitted."""
    n = settings.beam_width
    normalised = top_scores / _divisor(length, settings.length_penalty)
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


def _update_improvable(beams: _Beams, length: torch.Tensor, limit: int, settings: BeamSettings) -> None:
    """Whether the best running beam could still beat the worst finished hypothesis (sticky once False)."""
    if settings.early_stopping == "never" and settings.length_penalty > 0.0:
        best_length: torch.Tensor | int = limit
    else:
        best_length = length
    best_possible = beams.running_scores[:, :1] / _divisor(best_length, settings.length_penalty)
    worst_finished = torch.where(
        beams.finished, beams.finished_scores.min(dim=1, keepdim=True).values, torch.full_like(beams.finished_scores, _OUT)
    )
    beams.improvable &= (best_possible > worst_finished).any(dim=-1, keepdim=True)


def _done(beams: _Beams, ends: torch.Tensor, length: torch.Tensor, limit: int, settings: BeamSettings) -> torch.Tensor:
    """Per prompt: whether its search is over (nothing can improve, all finished under early_stopping=True,
    every candidate ended, or the last token taken)."""
    all_finished = beams.finished.all(dim=-1) & (settings.early_stopping is True)
    return ~beams.improvable[:, 0] | all_finished | ends.all(dim=-1) | (length[:, 0] >= limit)


def _results(beams: _Beams, slot: int, count: int, eos_ids: tuple[int, ...]) -> tuple[list[list[int]], list[float]]:
    tokens = beams.finished_tokens[slot, :count].tolist()
    return [cut_at_eos(seq, eos_ids) for seq in tokens], beams.finished_scores[slot, :count].tolist()


def _record(
    lm: LanguageModel,
    steps: list[TraceStep],
    step_of: list[int],
    owners: list[int | None],
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
    for slot, prompt in enumerate(owners):
        if prompt is None:
            continue
        step, candidates = step_of[slot], []
        for k in range(tokens.shape[1]):
            beam, token = int(source[slot, k]), int(tokens[slot, k])
            status = "finished" if completed[slot, k] else "kept" if kept[slot, k] else "dropped"
            candidates.append(TraceCandidate(
                beam=beam,
                token_id=token,
                token=lm.token_text(token),
                log_prob=float(scores[slot, beam, token]),
                score=float(top_scores[slot, k]),
                status=status,
                text=lm.decode(cut_at_eos(sequences[slot, k, : step + 1].tolist(), eos_ids)) or "",
            ))
        steps.append(TraceStep(step, prompt, candidates))
