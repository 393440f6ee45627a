"""The decoder contract: next-token scores of a language model turned into sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from engine.flow import Flow


@runtime_checkable
class Decoder(Protocol):
    """Generates continuations for one prompt or a batch (strings or token ids)."""

    def generate(self, prompts: str | Sequence[Any], **kwargs: Any) -> Any: ...


protocol = Decoder


def run_step(plugin: Decoder, flow: Flow, *, prompt_column: str = "prompt", output_column: str = "generation") -> Flow:
    """Generate for every prompt in `prompt_column` and add the texts as `output_column`."""
    import pyarrow as pa

    prompts = flow.table.column(prompt_column).to_pylist()
    result = plugin.generate(prompts)
    texts = [t[0] if isinstance(t, list) else t for t in result.texts]
    table = flow.table.append_column(output_column, pa.array(texts, pa.string()))
    return flow.evolve(table=table, generations=output_column)
