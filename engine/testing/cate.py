"""The contract suite for cate plugins: shapes and names, levels, intervals, bad input, persistence."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

import engine
from engine.errors import DataError, NotFittedError, StateError
from engine.flow import Flow
from engine.testing.base import PluginContract


class CATEContract(PluginContract):
    """Every cate plugin passes these, fitted once per suite on the `synthetic` source's multi-arm data.

    Set `rows` and `seed` for the data and, in `options`, light first stages so the suite stays fast.
    `min_correlation` is how closely the estimates must follow the true effects (the mean over
    treatments of their correlation).
    """

    kind: ClassVar[str] = "cate"
    rows: ClassVar[int] = 3000
    seed: ClassVar[int] = 7
    min_correlation: ClassVar[float] = 0.3

    @pytest.fixture(scope="class")
    @classmethod
    def table(cls) -> Any:
        return engine.source("synthetic", n=cls.rows, layout="multi-arm", seed=cls.seed).to_arrow()

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, table: Any) -> tuple[Any, Flow]:
        """The plugin fitted as a pipeline step does it, and the flow that step returned."""
        from engine.kinds.cate import run_step

        plugin = engine.get(cls.kind, cls.name, **cls.options)
        return plugin, run_step(plugin, Flow(table=table))

    @staticmethod
    def arrays(table: Any) -> tuple[Any, Any, Any, Any]:
        """Y, T, X and the true effects (n, 3) of a synthetic table."""
        import numpy as np

        X = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(10)])
        tau = np.column_stack([table.column(f"tau_T{k}").to_numpy() for k in (1, 2, 3)])
        return table.column("y").to_numpy(), table.column("t").to_numpy(zero_copy_only=False), X, tau

    def test_step_adds_one_named_effect_column_per_treatment(self, run: tuple[Any, Flow], table: Any) -> None:
        plugin, flow = run
        assert list(plugin.treatment_names_) == ["T1", "T2", "T3"]
        assert flow.facts["effects"] == ("cate_T1", "cate_T2", "cate_T3")
        assert flow.facts["treatments"] == ("T1", "T2", "T3")
        assert flow.facts["true_effects"] == ("tau_T1", "tau_T2", "tau_T3")
        assert flow.table.num_rows == table.num_rows
        assert flow.table.column_names == [*table.column_names, "cate_T1", "cate_T2", "cate_T3"]

    def test_effects_follow_the_true_effects(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        _, _, X, tau = self.arrays(table)
        effects = plugin.effect(X)
        assert effects.shape == (len(X), 3)
        correlations = [np.corrcoef(effects[:, k], tau[:, k])[0, 1] for k in range(3)]
        assert np.mean(correlations) > self.min_correlation, correlations

    def test_effect_of_one_level_is_its_column(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        X = self.arrays(table)[2][:50]
        effects = plugin.effect(X)
        np.testing.assert_allclose(plugin.effect(X, T1="T2"), effects[:, 1])
        np.testing.assert_allclose(plugin.effect(X, T0="T1", T1="T3"), effects[:, 2] - effects[:, 0])
        np.testing.assert_allclose(plugin.effect(X, T1="control"), 0.0)
        with pytest.raises(DataError, match="'T9' was not seen in fit"):
            plugin.effect(X, T1="T9")

    def test_intervals_contain_the_estimate(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        if "intervals" not in engine.plugin_info(self.kind, self.name).registration.capabilities:
            pytest.skip("this plugin does not declare the 'intervals' capability")
        X = self.arrays(table)[2][:200]
        effects = plugin.effect(X)
        lower, upper = plugin.effect_interval(X, alpha=0.1)
        assert lower.shape == upper.shape == effects.shape
        assert np.all(lower <= effects + 1e-9) and np.all(effects <= upper + 1e-9)
        wide_lower, wide_upper = plugin.effect_interval(X, alpha=0.01)
        assert np.all(wide_lower <= lower + 1e-9) and np.all(upper <= wide_upper + 1e-9)

    def test_effect_checks_the_features(self, run: tuple[Any, Flow], table: Any) -> None:
        plugin, _ = run
        X = self.arrays(table)[2][:5]
        with pytest.raises(DataError, match="fitted on 10"):
            plugin.effect(X[:, :4])
        X[2, 3] = float("nan")
        with pytest.raises(DataError, match="NaN or inf"):
            plugin.effect(X)

    def test_effect_before_fit_raises(self, plugin: Any, table: Any) -> None:
        with pytest.raises(NotFittedError, match="fit"):
            plugin.effect(self.arrays(table)[2][:5])

    @pytest.mark.parametrize("problem", ["nan-x", "inf-y", "lengths", "one-level", "tiny-arm"])
    def test_bad_input_is_a_clear_error(self, plugin: Any, table: Any, problem: str) -> None:
        import numpy as np

        Y, T, X, _ = self.arrays(table)
        Y, T, X = Y.copy(), T.copy(), X.copy()
        expected = {
            "nan-x": "X has NaN or inf", "inf-y": "Y has NaN or inf", "lengths": "Y has 2999 rows but X has",
            "one-level": "no variation", "tiny-arm": "too few rows",
        }[problem]
        if problem == "nan-x":
            X[10, 2] = np.nan
        elif problem == "inf-y":
            Y[4] = np.inf
        elif problem == "lengths":
            Y = Y[: len(Y) - 1]
            expected = f"Y has {len(Y)} rows but X has {len(X)}"
        elif problem == "one-level":
            T[:] = "control"
        else:
            T[T == "T3"] = "T2"
            T[0] = "T3"
        with pytest.raises(DataError, match=expected):
            plugin.fit(Y, T, X)

    def test_saves_as_json_or_says_it_cannot(self, run: tuple[Any, Flow], table: Any, tmp_path: Any) -> None:
        import numpy as np

        plugin, _ = run
        path = tmp_path / "cate.json"
        if "persist" not in engine.plugin_info(self.kind, self.name).registration.capabilities:
            with pytest.raises(StateError, match="cannot be saved"):
                engine.save(plugin, path)
            assert not path.exists()
            return
        engine.save(plugin, path)
        loaded = engine.load(path)
        X = self.arrays(table)[2][:100]
        np.testing.assert_allclose(loaded.effect(X), plugin.effect(X), rtol=1e-12, atol=1e-12)
        assert list(loaded.treatment_names_) == list(plugin.treatment_names_)
