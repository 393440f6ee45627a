"""Tiny random GPT-2 and T5 models (Hookyard's decoder test models, written with save_pretrained, nothing
downloaded), converted once per session into a temporary cache shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.decoders import tiny_models as tiny


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """The models are tiny; one thread keeps the suite fast on shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.write_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.write_t5(tmp_path_factory.mktemp("t5"))


@pytest.fixture(scope="session", params=["gpt2", "t5"])
def model_dir(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(f"{request.param}_dir")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ct2-cache")
