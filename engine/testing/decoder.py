"""The contract suite for decoder plugins: batches in, one result row per prompt out, traces as data."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from engine.errors import DataError
from engine.flow import Flow
from engine.kinds.decoder import DecodingTrace, GenerationResult, run_step
from engine.testing.base import PluginContract, broke, refuses


class DecoderContract(PluginContract):
    """Every decoder plugin passes these.

    Set `options` so that the plugin builds with a small model (a folder written with
    save_pretrained), and `prompts` to text its tokenizer knows.
    """

    kind: ClassVar[str] = "decoder"
    prompts: ClassVar[list[Any]] = ["Hello there", "The quick brown fox jumps"]

    def test_one_result_row_per_prompt(self, plugin: Any) -> None:
        result = plugin.generate(list(self.prompts))
        assert isinstance(result, GenerationResult), broke(
            "generate returns an engine.kinds.decoder.GenerationResult", "GenerationResult", type(result))
        assert len(result) == len(self.prompts), broke("one result row per prompt", len(self.prompts), len(result))
        assert result.texts is not None, broke("a decoder with a tokenizer returns texts", "texts", None)
        for i, (ids, texts, scores) in enumerate(zip(result.token_ids, result.texts, result.scores)):
            counts = (len(ids), len(texts), len(scores))
            assert len(set(counts)) == 1 and counts[0] >= 1, broke(
                f"prompt {i} has as many id sequences, texts and scores, at least one", "equal counts >= 1", counts)
            assert all(isinstance(t, int) for seq in ids for t in seq), broke(
                "token ids are Python ints", "int", sorted({type(t).__name__ for seq in ids for t in seq}))
            assert all(isinstance(t, str) for t in texts), broke(
                "texts are strings", "str", sorted({type(t).__name__ for t in texts}))
            assert all(math.isfinite(s) for s in scores), broke("scores are finite", "finite floats", scores)

    def test_a_single_prompt_is_a_batch_of_one(self, plugin: Any) -> None:
        rows = len(plugin.generate(self.prompts[0]))
        assert rows == 1, broke("a single prompt is a batch of one", 1, rows)

    def test_an_empty_prompt_is_rejected(self, plugin: Any) -> None:
        with refuses("an empty prompt is a DataError saying so", DataError, match="empty"):
            plugin.generate([self.prompts[0], []])

    def test_trace_round_trips_through_json(self, plugin: Any, tmp_path: Any) -> None:
        trace = plugin.generate(list(self.prompts), trace=True).trace
        assert isinstance(trace, DecodingTrace), broke(
            "generate(..., trace=True) returns a DecodingTrace in .trace", "DecodingTrace", type(trace))
        assert trace.steps, broke("a trace records at least the first step", "steps", "none")
        prompts = {s.prompt for s in trace.steps}
        assert prompts == set(range(len(self.prompts))), broke(
            "a trace has steps of every prompt of the batch", set(range(len(self.prompts))), prompts)
        lines = trace.render().count("\n")
        assert lines >= len(trace.steps), broke("render() gives a line per step", f">= {len(trace.steps)}", lines)
        loaded = DecodingTrace.load(trace.save(tmp_path / "trace.json"))
        assert loaded == trace, broke("a trace saved as JSON loads back equal", "an equal trace", "a different one")

    def test_runs_as_a_pipeline_step(self, plugin: Any) -> None:
        import pyarrow as pa

        flow = Flow(table=pa.table({"text": list(self.prompts)}))
        out = run_step(plugin, flow, prompt_column="text", output_column="gen", score_column="gen_score")
        rule = "a decoder step adds the output and score columns and the 'generations' fact"
        assert out.table.column_names == ["text", "gen", "gen_score"], broke(
            rule, ["text", "gen", "gen_score"], out.table.column_names)
        assert out.facts.get("generations") == "gen", broke(rule, "generations = 'gen'", out.facts.get("generations"))
        assert out.table.num_rows == len(self.prompts), broke(
            "a decoder step keeps every row", len(self.prompts), out.table.num_rows)
