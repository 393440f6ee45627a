"""scikit-learn's own OneHotEncoder tests, run against `onehot` through tests/encoders/sklearn_shim.py.

The tests are not copied: this module reads `sklearn/preprocessing/tests/test_encoders.py` from the
installed scikit-learn, replaces its OneHotEncoder import by the shim, runs the file as a module and
collects its tests here. In scope is every OneHotEncoder test except those of OrdinalEncoder and
`feature_name_combiner` (explicit `categories=` lists are supported, so in scope too). A test
that fails is listed, with its reason, in PLUGINS.md ("Differences from scikit-learn"); conftest.py
marks exactly those as strict expected failures.

The executed file is scikit-learn's, under its licence:

    BSD 3-Clause License
    Copyright (c) 2007-2026 The scikit-learn developers.
    All rights reserved.
    Redistribution and use in source and binary forms, with or without modification, are
    permitted provided that the conditions of the BSD 3-Clause License are met (see COPYING in the
    installed scikit-learn distribution's licences).
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import sklearn

from tests.encoders.differences import documented, matches, reason_for

SOURCE = Path(sklearn.__file__).parent / "preprocessing" / "tests" / "test_encoders.py"
ORIGINAL_IMPORT = "from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder\n"
SHIM_IMPORT = "from sklearn.preprocessing import OrdinalEncoder\nfrom tests.encoders.sklearn_shim import OneHotEncoder\n"
SECTION = "sklearn-conformance"
OUT_OF_SCOPE_NAMES = ("ordinal", "feature_name_combiner")


def _adapted_module() -> types.ModuleType:
    text = SOURCE.read_text(encoding="utf-8")
    assert text.count(ORIGINAL_IMPORT) == 1, f"{SOURCE} no longer imports OneHotEncoder as expected"
    module = types.ModuleType("sklearn_test_encoders_on_onehot")
    module.__file__ = str(SOURCE)
    exec(compile(text.replace(ORIGINAL_IMPORT, SHIM_IMPORT), str(SOURCE), "exec"), module.__dict__)
    return module


def in_scope(item: Any) -> bool:
    """Whether a collected case of scikit-learn's tests is in scope (see the module docstring)."""
    name = item.originalname
    if any(word in name for word in OUT_OF_SCOPE_NAMES):
        return False
    params = getattr(getattr(item, "callspec", None), "params", {})
    return getattr(params.get("Encoder"), "__name__", "OneHotEncoder") == "OneHotEncoder"


def mark_expected_differences(items: list[Any]) -> list[Any]:
    """The in-scope cases, each documented one marked xfail(strict=True) with its documented reason;
    the out-of-scope ones are returned for deselection."""
    import pytest

    differences = documented(SECTION)
    dropped = []
    for item in items:
        if not in_scope(item):
            dropped.append(item)
            continue
        reason = reason_for(item.name, differences)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    return dropped


_MODULE = _adapted_module()
for _name, _value in vars(_MODULE).items():
    if _name.startswith("test_") and callable(_value) and not any(w in _name for w in OUT_OF_SCOPE_NAMES):
        globals()[_name] = _value


def test_every_documented_difference_names_an_in_scope_test(request: Any) -> None:
    """Each pattern in PLUGINS.md matches at least one in-scope case, so the list holds nothing stale."""
    cases = [i.name for i in request.session.items if i.module is request.module and not i.name.startswith("test_every")]
    stale = [p for p in documented(SECTION) if not any(matches(case, p) for case in cases)]
    assert not stale, f"PLUGINS.md lists differences matching no in-scope test: {stale}"
