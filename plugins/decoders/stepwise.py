"""One sequence per prompt, one token per step: the loop greedy search and sampling share.

Every row advances together with the KV cache; a row that has finished (EOS or a stop string)
is fed the pad token, as transformers' `generate` does, until all rows are done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from engine.kinds.decoder import TraceCandidate, TraceStep
from plugins.decoders.base import cut_at_eos
from plugins.decoders.language_model import LanguageModel
from plugins.decoders.scoring import ScoreRules

TRACE_ALTERNATIVES = 4
"""How many of the best tokens a step's trace lists besides the chosen one."""

Choose = Callable[[torch.Tensor], torch.Tensor]


def extend(
    lm: LanguageModel,
    prompts: list[list[int]],
    rules: ScoreRules,
    choose: Choose,
    *,
    stop_strings: Sequence[str] = (),
    steps: list[TraceStep] | None = None,
) -> tuple[list[list[list[int]]], list[list[float]]]:
    """Generate until every row has finished; the ids (EOS included) and summed log-probs of each row."""
    logits, rows = lm.prefill(prompts)
    eos = torch.tensor(rules.eos_ids, dtype=torch.long, device=lm.device)
    running = torch.ones(len(prompts), dtype=torch.bool, device=lm.device)
    totals = torch.zeros(len(prompts), dtype=torch.float32, device=lm.device)
    chosen: list[torch.Tensor] = []
    for step in range(rules.max_new_tokens):
        scores = rules.log_probs(logits, rows)
        tokens = torch.where(running, choose(scores), lm.fill_id)
        picked = scores.gather(1, tokens[:, None])[:, 0]
        totals += torch.where(running, picked, torch.zeros_like(picked))
        chosen.append(tokens)
        ended = torch.isin(tokens, eos) | _hit_stop_string(lm, chosen, stop_strings, rules.eos_ids)
        if steps is not None:
            _record(lm, steps, step, scores, tokens, running, ended, totals, chosen)
        running &= ~ended
        if not running.any() or step + 1 == rules.max_new_tokens:
            break
        logits = lm.advance(rows, tokens)
    generated = torch.stack(chosen, dim=1).tolist()
    sequences = [[cut_at_eos(row, rules.eos_ids)] for row in generated]
    return sequences, [[float(t)] for t in totals.tolist()]


def _hit_stop_string(
    lm: LanguageModel, chosen: list[torch.Tensor], stop_strings: Sequence[str], eos_ids: Sequence[int]
) -> torch.Tensor:
    device = chosen[0].device
    if not stop_strings or lm.tokenizer is None:
        return torch.zeros(chosen[0].shape[0], dtype=torch.bool, device=device)
    rows = torch.stack(chosen, dim=1).tolist()
    hits = [any(s in (lm.decode(cut_at_eos(r, eos_ids)) or "") for s in stop_strings) for r in rows]
    return torch.tensor(hits, dtype=torch.bool, device=device)


def _record(
    lm: LanguageModel,
    steps: list[TraceStep],
    step: int,
    scores: torch.Tensor,
    tokens: torch.Tensor,
    running: torch.Tensor,
    ended: torch.Tensor,
    totals: torch.Tensor,
    chosen: list[torch.Tensor],
) -> None:
    """One trace step per still-running row: the chosen token and the best alternatives it beat."""
    best = scores.topk(min(TRACE_ALTERNATIVES + 1, scores.shape[-1]), dim=-1).indices.tolist()
    previous = torch.stack(chosen[:-1], dim=1).tolist() if len(chosen) > 1 else [[] for _ in best]
    for row in torch.nonzero(running)[:, 0].tolist():
        token = int(tokens[row])
        before = float(totals[row] - scores[row, token])
        options = [token] + [t for t in best[row] if t != token][:TRACE_ALTERNATIVES]
        candidates = [
            _candidate(lm, previous[row], t, float(scores[row, t]), before,
                       ("finished" if bool(ended[row]) else "kept") if t == token else "dropped")
            for t in options
        ]
        steps.append(TraceStep(step, row, candidates))


def _candidate(lm: LanguageModel, prefix: list[int], token: int, log_prob: float, before: float, status: Any) -> TraceCandidate:
    return TraceCandidate(
        beam=0,
        token_id=token,
        token=lm.token_text(token),
        log_prob=log_prob,
        score=before + log_prob,
        status=status,
        text=lm.decode(prefix + [token]) or "",
    )
