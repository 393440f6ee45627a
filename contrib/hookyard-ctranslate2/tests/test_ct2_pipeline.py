"""examples/generate.toml run through the CLI with `--set decoder.name=ct2-beam`: the Parquet it writes holds
what ct2-beam, called directly, generates for the same prompts."""

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

ROOT = Path(__file__).resolve().parents[3]
GENERATE = ROOT / "examples" / "generate.toml"
PROMPTS = ROOT / "examples" / "data" / "prompts.csv"


def test_the_generation_job_runs_with_ct2_beam(gpt2_dir, tmp_path):
    out, cache = tmp_path / "generations.parquet", tmp_path / "cache"
    ran = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(GENERATE), "--set", "decoder.name=ct2-beam",
         "--set", f"decoder.options.model={json.dumps(str(gpt2_dir))}",
         "--set", f"decoder.options.cache_dir={json.dumps(str(cache))}",
         "--set", f"sink.path={json.dumps(str(out))}", "--json"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [s["name"] for s in summary["steps"]] == ["duckdb", "ct2-beam", "parquet"]
    written = pq.read_table(out)
    prompts = pv.read_csv(PROMPTS).column("prompt").to_pylist()
    assert written.column_names == ["id", "prompt", "generation", "score"]
    direct = engine.decoder("ct2-beam", model=gpt2_dir, cache_dir=cache, max_new_tokens=20).generate(prompts)
    assert written.column("generation").to_pylist() == direct.best_texts
    assert written.column("score").to_pylist() == pytest.approx(direct.best_scores, abs=1e-5)
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] != []


def test_a_trace_column_is_refused_naming_the_option(gpt2_dir, tmp_path):
    ran = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(GENERATE), "--quiet", "--set", "decoder.name=ct2-beam",
         "--set", f"decoder.options.model={json.dumps(str(gpt2_dir))}",
         "--set", f"decoder.options.cache_dir={json.dumps(str(tmp_path / 'cache'))}",
         "--set", f"sink.path={json.dumps(str(tmp_path / 'out.parquet'))}", "--set", 'decoder.params.trace_column="trace"'],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert ran.returncode != 0
    assert "trace" in ran.stderr and "CTranslate2" in ran.stderr
    assert not (tmp_path / "out.parquet").exists()
