"""The cate contract suite of engine.testing, run against this distribution's estimator."""

from __future__ import annotations

from engine.testing import CATEContract


class TestExampleCATE(CATEContract):
    name = "example"
    rows = 3000  # the synthetic source's multi-arm data the suite fits on
    min_correlation = 0.3  # how closely the estimates must follow the true effects
