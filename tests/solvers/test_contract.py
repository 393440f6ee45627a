"""Every built-in solver passes the solver contract suite."""

from __future__ import annotations

from engine.testing import SolverContract


class TestMCKP(SolverContract):
    name = "mckp"
    exact = False


class TestNaive(SolverContract):
    name = "naive"
    exact = False
    proves_bound = False


class TestORToolsSCIP(SolverContract):
    name = "ortools"
    options = {"backend": "scip"}


class TestORToolsCPSAT(SolverContract):
    name = "ortools"
    options = {"backend": "cp-sat", "threads": 1}


class TestORToolsHiGHS(SolverContract):
    name = "ortools"
    options = {"backend": "highs", "threads": 1}


class TestPulpHiGHS(SolverContract):
    name = "pulp"
    options = {"backend": "highs"}


class TestPulpCBC(SolverContract):
    name = "pulp"
    options = {"backend": "cbc"}
