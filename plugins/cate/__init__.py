"""Built-in cate plugins: registration records only; each implementation is imported on first use."""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def register_cate_estimators() -> list[Registration]:
    econml = ("econml", "sklearn", "numpy")
    return [
        Registration(
            kind="cate",
            name="dml",
            aliases=("double-ml", "linear-dml"),
            factory="plugins.cate.dml:DML",
            summary="native multi-arm Double Machine Learning: cross-fitted first stages, linear final stage, JSON state",
            requires=("sklearn", "scipy", "numpy"),
            extra="cate",
            capabilities={"intervals", "multi-arm", "persist"},
        ),
        Registration(
            kind="cate",
            name="econml-linear-dml",
            factory="plugins.cate.econml_adapters:EconMLLinearDML",
            summary="econml LinearDML (discrete treatment) behind the cate contract",
            requires=econml,
            extra="cate",
            capabilities={"intervals", "multi-arm"},
        ),
        Registration(
            kind="cate",
            name="econml-causal-forest",
            factory="plugins.cate.econml_adapters:EconMLCausalForest",
            summary="econml CausalForestDML (discrete treatment) behind the cate contract",
            requires=econml,
            extra="cate",
            capabilities={"intervals", "multi-arm"},
        ),
        Registration(
            kind="cate",
            name="econml-dr",
            factory="plugins.cate.econml_adapters:EconMLDRLearner",
            summary="econml DRLearner (doubly robust, linear final stage) behind the cate contract",
            requires=econml,
            extra="cate",
            capabilities={"intervals", "multi-arm"},
        ),
    ]
