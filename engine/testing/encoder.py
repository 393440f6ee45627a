"""The contract suite for encoder plugins: one fitted object gives training and inference data the
same columns, whatever levels the inference data brings or lacks.

The suite's data is the seed article's: `numerical_1` passes through, `color_1_` and `color_2_`
are encoded, and the inference data lacks some training levels and brings an unseen one
(`orange`). Override `train_data`/`inference_data` and `options` for an encoder that needs others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

import engine
from engine.persistence import Persistable
from engine.pipeline import Pipeline, Step
from engine.testing.base import PluginContract

SEED_TRAIN = {
    "numerical_1": [1, 2, 3, 4, 5, 6, 7, 8],
    "color_1_": ["black", "black", "red", "green", "green", "black", "red", "blue"],
    "color_2_": ["black", "blue", "pink", "purple", "black", "blue", "pink", "purple"],
}
SEED_INFERENCE = {
    "numerical_1": [11, 12, 13, 14, 15, 16, 17, 18],
    "color_1_": ["black", "blue", "black", "green", "green", "black", "black", "blue"],
    "color_2_": ["orange", "orange", "black", "orange", "black", "orange", "orange", "orange"],
}


def dense(output: Any) -> Any:
    """Any encoder output (sparse or dense matrix, Arrow table, pandas or polars frame) as a 2-D float array."""
    import numpy as np

    if hasattr(output, "toarray"):
        return output.toarray().astype(float)
    if hasattr(output, "column_names"):
        return np.column_stack([output[name].to_numpy() for name in output.column_names]).astype(float)
    return np.asarray(output.to_numpy() if hasattr(output, "to_numpy") else output, dtype=float)


class EncoderContract(PluginContract):
    """Every encoder plugin passes these."""

    kind: ClassVar[str] = "encoder"
    options: ClassVar[dict[str, Any]] = {"columns": ["color_1_", "color_2_"]}

    def train_data(self) -> Any:
        import pyarrow as pa

        return pa.table(SEED_TRAIN)

    def inference_data(self) -> Any:
        import pyarrow as pa

        return pa.table(SEED_INFERENCE)

    def test_fit_returns_the_encoder(self, plugin: Any) -> None:
        assert plugin.fit(self.train_data()) is plugin

    def test_transform_before_fit_is_a_clear_error(self, plugin: Any) -> None:
        with pytest.raises(engine.NotFittedError, match="fit"):
            plugin.transform(self.inference_data())

    def test_inference_gets_the_training_columns(self, plugin: Any) -> None:
        trained = plugin.fit_transform(self.train_data())
        names = list(plugin.get_feature_names_out())
        inferred = plugin.transform(self.inference_data())
        assert list(plugin.get_feature_names_out()) == names
        assert dense(inferred).shape == (self.inference_data().num_rows, dense(trained).shape[1])

    def test_unseen_levels_give_no_new_columns(self, plugin: Any) -> None:
        plugin.fit(self.train_data())
        names = [str(n) for n in plugin.get_feature_names_out()]
        out = dense(plugin.transform(self.inference_data()))
        assert not [n for n in names if "orange" in n]
        assert out.shape[1] == len(names)

    def test_feature_names_match_output_width(self, plugin: Any) -> None:
        out = dense(plugin.fit_transform(self.train_data()))
        names = plugin.get_feature_names_out()
        assert len(names) == out.shape[1]
        assert len(set(map(str, names))) == len(names), "output column names must be distinct"

    def test_row_order_does_not_change_the_columns(self, plugin: Any) -> None:
        table = self.train_data()
        plugin.fit(table)
        names = list(plugin.get_feature_names_out())
        reversed_rows = table.take(list(range(table.num_rows - 1, -1, -1)))
        assert list(self.build().fit(reversed_rows).get_feature_names_out()) == names

    def test_arrow_output_is_named_by_feature_names(self, plugin: Any) -> None:
        import pyarrow as pa

        from engine.flow import Flow
        from engine.kinds.encoder import run_step
        from engine.tables import to_arrow

        if hasattr(plugin, "set_output"):
            plugin.set_output(transform="arrow")
            out = plugin.fit_transform(self.train_data())
        else:
            out = run_step(plugin, Flow(table=to_arrow(self.train_data()))).table
        assert isinstance(out, pa.Table)
        assert out.column_names == [str(n) for n in plugin.get_feature_names_out()]

    def test_runs_as_a_pipeline_step(self) -> None:
        train = self.train_data()
        result = Pipeline([Step("encoder", self.name, options=dict(self.options))]).run(train)
        assert result.table.num_rows == train.num_rows
        reference = self.build().fit(train)
        assert result.table.column_names == [str(n) for n in reference.get_feature_names_out()]

    def test_state_round_trip_gives_identical_transforms(self, plugin: Any, tmp_path: Path) -> None:
        plugin.fit(self.train_data())
        if not isinstance(plugin, Persistable):
            with pytest.raises(engine.StateError, match="cannot be saved"):
                engine.save(plugin, tmp_path / "encoder.json")
            assert not (tmp_path / "encoder.json").exists()
            return
        path = engine.save(plugin, tmp_path / "encoder.json")
        loaded = engine.load(path)
        assert list(loaded.get_feature_names_out()) == list(plugin.get_feature_names_out())
        assert (dense(loaded.transform(self.inference_data())) == dense(plugin.transform(self.inference_data()))).all()

    def test_a_fitted_column_missing_at_inference_is_a_clear_error(self, plugin: Any) -> None:
        plugin.fit(self.train_data())
        lacking = self.inference_data().drop_columns(["color_2_"])
        with pytest.raises(ValueError, match="color_2_"):
            plugin.transform(lacking)
