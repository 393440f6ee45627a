"""The contract suite for cate plugins: shapes and names, levels, intervals, average effects, bad input, persistence."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import pytest

import engine
from engine.errors import DataError, NotFittedError, StateError
from engine.flow import Flow
from engine.testing.base import PluginContract, broke, refuses


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
    def run(cls, table: Any, plugin_options: dict[str, Any]) -> tuple[Any, Flow]:
        """The plugin fitted as a pipeline step does it, and the flow that step returned."""
        from engine.kinds.cate import run_step

        plugin = engine.get(cls.kind, cls.name, **{**cls.options, **plugin_options})
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
        names = list(getattr(plugin, "treatment_names_", []))
        assert names == ["T1", "T2", "T3"], broke(
            "treatment_names_ lists the non-control levels in order", ["T1", "T2", "T3"], names)
        for fact, expected in (("effects", ("cate_T1", "cate_T2", "cate_T3")), ("treatments", ("T1", "T2", "T3")),
                               ("true_effects", ("tau_T1", "tau_T2", "tau_T3"))):
            assert flow.facts.get(fact) == expected, broke(
                f"the cate step's {fact!r} fact names one column per treatment", expected, flow.facts.get(fact))
        assert flow.table.num_rows == table.num_rows, broke(
            "the cate step keeps every row", table.num_rows, flow.table.num_rows)
        expected_columns = [*table.column_names, "cate_T1", "cate_T2", "cate_T3"]
        assert flow.table.column_names == expected_columns, broke(
            "the cate step adds one effect column per treatment after the table's", expected_columns,
            flow.table.column_names)

    def test_effects_follow_the_true_effects(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        _, _, X, tau = self.arrays(table)
        effects = plugin.effect(X)
        assert effects.shape == (len(X), 3), broke(
            "effect(X) is one row per row of X, one column per treatment", (len(X), 3), effects.shape)
        correlations = [np.corrcoef(effects[:, k], tau[:, k])[0, 1] for k in range(3)]
        assert np.mean(correlations) > self.min_correlation, broke(
            "the estimates follow the true effects (set min_correlation for a weaker estimator)",
            f"mean correlation > {self.min_correlation}", f"{np.mean(correlations):.3f} (per treatment {correlations})")

    def test_effect_of_one_level_is_its_column(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        X = self.arrays(table)[2][:50]
        effects = plugin.effect(X)
        np.testing.assert_allclose(plugin.effect(X, T1="T2"), effects[:, 1], err_msg=broke(
            "effect(X, T1=level) is that level's column of effect(X)", "effect(X)[:, 1]", "the values below"))
        np.testing.assert_allclose(plugin.effect(X, T0="T1", T1="T3"), effects[:, 2] - effects[:, 0], err_msg=broke(
            "effect(X, T0=a, T1=b) is b's effect minus a's", "effect(X)[:, 2] - effect(X)[:, 0]", "the values below"))
        np.testing.assert_allclose(plugin.effect(X, T1="control"), 0.0, err_msg=broke(
            "the control's effect against itself is zero", 0.0, "the values below"))
        with refuses("a level not seen in fit is a DataError naming it", DataError, match="'T9' was not seen in fit"):
            plugin.effect(X, T1="T9")

    def test_intervals_contain_the_estimate(self, run: tuple[Any, Flow], table: Any) -> None:
        plugin, _ = run
        self.require("intervals")
        X = self.arrays(table)[2][:200]
        effects = plugin.effect(X)
        lower, upper = plugin.effect_interval(X, alpha=0.1)
        assert lower.shape == upper.shape == effects.shape, broke(
            "effect_interval gives (lower, upper) shaped like effect(X)", effects.shape, (lower.shape, upper.shape))
        outside = int((lower > effects + 1e-9).sum() + (effects > upper + 1e-9).sum())
        assert outside == 0, broke("an interval contains its estimate", "0 estimates outside", outside)
        wide_lower, wide_upper = plugin.effect_interval(X, alpha=0.01)
        narrower = int((wide_lower > lower + 1e-9).sum() + (upper > wide_upper + 1e-9).sum())
        assert narrower == 0, broke("a smaller alpha gives a wider interval", "0 narrower bounds at alpha=0.01",
                                    narrower)

    def test_average_effect_is_the_mean_of_the_effects(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        X = self.arrays(table)[2]
        ate = plugin.ate(X)
        assert ate.shape == (3,)
        np.testing.assert_allclose(ate, plugin.effect(X).mean(axis=0), rtol=1e-9, atol=1e-12)

    def test_average_effect_interval_contains_it(self, run: tuple[Any, Flow], table: Any) -> None:
        import numpy as np

        plugin, _ = run
        self.require("intervals")
        X = self.arrays(table)[2]
        ate = plugin.ate(X)
        lower, upper = plugin.ate_interval(X, alpha=0.1)
        assert lower.shape == upper.shape == (3,)
        assert np.all(lower < ate) and np.all(ate < upper)
        wide_lower, wide_upper = plugin.ate_interval(X, alpha=0.01)
        assert np.all(wide_lower < lower) and np.all(upper < wide_upper)
        with pytest.raises(DataError, match="alpha must be between 0 and 1"):
            plugin.ate_interval(X, alpha=1.5)

    def test_effect_checks_the_features(self, run: tuple[Any, Flow], table: Any) -> None:
        plugin, _ = run
        X = self.arrays(table)[2][:5]
        with refuses("X of another width than in fit is a DataError saying the fitted width", DataError,
                     match="fitted on 10"):
            plugin.effect(X[:, :4])
        X[2, 3] = float("nan")
        with refuses("NaN in X is a DataError saying so", DataError, match="NaN or inf"):
            plugin.effect(X)

    def test_effect_before_fit_raises(self, plugin: Any, table: Any) -> None:
        with refuses("effect before fit is a NotFittedError saying to fit", NotFittedError, match="fit"):
            plugin.effect(self.arrays(table)[2][:5])

    @pytest.mark.parametrize(
        "problem", ["nan-x", "inf-y", "lengths", "one-level", "tiny-arm", "no-columns", "missing-label", "no-control"]
    )
    def test_bad_input_is_a_clear_error(self, plugin: Any, table: Any, problem: str) -> None:
        import numpy as np

        Y, T, X, _ = self.arrays(table)
        Y, T, X = Y.copy(), T.copy(), X.copy()
        expected = {
            "nan-x": "X has NaN or inf", "inf-y": "Y has NaN or inf", "lengths": "Y has 2999 rows but X has",
            "one-level": "no variation", "tiny-arm": "too few rows", "no-columns": "X has no feature columns",
            "missing-label": "missing treatment labels", "no-control": "set the control option",
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
        elif problem == "no-columns":
            X = X[:, :0]
        elif problem == "missing-label":
            T[7] = None
        elif problem == "no-control":
            T[T == "control"] = "baseline"
        else:
            T[T == "T3"] = "T2"
            T[0] = "T3"
        with refuses(f"bad input ({problem}) is a DataError that says what to fix", DataError, match=expected):
            plugin.fit(Y, T, X)

    def test_saves_as_json_or_says_it_cannot(self, run: tuple[Any, Flow], table: Any, tmp_path: Any) -> None:
        import numpy as np

        plugin, _ = run
        path = tmp_path / "cate.json"
        if not self.capable("persist"):
            with refuses("a plugin without the 'persist' capability cannot be saved", StateError,
                         match="cannot be saved"):
                engine.save(plugin, path)
            assert not path.exists(), broke("a refused save writes nothing", "no file", path)
            return
        engine.save(plugin, path)
        loaded = engine.load(path)
        X = self.arrays(table)[2][:100]
        np.testing.assert_allclose(loaded.effect(X), plugin.effect(X), rtol=1e-12, atol=1e-12, err_msg=broke(
            "a saved and loaded estimator gives the same effects", "effect(X) of the original", "the values below"))
        assert list(loaded.treatment_names_) == list(plugin.treatment_names_), broke(
            "a loaded estimator keeps its treatment names", list(plugin.treatment_names_), list(loaded.treatment_names_))


@attrs.frozen
class RealData:
    """Outcomes, treatments (0/1) and named features of a real study, and the effect it is known to have."""

    Y: Any
    T: Any
    X: Any
    names: list[str]
    benchmark: float
    benchmark_se: float


def nsw_experiment(*, observational: bool = False) -> RealData:
    """Real data with a known answer: the NSW job-training experiment (LaLonde 1986, Dehejia and
    Wahba's 445 men, 1978 earnings in dollars, 8 covariates) as shipped inside the `causaldata`
    package. `benchmark` / `benchmark_se` are its difference in means and standard error.
    `observational` keeps the 185 treated men but takes the controls from the CPS survey (15,992),
    LaLonde's case of poor overlap, with the same experimental benchmark."""
    import numpy as np
    import pandas as pd
    from causaldata import cps_mixtape, nsw_mixtape

    experiment = nsw_mixtape.load_pandas().data
    treated, control = experiment[experiment.treat == 1], experiment[experiment.treat == 0]
    rows = pd.concat([treated, cps_mixtape.load_pandas().data]) if observational else experiment
    names = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
    earnings = [group.re78.to_numpy(dtype=float) for group in (treated, control)]
    difference = earnings[0].mean() - earnings[1].mean()
    se = np.sqrt(sum(y.var(ddof=1) / len(y) for y in earnings))
    return RealData(
        Y=rows.re78.to_numpy(dtype=float), T=rows.treat.to_numpy(), X=rows[names].to_numpy(dtype=float),
        names=names, benchmark=float(difference), benchmark_se=float(se),
    )

