"""The report of a batch-generation run: how long the generations are, how they score, how many
stopped at the end-of-sequence token rather than at max_new_tokens, and a sample of them as text."""

from __future__ import annotations

import json
from typing import Any

from engine.flow import Flow
from engine.names import normalize

SAMPLE = 5
"""Prompts whose generation (and decoding trace, when the run kept one) the report shows."""
TRACE_STEPS = 8
"""Decoding steps shown per sampled trace."""


def generation_section(flow: Flow, pipeline: Any = None) -> dict[str, Any] | None:
    """Lengths (characters, words), scores and a sample of generations, for a run with a decoder step
    (None otherwise). With the decoding traces (the step's trace_column) also the decoding steps per
    prompt, the share of prompts whose decoding finished a sequence at the end-of-sequence token (a
    "finished" candidate; the others ran to max_new_tokens), and each sampled prompt's trace."""
    import numpy as np

    column, score_column = flow.facts.get("generations"), flow.facts.get("scores")
    if column is None or flow.table is None or column not in flow.table.column_names:
        return None
    step = next((s for s in getattr(pipeline, "steps", ()) if normalize(str(s.kind)) == "decoder"), None)
    params = {} if step is None else dict(step.params)
    options = {} if step is None else dict(step.options)
    texts = _flat(flow.table.column(column).to_pylist())
    scores = [float(s) for s in _flat(flow.table.column(score_column).to_pylist())] if score_column else []
    section: dict[str, Any] = {
        "sequences": len(texts),
        "characters": _summary([len(t) for t in texts]),
        "words": _summary([len(t.split()) for t in texts]),
        "scores": _summary(scores) if scores else None,
        "max_new_tokens": options.get("max_new_tokens"),
    }
    trace = params.get("trace_column")
    if trace and trace in flow.table.column_names:
        traces = [json.loads(t) for t in flow.table.column(trace).to_pylist() if t]
        section["steps"] = _summary([len(t) for t in traces])
        section["eos_share"] = float(np.mean([any(c.get("status") == "finished" for step in t
                                                   for c in step["candidates"]) for t in traces]))
    prompts = params.get("prompt_column", "prompt")
    rows = flow.table.slice(0, SAMPLE)
    section["sample"] = [
        {"prompt": str(row.get(prompts, "")), "generation": _first(row[column]),
         "score": None if not score_column else _first(row[score_column]),
         "trace": _trace_text(row[trace]) if trace and row.get(trace) else None}
        for row in rows.to_pylist()
    ]
    return section


def _flat(values: list[Any]) -> list[Any]:
    """Every sequence: list cells (several per prompt) flattened."""
    return [v for cell in values for v in (cell if isinstance(cell, list) else [cell]) if v is not None]


def _first(cell: Any) -> Any:
    return cell[0] if isinstance(cell, list) else cell


def _summary(values: list[float]) -> dict[str, float]:
    import numpy as np

    data = np.asarray(values, dtype=float)
    return {"mean": float(data.mean()), "min": float(data.min()), "median": float(np.median(data)),
            "max": float(data.max())}


def _trace_text(document: str) -> str:
    """A prompt's decoding trace (the JSON a decoder step's trace_column holds) as lines of text: per
    step the kept candidates' beam, token and score."""
    steps = json.loads(document)
    lines = []
    for step in steps[:TRACE_STEPS]:
        kept = [c for c in step["candidates"] if c.get("status") in ("kept", "finished")]
        shown = ", ".join(f"beam {c['beam']} {c.get('token', c['token_id'])!r} {c['score']:.3f}"
                          + (" (EOS)" if c["status"] == "finished" else "") for c in kept)
        lines.append(f"step {step['step']}: {shown}")
    if len(steps) > TRACE_STEPS:
        lines.append(f"... {len(steps) - TRACE_STEPS} more steps")
    return "\n".join(lines)
