"""The contract suite for encoder plugins: one fitted object gives training and inference data the
same columns, whatever levels the inference data brings or lacks.

The suite's data is the seed article's: `numerical_1` passes through, `color_1_` and `color_2_`
are encoded, and the inference data lacks some training levels and brings an unseen one
(`orange`). Override `train_data`/`inference_data` and `options` for an encoder that needs others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import engine
from engine.persistence import Persistable
from engine.pipeline import Pipeline, Step
from engine.testing.base import PluginContract, broke, refuses

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
    """Every encoder plugin passes these. One that declares the "persist" capability saves and
    loads with identical transforms; one that does not is refused by `engine.save`."""

    kind: ClassVar[str] = "encoder"
    options: ClassVar[dict[str, Any]] = {"columns": ["color_1_", "color_2_"]}

    def train_data(self) -> Any:
        import pyarrow as pa

        return pa.table(SEED_TRAIN)

    def inference_data(self) -> Any:
        import pyarrow as pa

        return pa.table(SEED_INFERENCE)

    def test_fit_returns_the_encoder(self, plugin: Any) -> None:
        fitted = plugin.fit(self.train_data())
        assert fitted is plugin, broke("fit returns the encoder itself (scikit-learn's API)", "self", fitted)

    def test_transform_before_fit_is_a_clear_error(self, plugin: Any) -> None:
        with refuses("transform before fit is a NotFittedError saying to fit", engine.NotFittedError, match="fit"):
            plugin.transform(self.inference_data())

    def test_inference_gets_the_training_columns(self, plugin: Any) -> None:
        trained = plugin.fit_transform(self.train_data())
        names = list(plugin.get_feature_names_out())
        inferred = plugin.transform(self.inference_data())
        rule = "later data gets exactly the training columns"
        assert list(plugin.get_feature_names_out()) == names, broke(
            rule, names, list(plugin.get_feature_names_out()))
        expected = (self.inference_data().num_rows, dense(trained).shape[1])
        assert dense(inferred).shape == expected, broke(rule, expected, dense(inferred).shape)

    def test_unseen_levels_give_no_new_columns(self, plugin: Any) -> None:
        plugin.fit(self.train_data())
        names = [str(n) for n in plugin.get_feature_names_out()]
        out = dense(plugin.transform(self.inference_data()))
        rule = "a level unseen in fit ('orange') adds no column"
        assert not [n for n in names if "orange" in n], broke(rule, "no 'orange' column", names)
        assert out.shape[1] == len(names), broke(rule, f"{len(names)} columns", out.shape[1])

    def test_feature_names_match_output_width(self, plugin: Any) -> None:
        out = dense(plugin.fit_transform(self.train_data()))
        names = plugin.get_feature_names_out()
        assert len(names) == out.shape[1], broke(
            "get_feature_names_out() names every output column", out.shape[1], len(names))
        assert len(set(map(str, names))) == len(names), broke(
            "output column names are distinct", "distinct names", list(map(str, names)))

    def test_row_order_does_not_change_the_columns(self, plugin: Any) -> None:
        table = self.train_data()
        plugin.fit(table)
        names = list(plugin.get_feature_names_out())
        reversed_rows = table.take(list(range(table.num_rows - 1, -1, -1)))
        again = list(self.build().fit(reversed_rows).get_feature_names_out())
        assert again == names, broke("the order of the rows does not change the columns", names, again)

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
        assert isinstance(out, pa.Table), broke("Arrow output is a pyarrow Table", "pyarrow.Table", type(out))
        expected = [str(n) for n in plugin.get_feature_names_out()]
        assert out.column_names == expected, broke(
            "Arrow output's columns are named by get_feature_names_out()", expected, out.column_names)

    def test_runs_as_a_pipeline_step(self) -> None:
        train = self.train_data()
        result = Pipeline([Step("encoder", self.name, options=dict(self.options))]).run(train)
        assert result.table.num_rows == train.num_rows, broke(
            "an encoder step keeps every row", train.num_rows, result.table.num_rows)
        expected = [str(n) for n in self.build().fit(train).get_feature_names_out()]
        assert result.table.column_names == expected, broke(
            "an encoder step's table has the fitted feature names", expected, result.table.column_names)

    def test_state_round_trip_gives_identical_transforms(self, plugin: Any, tmp_path: Path) -> None:
        plugin.fit(self.train_data())
        if not self.capable("persist"):
            with refuses("an encoder without the 'persist' capability cannot be saved (declare it when "
                         "to_state/from_state keep its fitted state)", engine.StateError, match="cannot be saved"):
                engine.save(plugin, tmp_path / "encoder.json")
            assert not (tmp_path / "encoder.json").exists(), broke("a refused save writes nothing", "no file",
                                                                   tmp_path / "encoder.json")
            return
        assert isinstance(plugin, Persistable), broke(
            "an encoder declaring 'persist' has to_state() and the classmethod from_state(state)",
            "both methods", type(plugin).__name__)
        path = engine.save(plugin, tmp_path / "encoder.json")
        loaded = engine.load(path)
        assert list(loaded.get_feature_names_out()) == list(plugin.get_feature_names_out()), broke(
            "a loaded encoder has the saved one's columns", list(plugin.get_feature_names_out()),
            list(loaded.get_feature_names_out()))
        same = (dense(loaded.transform(self.inference_data())) == dense(plugin.transform(self.inference_data()))).all()
        assert same, broke("a loaded encoder transforms as the saved one", "identical output", "different values")

    def test_a_fitted_column_missing_at_inference_is_a_clear_error(self, plugin: Any) -> None:
        plugin.fit(self.train_data())
        lacking = self.inference_data().drop_columns(["color_2_"])
        with refuses("a fitted column missing at inference is a ValueError (DataError) naming it", ValueError,
                     match="color_2_"):
            plugin.transform(lacking)
