"""Tiny models written once per session with save_pretrained; every test loads them through our code."""

import pytest
import torch

from . import tiny_models as tiny


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """The models are tiny; one thread keeps the suite fast on shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory):
    return tiny.write_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory):
    return tiny.write_t5(tmp_path_factory.mktemp("t5"))


@pytest.fixture(scope="session", params=["gpt2", "t5"])
def model_dir(request):
    return request.getfixturevalue(f"{request.param}_dir")
