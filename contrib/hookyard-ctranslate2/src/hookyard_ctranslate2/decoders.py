"""`ct2-greedy`, `ct2-beam` and `ct2-sample`: the built-in decoders' options, run by CTranslate2 on the
model converted once into the cache. Results are engine.kinds.decoder's GenerationResult records."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from engine.errors import OptionError
from engine.kinds.decoder import GenerationResult
from hookyard_ctranslate2.model import COMPUTE_TYPES, ConvertedModel
from plugins.decoders.base import at_least, positive

UNAPPLIED = ("forced_bos_token_id", "forced_eos_token_id", "begin_suppress_tokens", "min_length")
"""Generation-config fields the built-in decoders follow and CTranslate2 has no option for."""


def _compute_type(instance: Any, attribute: Any, value: str) -> None:
    if value not in COMPUTE_TYPES:
        raise OptionError(f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, got {value!r}")


@attrs.define(kw_only=True, eq=False)
class CT2Decoder:
    """A decoder over a transformers folder (written with save_pretrained, its tokenizer in it) run by CTranslate2.

    The folder is converted on first use into `cache_dir` (default $XDG_CACHE_HOME/hookyard-ctranslate2)
    under a hash of its files, and later loads read the converted model from there. `compute_type`
    is `float32` (tokens equal transformers' `generate`), `int8` or `int8_float32` (quantised weights:
    faster, tokens may differ); `intra_threads` are CTranslate2's threads (0: its default); `device`
    is `cpu`, `cuda` or `auto`. Options left at None follow the model's generation config, as the
    built-in decoders do; `trust_remote_code` runs code shipped with the checkpoint, only when set.
    `repetition_penalty` and `no_repeat_ngram_size` (from the generation config, and options of
    ct2-beam) follow CTranslate2's own rules, which count other tokens than transformers' (and apply
    to logits in beam search too), so with either set results differ from `generate`'s.
    """

    lacks: ClassVar[dict[str, str]] = {}
    """Options of the built-in decoders that CTranslate2 cannot honour: set to anything but their
    default, an OptionError naming the option and saying why."""
    name: ClassVar[str]

    model: str | os.PathLike[str]
    tokenizer: str | os.PathLike[str] | Any | None = None
    max_new_tokens: int = attrs.field(default=32, validator=at_least(1))
    min_new_tokens: int | None = attrs.field(default=None, validator=at_least(0))
    generation_overrides: dict[str, Any] | None = None
    trust_remote_code: bool = False
    compute_type: str = attrs.field(default="float32", validator=_compute_type)
    intra_threads: int = attrs.field(default=0, validator=at_least(0))
    device: str = "cpu"
    cache_dir: str | os.PathLike[str] | None = None
    model_: ConvertedModel | None = attrs.field(default=None, init=False, repr=False)
    values_: Any = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        fields = attrs.fields_dict(type(self))
        for option, why in self.lacks.items():
            value = getattr(self, option)
            if value != fields[option].default:
                raise OptionError(f"{self.name} cannot take {option}={value!r}: {why}")
        if self.min_new_tokens is not None and self.min_new_tokens > self.max_new_tokens:
            raise OptionError(
                f"min_new_tokens ({self.min_new_tokens}) is more than max_new_tokens ({self.max_new_tokens})")

    def load(self) -> CT2Decoder:
        """Convert (first time only) and load the model now; generate does it on first use. Returns self."""
        if self.model_ is None:
            from plugins.decoders.generation_settings import GenerationValues

            model = ConvertedModel.load(
                self.model, self.tokenizer, cache_dir=self.cache_dir, compute_type=self.compute_type,
                intra_threads=self.intra_threads, device=self.device, trust_remote_code=self.trust_remote_code)
            self.values_ = GenerationValues(model.holder, self.generation_overrides)
            self.model_ = model
            self.search_options()
        return self

    def generate(self, prompts: str | Sequence[Any], *, trace: bool = False) -> GenerationResult:
        """Continue one prompt or a batch (strings, token ids or a tokenizer's output)."""
        from plugins.decoders.prompts import prompt_ids

        if trace:
            raise OptionError(f"trace: {self.name} cannot record a decoding trace, since CTranslate2 does not "
                              "expose each step's candidates; use the built-in decoder of that search for traces")
        model = self.load().model_
        ids = prompt_ids(prompts, model.tokenizer, model.vocab_size)
        model.check_length(ids, self.max_new_tokens)
        minimum = self.values_.pick("min_new_tokens", self.min_new_tokens) or 0
        sequences, scores = model.search(ids, max_new_tokens=self.max_new_tokens, min_new_tokens=int(minimum),
                                         **self.search_options())
        texts = None if model.tokenizer is None else [[model.decode(s) for s in row] for row in sequences]
        return GenerationResult(sequences, texts, scores)

    def search_options(self) -> dict[str, Any]:
        """CTranslate2's options for this search; a generation-config field it cannot apply is an OptionError."""
        from plugins.decoders.generation_settings import token_list

        values, model = self.values_, self.model_
        for field in self.unapplied():
            value = values.set_by_model(field)
            if value not in (None, 0, [], ()):
                raise OptionError(
                    f"the model's generation_config (or generation_overrides) sets {field}={value!r}, which "
                    f"{self.name} cannot apply (CTranslate2 has no such option); use a built-in decoder, or "
                    f"decode without it: generation_overrides={{{field!r}: None}}")
        repetition = float(self.pick("repetition_penalty"))
        positive(None, "repetition_penalty", repetition)
        banned = [token_list(word) for word in values["bad_words_ids"] or ()]
        banned += [(t,) for t in token_list(values["suppress_tokens"])]
        outside = [t for word in banned for t in word if not 0 <= t < model.vocab_size]
        if outside:
            raise OptionError(f"bad_words_ids / suppress_tokens have ids {outside[:5]} outside the vocabulary "
                              f"(0..{model.vocab_size - 1}); fix the model's generation_config or give generation_overrides")
        return {
            "repetition_penalty": repetition,
            "no_repeat_ngram_size": int(self.pick("no_repeat_ngram_size")),
            "suppress_sequences": [model.tokens(word) for word in banned] or None,
        }

    def unapplied(self) -> tuple[str, ...]:
        return UNAPPLIED

    def pick(self, field: str, option: Any = None) -> Any:
        """An option as given, else what the model's generation config (or the overrides) says."""
        return self.values_.pick(field, option)


@attrs.define(kw_only=True, eq=False)
class CT2Greedy(CT2Decoder):
    """The most likely token at each step; at float32 token-identical to `generate(do_sample=False)`
    (min_new_tokens included). The score is the sum of the tokens' log-probabilities."""

    lacks: ClassVar[dict[str, str]] = {"stop_strings": "CTranslate2 cannot stop at strings; use greedy"}
    name: ClassVar[str] = "ct2-greedy"

    stop_strings: list[str] | None = None

    def search_options(self) -> dict[str, Any]:
        return {**super().search_options(), "beam_size": 1, "length_penalty": 0.0}


@attrs.define(kw_only=True, eq=False)
class CT2Beam(CT2Decoder):
    """Beam search; at float32 the sequences and scores of `generate(num_beams=..., early_stopping=True)`.

    `beam_width` left at None is the model's `num_beams` when more than 1, else 4; `length_penalty`
    and `num_return_sequences` follow the generation config. The search ends once `beam_width`
    hypotheses have finished, as transformers' `early_stopping=True` (other values are refused).
    """

    lacks: ClassVar[dict[str, str]] = {
        "temperature": "CTranslate2's beam search ignores temperature; use beam",
        "early_stopping": "CTranslate2's beam search stops as transformers' early_stopping=True only; use beam",
        "decay_repeated": "CTranslate2 has no repeated-token decay (the seed article's rule); use penalty",
    }
    name: ClassVar[str] = "ct2-beam"

    beam_width: int | None = attrs.field(default=None, validator=at_least(1))
    length_penalty: float | None = None
    num_return_sequences: int | None = attrs.field(default=None, validator=at_least(1))
    repetition_penalty: float | None = attrs.field(default=None, validator=positive)
    no_repeat_ngram_size: int | None = attrs.field(default=None, validator=at_least(0))
    temperature: float = 1.0
    early_stopping: bool | str = True
    decay_repeated: bool = False

    def search_options(self) -> dict[str, Any]:
        from plugins.decoders.beam import DEFAULT_BEAM_WIDTH

        width = self.beam_width
        if width is None:
            asked = self.values_.set_by_model("num_beams")
            width = asked if asked is not None and asked > 1 else DEFAULT_BEAM_WIDTH
        returned = int(self.pick("num_return_sequences", self.num_return_sequences))
        if returned > width:
            raise OptionError(f"num_return_sequences ({returned}) cannot exceed beam_width ({width}); "
                              "raise beam_width or return fewer sequences")
        return {
            **super().search_options(),
            "repetition_penalty": float(self.pick("repetition_penalty", self.repetition_penalty)),
            "no_repeat_ngram_size": int(self.pick("no_repeat_ngram_size", self.no_repeat_ngram_size)),
            "beam_size": width,
            "num_hypotheses": returned,
            "length_penalty": float(self.pick("length_penalty", self.length_penalty)),
        }


@attrs.define(kw_only=True, eq=False)
class CT2Sample(CT2Decoder):
    """Draws each token from the tempered distribution cut to `top_k` and `top_p` (left at None: the
    generation config's, else 1.0, 50 and 1.0, as `generate(do_sample=True)`). With a `seed` the draws
    repeat: decoders built with the same seed draw the same sequences call after call (a decoder's
    successive calls continue one random stream). The draws are CTranslate2's, not torch's. The
    score is the sum of the tokens' log-probabilities."""

    lacks: ClassVar[dict[str, str]] = {
        "min_p": "CTranslate2 has no min_p filter; use sample",
        "stop_strings": "CTranslate2 cannot stop at strings; use sample",
    }
    name: ClassVar[str] = "ct2-sample"

    temperature: float | None = attrs.field(default=None, validator=positive)
    top_k: int | None = attrs.field(default=None, validator=at_least(0))
    top_p: float | None = None
    seed: int | None = None
    min_p: float | None = None
    stop_strings: list[str] | None = None

    def unapplied(self) -> tuple[str, ...]:
        return (*UNAPPLIED, "min_p")

    def load(self) -> CT2Sample:
        """Load the model, its random stream seeded: CTranslate2 seeds a thread's generator when it starts
        the thread, and the model's threads start here (unseeded, from the system's randomness)."""
        import secrets

        import ctranslate2

        if self.model_ is None:
            ctranslate2.set_random_seed(secrets.randbits(32) if self.seed is None else self.seed)
        return super().load()

    def search_options(self) -> dict[str, Any]:
        temperature, top_p = float(self.pick("temperature", self.temperature)), float(self.pick("top_p", self.top_p))
        positive(None, "temperature", temperature)
        if not 0.0 < top_p <= 1.0:
            raise OptionError(f"top_p must be in (0, 1], got {top_p!r}")
        top_k = int(self.pick("top_k", self.top_k))
        return {
            **super().search_options(),
            "beam_size": 1,
            "length_penalty": 0.0,
            "sampling_topk": min(top_k, self.model_.vocab_size),
            "sampling_topp": top_p,
            "sampling_temperature": temperature,
        }
