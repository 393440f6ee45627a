"""Tiny random GPT-2 and T5 models (Hookyard's decoder test models, written with save_pretrained, nothing
downloaded), converted once per session into a temporary cache shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.decoders.conftest import gpt2_dir, model_dir, one_thread, t5_dir  # noqa: F401 (the fixtures, shared)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ct2-cache")
