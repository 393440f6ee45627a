"""The `synthetic` source: the seed article's uplift data generator, seeded, with the true effects.

Ten uniform features X0..X9; nuisance b(X) = sin(pi X0 X1) + 2 (X2 - 0.5)^2 + X3 + 0.5 X4 + X5 X6
+ X7^3 + sin(pi X8 X9); three treatments with effects 0.75 (X0 X1 + X2), 0.50 (X3 X4 + X5) and
0.90 (X6 X7 + X9); outcome y = b + tau_T + N(0, 1). Every row carries every treatment's true effect
(`tau_T1`, `tau_T2`, `tau_T3`) so that estimates can be scored. `nuisance="linear"` swaps b(X)
for a linear one, so that linear first stages are well specified (for interval coverage studies).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.errors import DataError
from engine.filters import Expression
from engine.kinds.source import TableSource

TREATMENTS = ("T1", "T2", "T3")
CONTROL = "control"
N_FEATURES = 10
REGIONS = ("north", "south", "east", "west")
CHANNELS = ("web", "store", "app")


def true_effects(X: Any) -> Any:
    """The (n, 3) matrix of true effects of T1, T2, T3 at features X (n, 10)."""
    import numpy as np

    return np.column_stack([
        0.75 * (X[:, 0] * X[:, 1] + X[:, 2]),
        0.50 * (X[:, 3] * X[:, 4] + X[:, 5]),
        0.90 * (X[:, 6] * X[:, 7] + X[:, 9]),
    ])


def nuisance(X: Any, kind: str = "seed") -> Any:
    """The baseline outcome b(X), which also drives who is treated: the seed's, or
    (kind="linear") X3 + 0.5 X4 + X5 + X7 + X9 - 1.5, whose treatment log-odds are linear in X."""
    import numpy as np

    if kind == "linear":
        return X[:, 3] + 0.5 * X[:, 4] + X[:, 5] + X[:, 7] + X[:, 9] - 1.5
    return (
        np.sin(np.pi * X[:, 0] * X[:, 1])
        + 2 * (X[:, 2] - 0.5) ** 2
        + X[:, 3]
        + 0.5 * X[:, 4]
        + X[:, 5] * X[:, 6]
        + X[:, 7] ** 3
        + np.sin(np.pi * X[:, 8] * X[:, 9])
    )


class SyntheticSource(TableSource):
    """Seeded uplift data in one of two layouts, with optional categorical `region` and `channel`.

    `layout="per-treatment"` is the seed's: one binary experiment of `n` rows per treatment
    (column `experiment` says which; `t` is that treatment or "control", treated with probability
    expit(b)). `layout="multi-arm"`: `n` rows, each treated with probability expit(b) and then
    given T1, T2 or T3 with probabilities that lean on X0, X1, X2 (so the arm is confounded too).
    With `categorical=True`, `region` and `channel` shift the baseline outcome (not who is
    treated), so ignoring them costs precision but no bias. The schema metadata names the
    treatments and their true-effect columns for later steps. `nuisance` picks b(X): the seed's
    nonlinear one, or "linear" (see `nuisance`). `id_column` names an int64 column numbering the
    rows from 0 (a customer id to join a plan back on).
    """

    label = "synthetic"

    def __init__(
        self,
        n: int = 10_000,
        layout: Literal["per-treatment", "multi-arm"] = "per-treatment",
        seed: int = 123,
        categorical: bool = False,
        nuisance: Literal["seed", "linear"] = "seed",
        id_column: str | None = None,
        columns: Sequence[str] | None = None,
        filters: Sequence[Any] | Expression | None = None,
    ) -> None:
        super().__init__(columns=columns, filters=filters)
        self.n = n
        self.layout = layout
        self.seed = seed
        self.categorical = categorical
        self.nuisance = nuisance
        self.id_column = id_column

    def _load(self) -> Any:
        import numpy as np
        import pyarrow as pa

        if self.n < 1:
            raise DataError(f"synthetic source needs n >= 1 rows, got n={self.n}")
        rng = np.random.default_rng(self.seed)
        blocks = len(TREATMENTS) if self.layout == "per-treatment" else 1
        rows = self.n * blocks
        X = rng.uniform(size=(rows, N_FEATURES))
        b = nuisance(X, self.nuisance)
        treated = rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-b))
        if self.layout == "per-treatment":
            arm = np.repeat(np.arange(len(TREATMENTS)), self.n)
        else:
            lean = X[:, :3] - 0.5
            probs = np.exp(lean) / np.exp(lean).sum(axis=1, keepdims=True)
            arm = (rng.uniform(size=(rows, 1)) > np.cumsum(probs, axis=1)).sum(axis=1)
        tau = true_effects(X)
        effect = np.where(treated, tau[np.arange(rows), arm], 0.0)
        columns: dict[str, Any] = {} if self.id_column is None else {self.id_column: np.arange(rows, dtype=np.int64)}
        columns.update({f"x{j}": X[:, j] for j in range(N_FEATURES)})
        baseline = b
        if self.categorical:
            region = rng.integers(len(REGIONS), size=rows)
            channel = rng.integers(len(CHANNELS), size=rows)
            baseline = b + 0.3 * region - 0.2 * channel
            columns["region"] = np.asarray(REGIONS, dtype=object)[region]
            columns["channel"] = np.asarray(CHANNELS, dtype=object)[channel]
        if self.layout == "per-treatment":
            columns["experiment"] = np.asarray(TREATMENTS, dtype=object)[arm]
        columns["t"] = np.where(treated, np.asarray(TREATMENTS, dtype=object)[arm], CONTROL)
        columns["y"] = baseline + effect + rng.normal(size=rows)
        for k, name in enumerate(TREATMENTS):
            columns[f"tau_{name}"] = tau[:, k]
        table = pa.table({k: pa.array(v, type=pa.string() if v.dtype == object else None) for k, v in columns.items()})
        return table.replace_schema_metadata({
            "hookyard.treatments": ",".join(TREATMENTS),
            "hookyard.control": CONTROL,
            "hookyard.true_effects": ",".join(f"tau_{name}" for name in TREATMENTS),
        })
