"""The final stage of linear DML: residual-on-residual least squares, linear in a featurizer of X,
with a heteroskedasticity-robust (HC1) covariance; computed in row chunks so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import attrs

FeaturizerName = Literal["linear", "interactions", "poly2"]
CHUNK_ROWS = 65_536


def _pairs(p: int, kind: str) -> list[tuple[int, int]]:
    if kind == "linear":
        return []
    offset = 1 if kind == "interactions" else 0
    return [(i, j) for i in range(p) for j in range(i + offset, p)]


def featurize(X: Any, kind: str) -> Any:
    """The final stage's features: an intercept, X, and (for "interactions") every product
    X_i X_j with i < j or (for "poly2") with i <= j."""
    import numpy as np

    pairs = _pairs(X.shape[1], kind)
    left = [i for i, _ in pairs]
    right = [j for _, j in pairs]
    return np.column_stack([np.ones(len(X)), X, X[:, left] * X[:, right]])


def feature_names(names: list[str], kind: str) -> list[str]:
    """Names of the columns `featurize` makes from features called `names`."""
    return ["1", *names, *(f"{names[i]}*{names[j]}" for i, j in _pairs(len(names), kind))]


def chunks(rows: int) -> Iterator[slice]:
    """Row slices of at most CHUNK_ROWS."""
    for start in range(0, rows, CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, rows))


@attrs.frozen
class LinearFinalStage:
    """Per-arm coefficients (K, d) on the featurized X and each arm's (d, d) covariance block."""

    coef: Any
    cov: Any

    def effects(self, phi: Any) -> Any:
        """Effects (m, K) at featurized rows `phi` (m, d)."""
        return phi @ self.coef.T

    def stderr(self, phi: Any) -> Any:
        """Standard errors (m, K) of `effects` at featurized rows `phi`."""
        import numpy as np

        return np.sqrt(np.maximum(np.einsum("md,kde,me->mk", phi, self.cov, phi), 0.0))


def _design(t_res: Any, phi: Any) -> Any:
    """Each arm's residual times the features, side by side: (m, K * d)."""
    return (t_res[:, :, None] * phi[:, None, :]).reshape(len(phi), -1)


def fit_linear_final(y_res: Any, t_res: Any, X: Any, kind: str) -> LinearFinalStage:
    """Least squares of the outcome residual on every arm's treatment residual times featurize(X)."""
    import numpy as np

    rows, arms = t_res.shape
    width = featurize(X[:1], kind).shape[1]
    gram = np.zeros((arms * width, arms * width))
    moment = np.zeros(arms * width)
    for part in chunks(rows):
        Z = _design(t_res[part], featurize(X[part], kind))
        gram += Z.T @ Z
        moment += Z.T @ y_res[part]
    bread = np.linalg.pinv(gram, rcond=1e-10, hermitian=True)
    theta = bread @ moment
    meat = np.zeros_like(gram)
    for part in chunks(rows):
        Z = _design(t_res[part], featurize(X[part], kind))
        Ze = Z * (y_res[part] - Z @ theta)[:, None]
        meat += Ze.T @ Ze
    rank = np.linalg.matrix_rank(gram, hermitian=True)
    cov = bread @ meat @ bread * rows / max(rows - rank, 1)
    blocks = np.stack([cov[k * width:(k + 1) * width, k * width:(k + 1) * width] for k in range(arms)])
    return LinearFinalStage(coef=theta.reshape(arms, width), cov=blocks)
