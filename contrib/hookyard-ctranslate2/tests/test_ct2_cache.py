"""A transformers folder is converted once into the cache, under a hash of its files, and read from there later."""

from __future__ import annotations

import shutil
import subprocess
import sys

import ctranslate2.converters
import pytest

import engine
from engine import commit
from engine.errors import DataError
from hookyard_ctranslate2.cache import CONVERSION_LOCK, model_key

PROMPTS = ["w4 w5 w6", "w7 w8"]


def build(model_dir, cache_dir, **options):
    return engine.decoder("ct2-greedy", model=str(model_dir), cache_dir=str(cache_dir), max_new_tokens=6, **options)


def test_a_folder_is_converted_once_and_then_read_from_the_cache(gpt2_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = build(gpt2_dir, cache).generate(PROMPTS)
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    assert [p.name for p in entries] == [model_key(gpt2_dir)]
    assert (entries[0] / "model.bin").is_file() and not list(cache.glob(".*stage"))

    def refuse(*args, **kwargs):
        raise AssertionError("converted again although the cache holds the model")

    monkeypatch.setattr(ctranslate2.converters.TransformersConverter, "convert", refuse)
    assert build(gpt2_dir, cache, compute_type="int8").generate(PROMPTS).token_ids
    assert build(gpt2_dir, cache).generate(PROMPTS) == first


def test_the_key_follows_the_files(gpt2_dir, tmp_path):
    copy = shutil.copytree(gpt2_dir, tmp_path / "copy")
    assert model_key(copy) == model_key(gpt2_dir)
    (copy / "generation_config.json").write_text((copy / "generation_config.json").read_text().replace("}", ' , "x": 1}'))
    assert model_key(copy) != model_key(gpt2_dir)
    (copy / ".hidden").write_text("not part of the model")
    edited = model_key(copy)
    (copy / ".hidden").write_text("still not part of it")
    assert model_key(copy) == edited


def test_processes_starting_together_convert_once(gpt2_dir, tmp_path):
    cache = tmp_path / "cache"
    script = ("import sys, engine; d = engine.decoder('ct2-greedy', model=sys.argv[1], cache_dir=sys.argv[2], "
              "max_new_tokens=4); print(d.generate([[4, 5, 6]]).token_ids)")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(gpt2_dir), str(cache)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == [model_key(gpt2_dir)]


def test_the_cache_is_written_at_once_inside_a_run(gpt2_dir, tmp_path):
    cache = tmp_path / "cache"
    with commit.outputs():
        build(gpt2_dir, cache).load()
        assert (cache / model_key(gpt2_dir) / "model.bin").is_file()


def test_a_failed_conversion_leaves_no_entry(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.decoders.tiny_models import tokenizer

    untokenized, mismatched, cache = tmp_path / "untokenized", tmp_path / "mismatched", tmp_path / "cache"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=24)).save_pretrained(untokenized)
    with pytest.raises(DataError, match="no tokenizer"):
        build(untokenized, cache).load()
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=30)).save_pretrained(mismatched)
    tokenizer("<fill>").save_pretrained(mismatched)
    with pytest.raises(DataError, match="could not convert"):
        build(mismatched, cache).load()
    assert [p.name for p in cache.iterdir() if p.name not in (".hookyard.lock", CONVERSION_LOCK)] == []


def test_only_a_save_pretrained_folder_is_accepted(tmp_path):
    with pytest.raises(DataError, match="config.json"):
        build(tmp_path / "nothing-here", tmp_path / "cache").load()


def test_the_default_cache_is_under_xdg_cache_home(gpt2_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    engine.decoder("ct2-greedy", model=str(gpt2_dir), max_new_tokens=4).load()
    assert (tmp_path / "xdg" / "hookyard-ctranslate2" / model_key(gpt2_dir) / "model.bin").is_file()
