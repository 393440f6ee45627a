"""What users pass as prompts, made into one list of token ids per prompt.

Accepted: a string, a list of ids (Python or numpy ints, 0-d tensors), a 1-D or 2-D integer
array or tensor, a list of any of these, or a tokenizer's output (a BatchEncoding or dict with
`input_ids` and optionally `attention_mask`, as `generate(**inputs)` users pass it), whose masked
positions (padding, on either side) are dropped. Float or bool ids, empty prompts and ids outside
the vocabulary are DataErrors.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from engine.errors import DataError

_ENCODING_KEYS = ("input_ids", "attention_mask")


def prompt_ids(prompts: Any, tokenizer: Any, vocab_size: int) -> list[list[int]]:
    """Every prompt of `prompts` as token ids, checked against the vocabulary."""
    batch = _from_encoding(prompts) if isinstance(prompts, Mapping) else _as_batch(prompts)
    if not batch:
        raise DataError("no prompts were given; pass a string, a list of token ids, or a list of either")
    ids = [_one(p, i, tokenizer) for i, p in enumerate(batch)]
    for i, row in enumerate(ids):
        bad = [t for t in row if not 0 <= t < vocab_size]
        if bad:
            raise DataError(f"prompt {i} has token ids {bad[:5]} outside the vocabulary (0..{vocab_size - 1})")
    return ids


def _as_batch(prompts: Any) -> list[Any]:
    """One prompt (a string or a flat run of ids) becomes a batch of one."""
    if isinstance(prompts, str):
        return [prompts]
    if hasattr(prompts, "tolist"):
        prompts = prompts.tolist()
    if isinstance(prompts, (int, float)):
        prompts = [prompts]
    try:
        prompts = list(prompts)
    except TypeError:
        raise DataError(
            f"prompts are a {type(prompts).__name__}; give a string, a list of token ids, or a list of either"
        ) from None
    if prompts and all(_is_scalar(p) for p in prompts):
        return [prompts]
    return prompts


def _is_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Number) or getattr(value, "ndim", None) == 0


def _one(prompt: Any, index: int, tokenizer: Any) -> list[int]:
    """One prompt as token ids: text through the tokenizer, ids checked to be integers."""
    if isinstance(prompt, str):
        if tokenizer is None:
            raise DataError(f"prompt {index} is text but the decoder has no tokenizer; give tokenizer= or token ids")
        if not prompt:
            raise DataError(
                f"prompt {index} is empty text; give text to continue (to generate from the start token alone, "
                "pass its id as a prompt of token ids, for example [tokenizer.bos_token_id])"
            )
        ids = list(tokenizer(prompt)["input_ids"])
    else:
        if hasattr(prompt, "tolist"):
            prompt = prompt.tolist()
        if _is_scalar(prompt) or not isinstance(prompt, Sequence):
            raise DataError(f"prompt {index} is a {type(prompt).__name__}; give a string or a list of token ids")
        ids = [_token(t, index) for t in prompt]
    if not ids:
        raise DataError(f"prompt {index} is empty; give at least one token of text to continue")
    return ids


def _token(value: Any, index: int) -> int:
    """One id as a Python int; floats and bools are refused rather than truncated."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise DataError(
        f"prompt {index} has the token id {value!r} ({type(value).__name__}); token ids must be integers "
        "(an array or tensor of ids needs an integer dtype)"
    )


def _from_encoding(encoding: Mapping[str, Any]) -> list[list[int]]:
    """A tokenizer's output as prompts: each row's ids where the attention mask is 1."""
    other = sorted(set(encoding) - set(_ENCODING_KEYS))
    if "input_ids" not in encoding or other:
        raise DataError(
            f"a mapping of prompts must hold input_ids and optionally attention_mask, as a tokenizer returns them; "
            f"it has {sorted(encoding)}" + (f": drop {other}" if other else "")
        )
    rows = _rows(encoding["input_ids"])
    mask = encoding.get("attention_mask")
    if mask is None:
        return rows
    masks = _rows(mask)
    if [len(m) for m in masks] != [len(r) for r in rows]:
        raise DataError("attention_mask does not have the shape of input_ids; pass both as the tokenizer returned them")
    kept = []
    for i, (row, marks) in enumerate(zip(rows, masks)):
        on = [k for k, m in enumerate(marks) if m]
        if on and on[-1] - on[0] + 1 != len(on):
            raise DataError(
                f"row {i} of attention_mask has padding inside the prompt; only padding on the left or right is understood"
            )
        kept.append(row[on[0]: on[-1] + 1] if on else [])
    return kept


def _rows(value: Any) -> list[Any]:
    """input_ids or attention_mask (one row or a batch) as a list of rows."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    value = list(value)
    if value and all(_is_scalar(v) for v in value):
        return [value]
    return [list(row.tolist() if hasattr(row, "tolist") else row) for row in value]
