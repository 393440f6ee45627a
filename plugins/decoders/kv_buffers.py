"""A KV cache layer for beam search that copies the cache once per step instead of twice.

transformers' DynamicLayer reorders by index_select (one copy of the cache) and then grows by
concatenation (a second copy). BufferedLayer keeps keys and values in two buffers sized for the
whole generation: a reorder gathers the rows into the spare buffer (the one copy), and a new
token is written in place after the filled part. For continuous batching a layer also takes a
fresh prompt's cache into some rows (right-aligned) and moves its window (drops unused leading
positions, or makes masked room in front for a longer prompt).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer


class BufferedLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views of preallocated, double-buffered storage.

    Made for beam search: it updates and reorders; cropping or reselecting rows is not supported.
    """

    def __init__(self, source: DynamicLayer, rows: torch.Tensor, capacity: int) -> None:
        super().__init__()
        self.device = source.keys.device
        self.is_initialized = True
        self._key_buffers = [_room_for(source.keys, len(rows), capacity) for _ in range(2)]
        self._value_buffers = [_room_for(source.values, len(rows), capacity) for _ in range(2)]
        self._current = 1
        self._length = source.keys.shape[-2]
        self.keys, self.values = source.keys, source.values
        self.reorder_cache(rows)  # gathers the source's rows into buffer 0, which becomes current

    def _show(self) -> None:
        self.keys = self._key_buffers[self._current][:, :, : self._length]
        self.values = self._value_buffers[self._current][:, :, : self._length]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new positions after the filled part; the keys and values so far, as views."""
        start, self._length = self._length, self._length + key_states.shape[-2]
        self._key_buffers[self._current][:, :, start : self._length].copy_(key_states)
        self._value_buffers[self._current][:, :, start : self._length].copy_(value_states)
        self._show()
        return self.keys, self.values

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Gather the rows into the spare buffer, which becomes the current one."""
        spare = 1 - self._current
        torch.index_select(self.keys, 0, beam_idx, out=self._key_buffers[spare][:, :, : self._length])
        torch.index_select(self.values, 0, beam_idx, out=self._value_buffers[spare][:, :, : self._length])
        self._current = spare
        self._show()

    def place(self, rows: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write a fresh prompt's keys and values into `rows`, right-aligned to the filled part (continuous batching)."""
        span = slice(self._length - keys.shape[-2], self._length)
        self._key_buffers[self._current][rows, :, span] = keys
        self._value_buffers[self._current][rows, :, span] = values

    def relayout(self, drop: int, front: int) -> None:
        """Drop the first `drop` positions and put `front` zeroed positions before the rest, in the spare buffer."""
        spare, kept = 1 - self._current, self._length - drop
        for buffers, states in ((self._key_buffers, self.keys), (self._value_buffers, self.values)):
            buffers[spare][:, :, :front].zero_()
            buffers[spare][:, :, front: front + kept].copy_(states[:, :, drop:])
        self._current, self._length = spare, front + kept
        self._show()

    def get_max_length(self) -> int:
        """The most positions the buffers hold."""
        return self._key_buffers[0].shape[-2]


def _room_for(states: torch.Tensor, rows: int, capacity: int) -> torch.Tensor:
    """An empty (rows, heads, capacity, head_dim) buffer like `states`."""
    return states.new_empty((rows, states.shape[1], capacity, states.shape[-1]))


def expand_for_beams(cache: Any, rows: torch.Tensor, new_tokens: int) -> None:
    """Take the given rows of the cache, its self-attention layers into BufferedLayers with room for `new_tokens` more.

    Only plain DynamicLayers are replaced (sliding-window, static or quantised layers keep their own
    reordering); an encoder-decoder cache's cross-attention part is simply reordered.
    """
    cross = getattr(cache, "cross_attention_cache", None)
    if cross is not None:
        cross.reorder_cache(rows)
    own = self_attention(cache)
    layers = getattr(own, "layers", None)
    if layers is None:
        own.reorder_cache(rows)
        return
    for index, layer in enumerate(layers):
        if type(layer) is DynamicLayer and layer.is_initialized and layer.keys.numel():
            layers[index] = BufferedLayer(layer, rows, layer.keys.shape[-2] + new_tokens)
        else:
            layer.reorder_cache(rows)


def self_attention(cache: Any) -> Any:
    """The part of a cache that differs between beams of one prompt (all of it for a decoder-only model)."""
    return getattr(cache, "self_attention_cache", cache)
