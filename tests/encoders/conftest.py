"""The seed article's training and inference frames."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.testing.encoder import SEED_INFERENCE, SEED_TRAIN


@pytest.fixture
def training() -> pd.DataFrame:
    return pd.DataFrame(SEED_TRAIN)


@pytest.fixture
def inference() -> pd.DataFrame:
    return pd.DataFrame(SEED_INFERENCE)
