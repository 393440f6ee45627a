"""Bad input to the solver records is a DataError that says what is wrong, never a raw TypeError or a
silently truthy flag; what SciPy's milp accepts (scalar bounds and integrality) is accepted too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import engine
from engine.kinds.solver import AssignmentProblem, MILPProblem, PartitionedProblem

GOOD = {"values": np.ones((2, 2)), "costs": [1.0, 1.0], "budget": 1.0}


@pytest.mark.parametrize(("field", "bad", "match"), [
    ("budget", None, "budget must be a number, got None"),
    ("budget", "ten", "budget must be a number, got 'ten'"),
    ("budget", pd.NA, "budget must be a number"),
    ("values", [[1.0, 2.0], [3.0]], "values must be numbers in a regular array"),
    ("values", [["1", "2"], ["3", "4"]], "values must be numbers in a regular array.*strings"),
    ("values", np.array([[1.0, pd.NA], [1.0, 1.0]], dtype=object), "values must be numbers.*NAType"),
    ("values", pd.DataFrame({"a": [1.0, None], "b": [1.0, 2.0]}).astype("Float64"), "values must be numbers"),
    ("costs", ["cheap", "dear"], "costs must be numbers"),
    ("allow_none", "False", "allow_none must be True or False, got 'False'"),
    ("allow_none", 0, "allow_none must be True or False"),
    ("min_count", [1, "x"], "min_count must be numbers"),
])
def test_bad_assignment_input_is_a_data_error(field: str, bad: object, match: str) -> None:
    with pytest.raises(engine.DataError, match=match):
        AssignmentProblem(**{**GOOD, field: bad})


def test_partitioned_problems_check_the_same_fields() -> None:
    with pytest.raises(engine.DataError, match="budget must be a number"):
        PartitionedProblem.from_arrays(np.ones((2, 2)), [1.0, 1.0], "ten")
    with pytest.raises(engine.DataError, match="allow_none must be True or False"):
        PartitionedProblem.from_arrays(np.ones((2, 2)), [1.0, 1.0], 1.0, allow_none="no")


@pytest.mark.parametrize("name", ["mckp", "ortools"])
def test_allow_none_as_a_string_fails_before_any_solver_sees_it(name: str) -> None:
    with pytest.raises(engine.DataError, match="allow_none"):
        engine.solver(name).solve(AssignmentProblem(**{**GOOD, "allow_none": "False"}))


def test_milp_takes_scalar_bounds_and_integrality_as_scipy_does() -> None:
    milp = MILPProblem(c=[-1.0, -1.0], A_ub=[[1.0, -1.0]], b_ub=[3.0], lb=0, ub=2.5, integrality=1)
    _, _, _, _, lb, ub, integral = milp.arrays()
    assert lb.tolist() == [0.0, 0.0] and ub.tolist() == [2.5, 2.5] and integral.tolist() == [True, True]
    for name, options in (("ortools", {"backend": "scip"}), ("pulp", {"backend": "cbc"})):
        result = engine.solver(name, **options).solve_milp(milp)
        assert (result.status, result.objective) == ("optimal", pytest.approx(-4.0))


@pytest.mark.parametrize(("fields", "match"), [
    ({"integrality": [2, 1]}, "semi-continuous"),
    ({"integrality": [1, 1, 1]}, "integrality must be one number or one entry per variable"),
    ({"lb": [0.0, np.nan]}, "lb has NaN"),
    ({"ub": "five"}, "ub must be numbers"),
    ({"maximize": "True"}, "maximize must be True or False"),
    ({"A_ub": [[1.0, "x"]], "b_ub": [1.0]}, "A_ub must be numbers"),
])
def test_bad_milp_input_is_a_data_error(fields: dict, match: str) -> None:
    with pytest.raises(engine.DataError, match=match):
        MILPProblem(c=[1.0, 1.0], **fields)
