"""scikit-learn's estimator checks (`sklearn.utils.estimator_checks`) against `onehot`. A check that
does not apply is listed with its reason in PLUGINS.md ("sklearn-checks"); exactly those are
expected to fail."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from plugins.encoders.onehot import OneHotEncoder
from tests.encoders.differences import documented

SECTION = "sklearn-checks"


def _name(check: Any) -> str:
    return getattr(check, "func", check).__name__


@parametrize_with_checks([OneHotEncoder()])
def test_scikit_learn_estimator_check(estimator: Any, check: Any, request: Any) -> None:
    reason = documented(SECTION).get(_name(check))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    check(estimator)


def test_every_documented_check_is_one_scikit_learn_runs(request: Any) -> None:
    names = {
        _name(item.callspec.params["check"])
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    assert names, "run this test together with the estimator checks of this module"
    stale = set(documented(SECTION)) - names
    assert not stale, f"PLUGINS.md lists estimator checks that scikit-learn does not run: {sorted(stale)}"
