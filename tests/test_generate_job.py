"""examples/generate.toml run as a user runs it, in a subprocess, on a tiny GPT-2 saved first: the
Parquet it writes holds what the decoder, called directly, generates for the same prompts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

import engine
from tests.decoders import tiny_models as tiny

ROOT = Path(__file__).resolve().parents[1]
GENERATE = ROOT / "examples" / "generate.toml"
PROMPTS = ROOT / "examples" / "data" / "prompts.csv"


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.write_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.mark.parametrize("decoder", ["beam", "greedy"])
def test_the_generation_job_writes_what_the_decoder_generates(gpt2_dir: Path, tmp_path: Path, decoder: str) -> None:
    out = tmp_path / "generations.parquet"
    ran = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(GENERATE), "--set", f"decoder.name={decoder}",
         "--set", f"decoder.options.model={json.dumps(str(gpt2_dir))}", "--set", f"sink.path={json.dumps(str(out))}",
         "--json"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [s["name"] for s in summary["steps"]] == ["duckdb", "beam" if decoder == "beam" else "greedy", "parquet"]
    assert summary["outputs"] == [{"location": str(out), "format": "parquet", "rows": 6, "table": None}]
    assert "report" not in summary

    written = pq.read_table(out)
    prompts = pv.read_csv(PROMPTS)
    assert written.column_names == ["id", "prompt", "generation", "score"]
    assert written.column("prompt").to_pylist() == prompts.column("prompt").to_pylist()
    direct = engine.decoder(decoder, model=gpt2_dir, max_new_tokens=20).generate(prompts.column("prompt").to_pylist())
    assert written.column("generation").to_pylist() == direct.best_texts
    assert written.column("score").to_pylist() == pytest.approx(direct.best_scores, abs=1e-5)


def test_traces_are_written_on_request(gpt2_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "traced.parquet"
    ran = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(GENERATE), "--quiet",
         "--set", f"decoder.options.model={json.dumps(str(gpt2_dir))}", "--set", f"sink.path={json.dumps(str(out))}",
         "--set", "decoder.params.trace_column=\"trace\""],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    written = pq.read_table(out)
    assert written.column_names == ["id", "prompt", "generation", "score", "trace"]
    for prompt, text in enumerate(written.column("trace").to_pylist()):
        steps = json.loads(text)
        assert {s["prompt"] for s in steps} == {prompt}
        assert [s["step"] for s in steps] == list(range(len(steps))) and 1 <= len(steps) <= 20
        kept = [c for c in steps[0]["candidates"] if c["status"] == "kept"]
        assert kept and all({"beam", "token_id", "log_prob", "score"} <= set(c) for c in kept)
