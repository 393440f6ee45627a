"""The generation settings a decoder follows, read as transformers' `generate` reads them.

Priority, as in `generate`: a decoder's own option (given, not None), then `generation_overrides`
(what `generate(**kwargs)` users pass), then the model's `generation_config`, then transformers'
global defaults (`GenerationConfig._get_default_generation_params()`: top_k 50, length_penalty 1,...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import OptionError

READ = (
    "eos_token_id", "forced_bos_token_id", "forced_eos_token_id", "suppress_tokens", "begin_suppress_tokens",
    "bad_words_ids", "min_length", "min_new_tokens", "repetition_penalty", "no_repeat_ngram_size", "num_beams",
    "length_penalty", "early_stopping", "num_return_sequences", "temperature", "top_k", "top_p", "min_p",
)
"""The generation-config fields that change what a decoder generates, and so the ones it reads."""


class GenerationValues:
    """The value of each field in READ for one model: overrides, else the model's config, else the defaults."""

    def __init__(self, model: Any, overrides: Mapping[str, Any] | None = None) -> None:
        from transformers import GenerationConfig

        unknown = sorted(set(overrides or {}) - set(READ))
        if unknown:
            raise OptionError(
                f"generation_overrides has fields {unknown} that no decoder reads; the fields read are: {', '.join(READ)}"
            )
        config = getattr(model, "generation_config", None)
        self._model = {name: getattr(config, name, None) for name in READ}
        self._model = {name: value for name, value in self._model.items() if value is not None}
        self._model.update(overrides or {})
        self._defaults = GenerationConfig._get_default_generation_params()

    def set_by_model(self, name: str) -> Any:
        """The model's (or the overrides') value, None when neither sets one."""
        return self._model.get(name)

    def __getitem__(self, name: str) -> Any:
        """The value `generate` would use when its caller does not pass one."""
        value = self._model.get(name)
        return self._defaults.get(name) if value is None else value

    def pick(self, name: str, option: Any) -> Any:
        """Our option when given (not None), else what `generate` would use."""
        return self[name] if option is None else option


def token_list(value: Any) -> tuple[int, ...]:
    """An id or a list of ids (as the config writes them) as a tuple; empty for None."""
    if value is None:
        return ()
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in value)
