"""An encoder step in a pipeline: fits on the incoming table, passes on an Arrow table, reports drift."""

from __future__ import annotations

import pyarrow as pa

import engine
from engine.pipeline import Pipeline, Step
from engine.testing.encoder import SEED_INFERENCE, SEED_TRAIN


def test_step_encodes_and_passes_through():
    result = Pipeline([
        Step("source", "memory", options={"data": pa.table(SEED_TRAIN)}),
        Step("encoder", "onehot", options={"columns": ["color_1_", "color_2_"]}),
    ]).run()
    assert result.table.column_names[0] == "numerical_1"
    assert "color_2__pink" in result.table.column_names
    assert result.table["numerical_1"].to_pylist() == SEED_TRAIN["numerical_1"]


def test_a_fitted_encoder_only_transforms_and_reports_drift():
    encoder = engine.encoder("onehot", columns=["color_1_", "color_2_"]).fit(pa.table(SEED_TRAIN))
    pipeline = Pipeline([Step("encoder", encoder, params={"fit": False})])
    result = pipeline.run(pa.table(SEED_INFERENCE))
    assert result.table.column_names == list(encoder.get_feature_names_out())
    drift = result.flow.facts["drift"]
    assert drift.column("color_2_").unseen[0].level == "orange"
