"""The executor contract suite of engine.testing, run against this distribution's executor."""

from __future__ import annotations

from engine.testing import ExecutorContract


class TestExampleExecutor(ExecutorContract):
    name = "example"
