"""The final stage of linear DML: residual-on-residual least squares, linear in a featurizer of X,
with a heteroskedasticity-robust sandwich covariance; computed in row chunks so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import attrs

FeaturizerName = Literal["linear", "interactions", "poly2"]
CovType = Literal["HC0", "HC1", "HC2"]
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

        variance = np.column_stack([np.einsum("md,md->m", phi @ block, phi) for block in self.cov])
        return np.sqrt(np.maximum(variance, 0.0))


def _design(t_res: Any, phi: Any) -> Any:
    """Each arm's residual times the features, side by side: (m, K * d)."""
    return (t_res[:, :, None] * phi[:, None, :]).reshape(len(phi), -1)


def fit_linear_final(y_res: Any, t_res: Any, X: Any, kind: str, cov_type: CovType = "HC2") -> LinearFinalStage:
    """Least squares of the outcome residual on every arm's treatment residual times featurize(X).

    The covariance is the sandwich bread @ meat @ bread with squared residuals in the meat, as
    such (HC0), times n / (n - d) (HC1, econml's "HC1") or each divided by 1 - leverage (HC2).
    With many final-stage features per row HC0/HC1 are too narrow; HC2 is unbiased when the
    errors are homoskedastic and close to it otherwise.
    """
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
        weight = (y_res[part] - Z @ theta) ** 2
        if cov_type == "HC2":
            leverage = np.einsum("md,md->m", Z @ bread, Z)
            weight /= np.maximum(1.0 - leverage, 1e-8)
        scaled = Z * np.sqrt(weight)[:, None]
        meat += scaled.T @ scaled
    cov = bread @ meat @ bread
    if cov_type == "HC1":
        cov *= rows / max(rows - np.linalg.matrix_rank(gram, hermitian=True), 1)
    blocks = np.stack([cov[k * width:(k + 1) * width, k * width:(k + 1) * width] for k in range(arms)])
    return LinearFinalStage(coef=theta.reshape(arms, width), cov=blocks)
