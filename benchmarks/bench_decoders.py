"""Decoders side by side: ours vs transformers' `generate` vs the seed article's cache-less beam loop.

Randomly initialised GPT-2-small- and T5-small-shaped models (small ones with --quick), torch
pinned to one thread, everything in this one process. Every run generates exactly
max_new_tokens (min_new_tokens is set to it) so that no method stops early by chance. Every
method gets one short warm-up run per model; the timed runs of the methods compared take turns,
and the best of each counts. Ratios use CPU time (wall time, which on a shared machine also
counts other processes' turns on the core, is printed beside it and given under "wall").
Prints one line per setting with our time / theirs, then one JSON line:
greedy_vs_generate and beam_vs_generate (ours / generate, width 4, 64 new tokens, GPT-2 shape),
speedup_vs_seed_loop (seed loop / ours, width 4, 64 new tokens, T5 shape, as in the article).
The seed comparison summarises a document-length input by default (512 tokens, t5-small's context:
the article fed it a whole Wikipedia page), because the seed loop re-encodes the input for every
candidate and its cost grows with the input; --seed-prompt-tokens sets another length.
With hookyard-ctranslate2 installed, the GPT-2 model is also saved (with a word-level tokenizer of its
vocabulary), converted once and run by ct2-greedy / ct2-beam at float32 and int8 on one thread beside
ours and generate (width 1 and 4, 64 new tokens): beam_vs_ctranslate2 and greedy_vs_ctranslate2 are
ours / CTranslate2 float32, ct2_int8_vs_generate is CTranslate2 int8 / generate at width 4, and
ct2_float32_tokens_equal_generate says whether its float32 tokens were generate's. Without it the
JSON says so under "ctranslate2" and those keys are null.
batch_throughput_vs_generate is our beam decoder's tokens per second with batch_size (continuous
batching: a finished prompt's rows go to the next waiting one) over generate's on the same prompts
in fixed batches of that size: 256 prompts of 4..32 tokens (64 with --quick), width 4, up to 64 new
tokens, on a tiny GPT-2 whose large init ends prompts at many lengths; batch_tokens_equal_generate
says whether every prompt's tokens were generate's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import torch

import engine

PROMPT_TOKENS = 24
BATCH = 2
THROUGHPUT_BATCH = 16
"""Prompts decoded at once in the throughput comparison (64 rows at width 4)."""
CT2_KEYS = ("beam_vs_ctranslate2", "greedy_vs_ctranslate2", "ct2_int8_vs_generate", "ct2_float32_vs_generate")
"""ours / CTranslate2 float32 at width 4 and at width 1; CTranslate2 int8 and float32 / generate at width 4."""


def models(quick: bool) -> dict[str, Any]:
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    if quick:
        gpt2 = GPT2Config(n_layer=2, n_embd=128, n_head=4, vocab_size=2000, eos_token_id=1, pad_token_id=2)
        t5 = T5Config(vocab_size=2000, d_model=128, d_kv=32, d_ff=256, num_layers=2, num_heads=4,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    else:
        gpt2 = GPT2Config(eos_token_id=1, pad_token_id=2)
        t5 = T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    return {"gpt2": GPT2LMHeadModel(gpt2).eval(), "t5": T5ForConditionalGeneration(t5).eval()}


@attrs.frozen
class Timing:
    """The best CPU time and the best wall time of a run's repeats, in seconds."""

    cpu: float
    wall: float


def best_times(runs: list[Callable[[], Any]], repeats: int) -> list[Timing]:
    """The best of `repeats` timings of each run, the runs taking turns so that load changes hit all alike.

    CPU time (of this process, torch on one thread) is what the ratios use: on a shared machine
    wall time also counts the time other processes held the core.
    """
    cpu: list[list[float]] = [[] for _ in runs]
    wall: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, run_cpu, run_wall in zip(runs, cpu, wall):
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            run_cpu.append(time.process_time() - started_cpu)
            run_wall.append(time.perf_counter() - started)
    return [Timing(min(c), min(w)) for c, w in zip(cpu, wall)]


def ours(model: Any, prompts: list[list[int]], width: int, tokens: int) -> Callable[[], Any]:
    name = "greedy" if width == 1 else "beam"
    extra = {} if width == 1 else {"beam_width": width}
    decoder = engine.decoder(name, model=model, max_new_tokens=tokens, min_new_tokens=tokens, **extra).load()
    return lambda: decoder.generate(prompts)


def theirs(model: Any, prompts: list[list[int]], width: int, tokens: int) -> Callable[[], Any]:
    ids = torch.tensor(prompts)
    mask = torch.ones_like(ids)

    def run() -> Any:
        with torch.inference_mode():
            return model.generate(input_ids=ids, attention_mask=mask, num_beams=width, do_sample=False,
                                  max_new_tokens=tokens, min_new_tokens=tokens)

    return run


def seed_loop(model: Any, prompts: list[list[int]], width: int, tokens: int, temperature: float = 1.0) -> Callable[[], Any]:
    """The article's loop: every unfinished candidate re-run from scratch, one forward pass each, no cache.

    As there: softmax(logits / temperature), the top `width` tokens of each candidate scored by
    log(prob), ended candidates carried over as they are, the best `width` kept, a stop once all have ended.
    """
    encoder_decoder = model.config.is_encoder_decoder
    start = [model.config.decoder_start_token_id] if encoder_decoder else []
    eos = model.config.eos_token_id

    def one(prompt: list[int]) -> list[tuple[float, list[int]]]:
        source = torch.tensor([prompt])
        candidates = [(0.0, start)]
        for _ in range(tokens):
            expanded = []
            for score, ids in candidates:
                if ids[len(start):] and ids[-1] == eos:
                    expanded.append((score, ids))
                    continue
                if encoder_decoder:
                    out = model(input_ids=source, decoder_input_ids=torch.tensor([ids]))
                else:
                    out = model(input_ids=torch.tensor([prompt + ids]))
                probs = torch.softmax(out.logits[:, -1, :] / temperature, dim=-1)
                top_probs, top_ids = probs.topk(width)
                for i in range(width):
                    next_id = top_ids[:, i].item()
                    next_score = torch.log(top_probs[:, i]).item()
                    expanded.append((score + next_score, ids + [next_id]))
            candidates = sorted(expanded, key=lambda c: c[0], reverse=True)[:width]
            if all(ids[-1] == eos for _, ids in candidates):
                break
        return candidates

    def run() -> Any:
        with torch.inference_mode():
            return [one(p) for p in prompts]

    return run


def ctranslate2_available() -> bool:
    """Whether the ct2-* decoders can run here (hookyard-ctranslate2 and CTranslate2 installed)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("ctranslate2", "hookyard_ctranslate2"))


def saved_with_tokenizer(model: Any, folder: Path) -> Path:
    """The model written with save_pretrained beside a word-level tokenizer of its whole vocabulary, the
    folder CTranslate2's converter reads."""
    from tokenizers import Tokenizer, models as tokenizer_models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {f"w{i}": i for i in range(model.config.vocab_size)}
    core = Tokenizer(tokenizer_models.WordLevel(words, unk_token="w0"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    model.save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=core, eos_token="w1", unk_token="w0", pad_token="w2").save_pretrained(folder)
    return folder


def ct2(folder: Path, cache: Path, compute_type: str) -> Callable[[list[list[int]], int, int], Callable[[], Any]]:
    """Like `ours`, for the ct2-greedy / ct2-beam decoders of the converted `folder` on one thread."""

    def method(prompts: list[list[int]], width: int, tokens: int) -> Callable[[], Any]:
        name = "ct2-greedy" if width == 1 else "ct2-beam"
        extra = {} if width == 1 else {"beam_width": width}
        decoder = engine.decoder(name, model=folder, cache_dir=cache, compute_type=compute_type, intra_threads=1,
                                 max_new_tokens=tokens, min_new_tokens=tokens, **extra).load()
        return lambda: decoder.generate(prompts)

    return method


def against_ctranslate2(model: Any, prompts: list[list[int]], repeats: int) -> dict[str, Any]:
    """Ours, generate and CTranslate2 float32 and int8 at width 1 and 4, 64 new tokens: the CTranslate2
    keys of the JSON (CPU time, wall time beside it) and whether float32 gave generate's tokens."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = saved_with_tokenizer(model, Path(scratch) / "model")
        float32, int8 = (ct2(folder, Path(scratch) / "cache", kind) for kind in ("float32", "int8"))
        for method in (float32, int8):
            method(prompts[:1], 4, 4)()
        times, same = {}, []
        for width in (1, 4):
            runs = [ours(model, prompts, width, 64), theirs(model, prompts, width, 64),
                    float32(prompts, width, 64), int8(prompts, width, 64)]
            times[width] = best_times(runs, repeats)
            expected = runs[1]()[:, len(prompts[0]):].tolist()
            same.append([list(row[0]) for row in runs[2]().token_ids] == expected)
            mine, anchor, f32, i8 = times[width]
            print(f"gpt2  width {width} tokens  64: ours {mine.cpu:7.3f}s  generate {anchor.cpu:7.3f}s  "
                  f"ct2 float32 {f32.cpu:7.3f}s  ct2 int8 {i8.cpu:7.3f}s  ours/ct2 {mine.cpu / f32.cpu:.3f}  "
                  f"(wall {mine.wall:.3f}s / {f32.wall:.3f}s = {mine.wall / f32.wall:.3f})", flush=True)

    def keys(timer: str) -> dict[str, float]:
        def ratio(width: int, top: int, bottom: int) -> float:
            return round(getattr(times[width][top], timer) / getattr(times[width][bottom], timer), 4)

        return dict(zip(CT2_KEYS, (ratio(4, 0, 2), ratio(1, 0, 2), ratio(4, 3, 1), ratio(4, 2, 1))))

    import ctranslate2

    return {"ctranslate2": ctranslate2.__version__, **keys("cpu"),
            "ct2_float32_tokens_equal_generate": all(same), "wall": keys("wall")}


def batch_throughput(quick: bool, repeats: int) -> tuple[Timing, bool]:
    """Tokens per second of ours with batch_size over generate in fixed batches of that size (CPU and wall),
    and whether every prompt's tokens were the same."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=128, n_head=4, vocab_size=64, eos_token_id=1, pad_token_id=2,
                        initializer_range=0.3)
    model = GPT2LMHeadModel(config).eval()
    generator = torch.Generator().manual_seed(2)
    lengths = torch.randint(4, 33, (64 if quick else 256,), generator=generator).tolist()
    prompts = [torch.randint(3, config.vocab_size, (n,), generator=generator).tolist() for n in lengths]
    decoder = engine.decoder("beam", model=model, max_new_tokens=64, beam_width=4, batch_size=THROUGHPUT_BATCH).load()

    def mine() -> list[list[int]]:
        return [list(row[0]) for row in decoder.generate(prompts).token_ids]

    def fixed_batches() -> list[list[int]]:
        out = []
        for first in range(0, len(prompts), THROUGHPUT_BATCH):
            part = prompts[first: first + THROUGHPUT_BATCH]
            width = max(map(len, part))
            ids = torch.tensor([[config.pad_token_id] * (width - len(p)) + p for p in part])
            mask = torch.arange(width)[None, :] >= width - torch.tensor([len(p) for p in part])[:, None]
            with torch.inference_mode():
                rows = model.generate(input_ids=ids, attention_mask=mask.long(), num_beams=4, do_sample=False,
                                      max_new_tokens=64, pad_token_id=config.pad_token_id)[:, width:].tolist()
            out += [row[: row.index(1) + 1] if 1 in row else row for row in rows]
        return out

    ours_tokens, their_tokens = mine(), fixed_batches()
    generated = sum(map(len, ours_tokens)), sum(map(len, their_tokens))
    us, them = best_times([mine, fixed_batches], repeats)
    speed = Timing((generated[0] / us.cpu) / (generated[1] / them.cpu), (generated[0] / us.wall) / (generated[1] / them.wall))
    print(f"batch {len(prompts)} prompts, batch_size {THROUGHPUT_BATCH}, width 4, up to 64 tokens: "
          f"ours {generated[0] / us.cpu:8.1f} tokens/s  generate {generated[1] / them.cpu:8.1f} tokens/s  "
          f"ratio {speed.cpu:.3f}  (wall {speed.wall:.3f})", flush=True)
    return speed, ours_tokens == their_tokens


def warm_up(model: Any, prompts: list[list[int]]) -> None:
    """One short untimed run of every method on the model, so no timed run pays first-call costs."""
    for method in (ours, theirs, seed_loop):
        method(model, prompts[:1], 4, 4)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small models, fewer settings")
    parser.add_argument("--repeats", type=int, default=None, help="runs per setting; the best counts")
    parser.add_argument("--widths", type=int, nargs="+", default=None, help="beam widths (1 and 4 always run)")
    parser.add_argument("--lengths", type=int, nargs="+", default=None, help="new tokens (64 always runs)")
    parser.add_argument("--seed-prompt-tokens", type=int, default=None,
                        help="input tokens for the seed-loop comparison (default 512, quick: the short prompt)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = args.repeats or (2 if args.quick else 3)
    seed_repeats = args.repeats or (2 if args.quick else 1)
    widths = sorted({1, 4, *(args.widths or ((1, 4) if args.quick else (1, 2, 4, 8)))})
    lengths = sorted({64, *(args.lengths or ((32, 64) if args.quick else (32, 64, 128)))})
    built = models(args.quick)
    generator = torch.Generator().manual_seed(1)
    ratios: dict[tuple[str, int, int], Timing] = {}
    for shape, model in built.items():
        vocab = model.config.vocab_size
        prompts = torch.randint(3, vocab, (BATCH, PROMPT_TOKENS), generator=generator).tolist()
        warm_up(model, prompts)
        for width in widths:
            for tokens in lengths:
                mine, anchor = best_times(
                    [ours(model, prompts, width, tokens), theirs(model, prompts, width, tokens)], repeats
                )
                ratios[(shape, width, tokens)] = ratio = Timing(mine.cpu / anchor.cpu, mine.wall / anchor.wall)
                print(f"{shape:5} width {width} tokens {tokens:3}: ours {mine.cpu:7.3f}s  generate {anchor.cpu:7.3f}s  "
                      f"ratio {ratio.cpu:.3f}  (wall {mine.wall:.3f}s / {anchor.wall:.3f}s = {ratio.wall:.3f})", flush=True)
    throughput, batch_same = batch_throughput(args.quick, repeats)
    gpt2 = built["gpt2"]
    if ctranslate2_available():
        same_as_above = torch.Generator().manual_seed(1)
        prompts = torch.randint(3, gpt2.config.vocab_size, (BATCH, PROMPT_TOKENS), generator=same_as_above).tolist()
        versus_ct2 = against_ctranslate2(gpt2, prompts, repeats)
    else:
        print("ctranslate2 comparison skipped: pip install ./contrib/hookyard-ctranslate2", flush=True)
        versus_ct2 = {"ctranslate2": "not installed", **dict.fromkeys(CT2_KEYS),
                      "ct2_float32_tokens_equal_generate": None, "wall": dict.fromkeys(CT2_KEYS)}
    t5 = built["t5"]
    document = args.seed_prompt_tokens or (PROMPT_TOKENS if args.quick else 512)
    prompts = torch.randint(3, t5.config.vocab_size, (1, document), generator=generator).tolist()
    warm_up(t5, prompts)
    mine, seed = best_times([ours(t5, prompts, 4, 64), seed_loop(t5, prompts, 4, 64)], seed_repeats)
    speedup = Timing(seed.cpu / mine.cpu, seed.wall / mine.wall)
    print(f"t5    width 4 tokens  64, {document}-token input: ours {mine.cpu:7.3f}s  seed loop {seed.cpu:7.3f}s  speedup {speedup.cpu:.1f}x  "
          f"(wall {mine.wall:.3f}s / {seed.wall:.3f}s = {speedup.wall:.1f}x)", flush=True)
    wall_ct2 = versus_ct2.pop("wall")
    print(json.dumps({
        "quick": args.quick,
        "timer": "cpu",
        "greedy_vs_generate": round(ratios[("gpt2", 1, 64)].cpu, 4),
        "beam_vs_generate": round(ratios[("gpt2", 4, 64)].cpu, 4),
        "beam_vs_generate_t5": round(ratios[("t5", 4, 64)].cpu, 4),
        "speedup_vs_seed_loop": round(speedup.cpu, 2),
        "seed_prompt_tokens": document,
        "batch_throughput_vs_generate": round(throughput.cpu, 4),
        "batch_tokens_equal_generate": batch_same,
        **versus_ct2,
        "wall": {
            **wall_ct2,
            "greedy_vs_generate": round(ratios[("gpt2", 1, 64)].wall, 4),
            "beam_vs_generate": round(ratios[("gpt2", 4, 64)].wall, 4),
            "beam_vs_generate_t5": round(ratios[("t5", 4, 64)].wall, 4),
            "speedup_vs_seed_loop": round(speedup.wall, 2),
            "batch_throughput_vs_generate": round(throughput.wall, 4),
        },
    }))

if __name__ == "__main__":
    main()
