"""Statuses that say what the backend found: unbounded is not infeasible, no NaN in an optimal x, and an
LP-only backend does not call a relaxation of an integer model optimal."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.kinds.solver import STATUSES, MILPProblem

MILP_BACKENDS = [("ortools", {"backend": "scip"}), ("ortools", {"backend": "highs", "threads": 1}),
                 ("pulp", {"backend": "highs"}), ("pulp", {"backend": "cbc"})]
IDS = [f"{n}-{o['backend']}" for n, o in MILP_BACKENDS]


@pytest.mark.parametrize(("name", "options"), MILP_BACKENDS, ids=IDS)
def test_an_unbounded_model_is_unbounded_not_infeasible(name: str, options: dict) -> None:
    unbounded = MILPProblem(c=[-1, -1], A_ub=[[1, -1]], b_ub=[3], integrality=[1, 1])
    result = engine.solver(name, **options).solve_milp(unbounded)
    assert result.status == "unbounded" and result.message
    assert result.x is None and math.isnan(result.objective)


@pytest.mark.parametrize(("name", "options"), MILP_BACKENDS, ids=IDS)
def test_an_infeasible_model_stays_infeasible(name: str, options: dict) -> None:
    infeasible = MILPProblem(c=[-1, -1], A_ub=[[1, 1], [-1, -1]], b_ub=[1, -2], integrality=[1, 1])
    result = engine.solver(name, **options).solve_milp(infeasible)
    assert result.status == "infeasible" and result.message


def test_glop_tells_unbounded_from_infeasible_on_linear_programs() -> None:
    glop = engine.solver("ortools", backend="glop")
    assert glop.solve_milp(MILPProblem(c=[-1, -1], A_ub=[[1, -1]], b_ub=[3])).status == "unbounded"
    assert glop.solve_milp(MILPProblem(c=[-1, -1], A_ub=[[1, 1], [-1, -1]], b_ub=[1, -2])).status == "infeasible"


def test_glop_refuses_integer_models_instead_of_calling_their_relaxation_optimal() -> None:
    integer = MILPProblem(c=[1, 1], A_ub=[[2, 2]], b_ub=[3], ub=[5, 5], integrality=[1, 1], maximize=True)
    with pytest.raises(engine.DataError, match="linear programs only"):
        engine.solver("ortools", backend="glop").solve_milp(integer)
    relaxed = engine.solver("ortools", backend="glop").solve_milp(MILPProblem(c=[1, 1], A_ub=[[2, 2]], b_ub=[3],
                                                                             ub=[5, 5], maximize=True))
    assert (relaxed.status, relaxed.objective) == ("optimal", pytest.approx(1.5))


@pytest.mark.parametrize(("name", "options"), MILP_BACKENDS, ids=IDS)
def test_a_variable_in_no_row_gets_a_value_within_its_bounds(name: str, options: dict) -> None:
    milp = MILPProblem(c=[1, 0], A_ub=[[1, 0]], b_ub=[3], lb=[0, 2], ub=[5, 4], integrality=[1, 1], maximize=True)
    result = engine.solver(name, **options).solve_milp(milp)
    assert result.status == "optimal" and result.objective == pytest.approx(3.0)
    assert np.isfinite(result.x).all() and 2 <= result.x[1] <= 4 and result.x[0] == pytest.approx(3.0)


def test_the_status_for_a_backend_that_cannot_tell_is_documented() -> None:
    assert "infeasible_or_unbounded" in STATUSES
