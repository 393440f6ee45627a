"""OR-Tools' HiGHS must start before highspy (PuLP's HiGHS) loads in a process, or the two builds
collide; the solver tests use both backends in one process, so start OR-Tools' HiGHS first."""

import engine
from engine.kinds.solver import AssignmentProblem

engine.solver("ortools", backend="highs", warm_start=False).solve(AssignmentProblem([[1.0]], [0.5], 1.0))
