"""Loading the `dml` estimator's saved state: every field checked for type, range and agreement
with the others (sizes against the arrays actually present) before anything is built from it."""

from __future__ import annotations

from typing import Any

from engine import state_checks as checks
from engine.errors import OptionError, StateError
from plugins.cate.dml import OPTIONS, OVERLAP_BINS, STATE_VERSION
from plugins.cate.final_stage import FEATURIZERS, LinearFinalStage, width

_INT_MAX = 2**31 - 1
_OVERLAP = ("clipped_share", "bin_edges", "treated", "control")
_FITTED = ("levels", "control", "n_features_in", "featurizer", "rows_per_coefficient", "final_stage", "overlap")


def load(cls: type, state: Any) -> Any:
    """The estimator `to_state` described; StateError for any other document."""
    state = checks.require_object(state, "state", keys=("version", "options"))
    version = state["version"]
    if version != STATE_VERSION or not isinstance(version, int):
        raise StateError(
            f"dml state version {version!r} is not one this hookyard reads ({STATE_VERSION}): load it with the "
            "hookyard that saved it, or refit the estimator and save it again with engine.save"
        )
    estimator = cls(**_options(state["options"]))
    try:
        estimator._check_options()
    except OptionError as exc:
        raise checks.corrupt("state.options", f"are not valid ({exc})") from None
    fitted = state.get("fitted")
    if fitted is not None:
        _load_fitted(estimator, checks.require_object(fitted, "state.fitted", keys=_FITTED))
    return estimator


def _options(options: Any) -> dict[str, Any]:
    options = checks.require_object(options, "state.options", keys=OPTIONS, exact=True)
    where = "state.options."
    checks.require_str(options["model_y"], where + "model_y")
    checks.require_str(options["model_t"], where + "model_t")
    checks.require_str(options["featurizer"], where + "featurizer", choices=FEATURIZERS)
    checks.require_int(options["cv"], where + "cv", low=2, high=_INT_MAX)
    checks.require_str(options["mode"], where + "mode", choices=("multi-arm", "per-treatment"))
    if options["control"] is not None:
        checks.require_scalar(options["control"], where + "control")
    if options["treatments"] is not None:
        checks.require_each(options["treatments"], where + "treatments", checks.require_scalar)
    checks.require_number(options["clip"], where + "clip", low=0.0, high=0.5)
    checks.require_str(options["cov_type"], where + "cov_type", choices=("HC0", "HC1", "HC2"))
    if options["random_state"] is not None:
        checks.require_int(options["random_state"], where + "random_state", low=0, high=2**32 - 1)
    return options


def _load_fitted(estimator: Any, fitted: dict[str, Any]) -> None:
    """Set the fitted attributes, checking that the parts agree: the arms against the levels, the
    number of features against the width of the final stage's arrays."""
    where = "state.fitted."
    levels = checks.require_each(fitted["levels"], where + "levels", checks.require_scalar)
    control = checks.require_scalar(fitted["control"], where + "control")
    keys = [(type(v).__name__, v) for v in [control, *levels]]
    if not levels or len(set(keys)) != len(keys):
        raise checks.corrupt(where + "levels", "must name at least one treatment, each once, none the control")
    featurizer = checks.require_str(fitted["featurizer"], where + "featurizer", choices=FEATURIZERS[1:])
    d = LinearFinalStage.width_of(fitted["final_stage"], len(levels), where + "final_stage")
    n_features = checks.require_int(fitted["n_features_in"], where + "n_features_in", low=1, high=max(d - 1, 1))
    if width(n_features, featurizer) != d:
        raise checks.corrupt(
            where + "n_features_in",
            f"{n_features} with featurizer {featurizer!r} makes {width(n_features, featurizer)} final-stage "
            f"columns, but the final stage has {d}",
        )
    estimator.levels_ = list(levels)
    estimator.control_ = control
    estimator.treatment_names_ = [str(v) for v in levels]
    estimator.n_features_in_ = n_features
    estimator.featurizer_ = featurizer
    rows = checks.require_number(fitted["rows_per_coefficient"], where + "rows_per_coefficient", low=0.0)
    estimator.rows_per_coefficient_ = rows
    estimator.final_stage_ = LinearFinalStage.from_state(fitted["final_stage"], len(levels), d, where + "final_stage")
    estimator.overlap_ = _overlap(fitted["overlap"], estimator.treatment_names_, where + "overlap")


def _overlap(overlap: Any, arms: list[str], where: str) -> dict[str, dict[str, Any]]:
    """Per arm: the clipped share, the bin edges and the treated and control rows per bin."""
    overlap = checks.require_object(overlap, where)
    if list(overlap) != arms:
        raise checks.corrupt(where, f"must name the fitted treatments {arms}, got {list(overlap)[:10]}")
    records = {}
    for arm, record in overlap.items():
        at = f"{where}.{arm}"
        record = checks.require_object(record, at, keys=_OVERLAP, exact=True)
        checks.require_number(record["clipped_share"], at + ".clipped_share", low=0.0, high=1.0)
        checks.require_finite_array(record["bin_edges"], at + ".bin_edges", (OVERLAP_BINS + 1,))
        for side in ("treated", "control"):
            checks.require_each(record[side], f"{at}.{side}", _count, length=OVERLAP_BINS)
        records[arm] = dict(record)
    return records


def _count(value: Any, where: str) -> int:
    return checks.require_int(value, where, low=0, high=2**63 - 1)
