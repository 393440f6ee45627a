"""The decoder contract: next-token scores of a language model turned into sequences.

Besides the Protocol and the step runner this module holds the result records every decoder
returns: the generated token ids, texts and sequence scores, and an optional per-step trace of
the candidates kept and dropped (the decision log of a search, as data).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from engine.errors import DataError, StateError
from engine.flow import Flow

CandidateStatus = Literal["kept", "finished", "dropped"]
TRACE_SCHEMA = 1


@runtime_checkable
class Decoder(Protocol):
    """Generates continuations for one prompt or a batch (strings, token ids, or a tokenizer's output)."""

    def generate(self, prompts: str | Sequence[Any], **kwargs: Any) -> Any: ...


protocol = Decoder


def _tuples(value: Any) -> tuple[Any, ...]:
    """Nested sequences as nested tuples, so frozen records stay hashable and compare by value."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


@attrs.frozen
class TraceCandidate:
    """One continuation a step considered: the beam it extends, the token, and what became of it.

    `log_prob` is the token's score at this step after temperature and penalties; `score` is the
    sequence's accumulated score with it; `text` the generated text so far, this token included.
    """

    beam: int
    token_id: int
    token: str
    log_prob: float
    score: float
    status: CandidateStatus
    text: str = ""


@attrs.frozen
class TraceStep:
    """The candidates of one prompt at one decoding step, best first."""

    step: int
    prompt: int
    candidates: tuple[TraceCandidate, ...] = attrs.field(converter=tuple)


@attrs.frozen
class DecodingTrace:
    """A search's decision log: every step's candidates with their scores, as data.

    `render()` gives the text a person reads; `save(path)` writes JSON (atomically) that
    `DecodingTrace.load` reads back.
    """

    decoder: str
    settings: dict[str, Any]
    steps: tuple[TraceStep, ...] = attrs.field(converter=tuple)

    def for_prompt(self, prompt: int) -> tuple[TraceStep, ...]:
        """The steps of one prompt of the batch."""
        return tuple(s for s in self.steps if s.prompt == prompt)

    def render(self) -> str:
        """The trace as lines of text: one block per step, one line per candidate."""
        settings = " ".join(f"{k}={v}" for k, v in self.settings.items())
        lines = [f"{self.decoder} | {settings}"]
        for step in self.steps:
            lines.append(f"step {step.step} · prompt {step.prompt}:")
            for c in step.candidates:
                lines.append(
                    f"  {c.status:<8} {c.score:14.8f}  beam {c.beam} + {c.token!r} ({c.log_prob:.6f})  [{c.text}]"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"schema": TRACE_SCHEMA, **attrs.asdict(self, recurse=True)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecodingTrace:
        """Rebuild a trace from `to_dict()` output; a newer schema or a malformed document raises StateError."""
        schema = data.get("schema")
        if schema != TRACE_SCHEMA:
            raise StateError(f"trace schema {schema!r} is not {TRACE_SCHEMA}; upgrade hookyard to read it")
        try:
            steps = [
                TraceStep(s["step"], s["prompt"], [TraceCandidate(**c) for c in s["candidates"]])
                for s in data["steps"]
            ]
            return cls(data["decoder"], dict(data["settings"]), steps)
        except (KeyError, TypeError) as exc:
            raise StateError(f"not a decoding trace document: {exc!r}") from exc

    def save(self, path: str | os.PathLike[str]) -> os.PathLike[str]:
        """Write the trace as JSON; the file appears whole or not at all."""
        from engine.atomic import write_text

        return write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DecodingTrace:
        """Read a trace written by `save`."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))


@attrs.frozen
class GenerationResult:
    """What a decoder returns for a batch: per prompt, its returned sequences best first.

    `token_ids[i][k]` are the generated ids of prompt i's k-th sequence (prompt excluded, EOS
    included when one was generated), `texts[i][k]` their decoded text (None without a tokenizer),
    `scores[i][k]` the sequence score (for beam search transformers' `sequences_scores`: the
    summed log-probabilities divided by length ** length_penalty).
    """

    token_ids: tuple[tuple[tuple[int, ...], ...], ...] = attrs.field(converter=_tuples)
    texts: tuple[tuple[str, ...], ...] | None = attrs.field(converter=attrs.converters.optional(_tuples))
    scores: tuple[tuple[float, ...], ...] = attrs.field(converter=_tuples)
    trace: DecodingTrace | None = None

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def best_texts(self) -> list[str] | None:
        """The best sequence's text of every prompt."""
        return None if self.texts is None else [t[0] for t in self.texts]

    @property
    def best_scores(self) -> list[float]:
        """The best sequence's score of every prompt."""
        return [s[0] for s in self.scores]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the trace included when there is one)."""
        return {
            "token_ids": [[list(seq) for seq in row] for row in self.token_ids],
            "texts": None if self.texts is None else [list(row) for row in self.texts],
            "scores": [list(row) for row in self.scores],
            "trace": None if self.trace is None else self.trace.to_dict(),
        }


def run_step(
    plugin: Decoder,
    flow: Flow,
    *,
    prompt_column: str = "prompt",
    output_column: str = "generation",
    score_column: str = "score",
    trace_column: str | None = None,
) -> Flow:
    """Generate for every prompt in `prompt_column`; add the best texts and their scores as columns.

    A decoder returning several sequences per prompt gives list columns (every sequence, best first).
    With `trace_column`, each prompt's decoding trace (its steps' candidates) is added as a JSON string.
    """
    from engine.stages import run_in_memory

    params = {"prompt_column": prompt_column, "output_column": output_column, "score_column": score_column,
              "trace_column": trace_column}
    return run_in_memory(sys.modules[__name__], plugin, flow, params)


REPLAYABLE = False
"""Generating again costs as much as the first time (and sampling may differ): a stream that must be
read twice past a decoder step is spooled, never generated twice."""


class Apply:
    """Generation for one batch of prompts at a time."""

    def __init__(
        self,
        plugin: Decoder,
        *,
        prompt_column: str = "prompt",
        output_column: str = "generation",
        score_column: str = "score",
        trace_column: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.prompt_column = prompt_column
        self.output_column = output_column
        self.score_column = score_column
        self.trace_column = trace_column
        self.facts: dict[str, Any] = {"generations": output_column, "scores": score_column}

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        if self.prompt_column not in table.column_names:
            raise DataError(
                f"the decoder step reads prompts from column {self.prompt_column!r}, which is not in the table; "
                f"it has {table.column_names}. Set the step param prompt_column."
            )
        taken = [c for c in (self.output_column, self.score_column, self.trace_column) if c and c in table.column_names]
        if taken:
            raise DataError(f"columns {taken} are already in the table; choose other output_column/score_column params")
        prompts = table.column(self.prompt_column).to_pylist()
        if not prompts:
            return self._append(table, [], [], pa.string(), pa.float64(), [])
        result = self.plugin.generate(prompts, trace=True) if self.trace_column else self.plugin.generate(prompts)
        if result.texts is None:
            raise DataError("the decoder has no tokenizer, so it cannot add texts; give it a tokenizer")
        several = any(len(row) > 1 for row in result.texts)
        texts = [list(row) for row in result.texts] if several else [row[0] for row in result.texts]
        scores = [list(row) for row in result.scores] if several else [row[0] for row in result.scores]
        text_type = pa.list_(pa.string()) if several else pa.string()
        score_type = pa.list_(pa.float64()) if several else pa.float64()
        traces = []
        if self.trace_column:
            traces = [json.dumps([attrs.asdict(s) for s in result.trace.for_prompt(i)]) for i in range(len(result))]
        return self._append(table, texts, scores, text_type, score_type, traces)

    def _append(self, table: Any, texts: list[Any], scores: list[Any], text_type: Any, score_type: Any,
                traces: list[str]) -> Any:
        import pyarrow as pa

        table = table.append_column(self.output_column, pa.array(texts, text_type))
        table = table.append_column(self.score_column, pa.array(scores, score_type))
        if self.trace_column:
            table = table.append_column(self.trace_column, pa.array(traces, pa.string()))
        return table

    def finish(self) -> dict[str, Any]:
        return {}


mapper = Apply
