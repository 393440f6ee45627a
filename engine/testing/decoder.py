"""The contract suite for decoder plugins: batches in, one result row per prompt out, traces as data."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

from engine.errors import DataError
from engine.flow import Flow
from engine.kinds.decoder import DecodingTrace, GenerationResult, run_step
from engine.testing.base import PluginContract


class DecoderContract(PluginContract):
    """Every decoder plugin passes these.

    Set `options` so that the plugin builds with a small model (a folder written with
    save_pretrained), and `prompts` to text its tokenizer knows.
    """

    kind: ClassVar[str] = "decoder"
    prompts: ClassVar[list[Any]] = ["Hello there", "The quick brown fox jumps"]

    def test_one_result_row_per_prompt(self, plugin: Any) -> None:
        result = plugin.generate(list(self.prompts))
        assert isinstance(result, GenerationResult)
        assert len(result) == len(self.prompts)
        for ids, texts, scores in zip(result.token_ids, result.texts, result.scores):
            assert len(ids) == len(texts) == len(scores) >= 1
            assert all(isinstance(t, int) for seq in ids for t in seq)
            assert all(isinstance(t, str) for t in texts)
            assert all(math.isfinite(s) for s in scores)

    def test_a_single_prompt_is_a_batch_of_one(self, plugin: Any) -> None:
        assert len(plugin.generate(self.prompts[0])) == 1

    def test_an_empty_prompt_is_rejected(self, plugin: Any) -> None:
        with pytest.raises(DataError, match="empty"):
            plugin.generate([self.prompts[0], []])

    def test_trace_round_trips_through_json(self, plugin: Any, tmp_path: Any) -> None:
        trace = plugin.generate(list(self.prompts), trace=True).trace
        assert isinstance(trace, DecodingTrace)
        assert trace.steps, "a trace records at least the first step"
        assert {s.prompt for s in trace.steps} == set(range(len(self.prompts)))
        assert trace.render().count("\n") >= len(trace.steps)
        assert DecodingTrace.load(trace.save(tmp_path / "trace.json")) == trace

    def test_runs_as_a_pipeline_step(self, plugin: Any) -> None:
        import pyarrow as pa

        flow = Flow(table=pa.table({"text": list(self.prompts)}))
        out = run_step(plugin, flow, prompt_column="text", output_column="gen", score_column="gen_score")
        assert out.table.column_names == ["text", "gen", "gen_score"]
        assert out.facts["generations"] == "gen"
        assert out.table.num_rows == len(self.prompts)
