"""A transformers `save_pretrained` folder converted to CTranslate2 once, into a cache keyed by a hash of
the folder's files (and CTranslate2's version), so that later loads skip the conversion."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from engine import commit
from engine.errors import DataError

CONVERTED = "model.bin"
"""The file every converted model holds; a cache entry appears whole or not at all, so its presence says done."""

CONVERSION_LOCK = ".converting.lock"
"""The file in the cache folder that conversions take turns on (flock); never removed, so never raced."""
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
"""A save_pretrained folder with a tokenizer holds one of these (transformers 5 builds an empty tokenizer without)."""
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "decoder_start_token")


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/hookyard-ctranslate2, by default ~/.cache/hookyard-ctranslate2."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hookyard-ctranslate2"


def model_folder(model: str | os.PathLike[str]) -> Path:
    """The transformers folder to convert; anything else is a DataError saying what to give."""
    folder = Path(os.path.expanduser(os.fspath(model)))
    if not (folder / "config.json").is_file():
        raise DataError(
            f"{str(model)!r} is not a folder written with save_pretrained (it has no config.json); CTranslate2 "
            "decoders convert such a folder, with the model's tokenizer saved in it"
        )
    return folder


def model_key(folder: Path) -> str:
    """sha256 over CTranslate2's version and every file of the folder (its relative path, size and bytes)."""
    import ctranslate2

    digest = hashlib.sha256(f"ctranslate2 {ctranslate2.__version__}\n".encode())
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def converted(model: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, *,
              trust_remote_code: bool = False) -> Path:
    """The CTranslate2 folder of `model`, converted now unless the cache already holds it.

    The conversion runs apart from any open Hookyard run (`engine.commit.apart`), so the cache entry
    is written atomically at once and survives a run that fails later: it is a cache, not a run's output.
    """
    folder = model_folder(model)
    target = Path(os.path.expanduser(os.fspath(cache_dir or default_cache_dir()))) / model_key(folder)
    if not (target / CONVERTED).is_file():
        with _converting(target.parent):
            if not (target / CONVERTED).is_file():
                with commit.apart():
                    _convert(folder, target, trust_remote_code)
    return target


@contextlib.contextmanager
def _converting(cache: Path) -> Iterator[None]:
    """One conversion at a time per cache (processes starting together, Ray actors): the others wait here,
    then find the entry made."""
    import fcntl

    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / CONVERSION_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _convert(folder: Path, target: Path, trust_remote_code: bool) -> None:
    from ctranslate2.converters import TransformersConverter

    from engine.atomic import atomic_folder

    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise DataError(
            f"{str(folder)!r} holds no tokenizer, and CTranslate2's converter reads the model's vocabulary from "
            "it; save the tokenizer in the model's folder (tokenizer.save_pretrained(folder))"
        )
    with atomic_folder(target) as staged:
        try:
            TransformersConverter(str(folder), trust_remote_code=trust_remote_code).convert(str(staged), force=True)
        except (OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
            raise DataError(
                f"CTranslate2 could not convert {str(folder)!r}: {exc!r}. It needs a model of an architecture "
                "CTranslate2 supports, saved with save_pretrained together with its tokenizer"
            ) from exc
        _fill_special_tokens(staged / "config.json")


def _fill_special_tokens(config_path: Path) -> None:
    """CTranslate2 cannot load a model whose config leaves a special token null, which the converter writes
    when the tokenizer has none (no BOS, say). The decoders pass their own end ids and never add a BOS, so a
    missing one is given the EOS token (or the vocabulary's first token) as a stand-in."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if all(config.get(name, "") is not None for name in SPECIAL_TOKENS):
        return
    stand_in = config.get("eos_token") or vocabulary(config_path.parent)[0]
    for name in SPECIAL_TOKENS:
        if name in config and config[name] is None:
            config[name] = stand_in
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")


VOCABULARIES = ("vocabulary.json", "shared_vocabulary.json", "target_vocabulary.json")


def vocabulary(folder: Path) -> list[str]:
    """The target vocabulary of a converted model: token strings by id."""
    for name in VOCABULARIES:
        if (folder / name).is_file():
            return json.loads((folder / name).read_text(encoding="utf-8"))
    raise DataError(f"the converted model in {str(folder)!r} has no vocabulary file ({', '.join(VOCABULARIES)})")

