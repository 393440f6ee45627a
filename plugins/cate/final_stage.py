"""The final stage of linear DML: residual-on-residual least squares, linear in a featurizer of X,
with a heteroskedasticity-robust sandwich covariance.

The featurized columns are standardised and the least squares is solved by a QR factorisation
(accumulated over row chunks, so memory stays flat), so no estimate depends on the units of Y or
of any feature. Columns that are constant or a linear combination of earlier ones (two dummies
whose product is always 0, x**2 of a 0/1 column) are found explicitly, dropped and reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import attrs

from engine import state_checks as checks

FeaturizerName = Literal["auto", "linear", "interactions", "poly2"]
FEATURIZERS: tuple[str, ...] = ("auto", "linear", "interactions", "poly2")
CovType = Literal["HC0", "HC1", "HC2"]
CHUNK_ROWS = 65_536
QR_ROWS = 1_024  # rows added to the running QR at a time: Householder steps stay in cache
MIN_ROWS_PER_COEFFICIENT = 20
ALIAS_TOLERANCE = 1e-9
_FIELDS = ("center", "scale", "coef_std", "cov_std", "aliased")


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


def width(p: int, kind: str) -> int:
    """How many columns `featurize` makes from p features."""
    return 1 + p + len(_pairs(p, kind))


def choose_featurizer(kind: str, rows: int, p: int, arms: int) -> str:
    """`kind`, with "auto" resolved: "interactions" when its arms x width coefficients leave at least
    MIN_ROWS_PER_COEFFICIENT rows each, else "linear" (which is never far worse on small data)."""
    if kind != "auto":
        return kind
    return "interactions" if rows >= MIN_ROWS_PER_COEFFICIENT * arms * width(p, "interactions") else "linear"


def chunks(rows: int) -> Iterator[slice]:
    """Row slices of at most CHUNK_ROWS."""
    for start in range(0, rows, CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, rows))


@attrs.frozen
class LinearFinalStage:
    """Per arm k: the featurized columns' `center` and `scale` (K, d), the coefficients on the
    standardised columns `coef_std` (K, d) with their covariance `cov_std` (K, d, d), and which
    columns were `aliased` (K, d; dropped, coefficient 0). `coef` / `cov` are in X's own units."""

    center: Any
    scale: Any
    coef_std: Any
    cov_std: Any
    aliased: Any

    def standardized(self, phi: Any, k: int) -> Any:
        """Featurized rows (m, d) in arm k's standardised units (the intercept stays 1)."""
        return (phi - self.center[k]) / self.scale[k]

    def effects(self, phi: Any) -> Any:
        """Effects (m, K) at featurized rows `phi` (m, d): one product with the raw-unit coefficients,
        so scoring many rows costs no standardised copy of them."""
        return phi @ self.coef.T

    def effects_at(self, X: Any, kind: str) -> Any:
        """Effects (m, K) at rows X (m, p) of features `kind` makes; for "linear" straight from X,
        without building the featurized copy (intercept plus X)."""
        if kind != "linear":
            return self.effects(featurize(X, kind))
        coef = self.coef
        return X @ coef[:, 1:].T + coef[:, 0]

    def stderr(self, phi: Any) -> Any:
        """Standard errors (m, K) of `effects` at featurized rows `phi`."""
        import numpy as np

        columns = []
        for k, block in enumerate(self.cov_std):
            rows = self.standardized(phi, k)
            columns.append(np.einsum("md,md->m", rows @ block, rows))
        return np.sqrt(np.maximum(np.column_stack(columns), 0.0))

    def _to_raw(self) -> Any:
        """Per arm the (d, d) map from standardised coefficients to coefficients on the raw columns."""
        import numpy as np

        maps = np.stack([np.diag(1.0 / s) for s in self.scale])
        maps[:, 0, :] -= self.center / self.scale
        maps[:, 0, 0] = 1.0
        return maps

    @property
    def coef(self) -> Any:
        """Coefficients (K, d) on the raw featurized columns (those of `feature_names`)."""
        import numpy as np

        return np.einsum("kij,kj->ki", self._to_raw(), self.coef_std)

    @property
    def cov(self) -> Any:
        """Each arm's (d, d) covariance of `coef`."""
        import numpy as np

        maps = self._to_raw()
        return np.einsum("kij,kjl,kml->kim", maps, self.cov_std, maps)

    def to_state(self) -> dict[str, Any]:
        """Plain lists for JSON."""
        return {name: getattr(self, name).tolist() for name in _FIELDS}

    @staticmethod
    def width_of(state: Any, arms: int, where: str) -> int:
        """The number of columns d that a saved stage of `arms` (at least 1) arms holds, read from its `center`
        (so that sizes elsewhere are checked against arrays that are there)."""
        state = checks.require_object(state, where, keys=_FIELDS, exact=True)
        center = checks.require_list(state["center"], where + ".center", length=arms)
        return len(checks.require_list(center[0], where + ".center[0]"))

    @classmethod
    def from_state(cls, state: dict[str, Any], arms: int, d: int, where: str) -> LinearFinalStage:
        """Rebuild from `to_state`, checking every shape against `arms` arms of `d` columns, that
        every number is finite, the scales positive and each covariance symmetric."""
        import numpy as np

        shapes = {"center": (arms, d), "scale": (arms, d), "coef_std": (arms, d), "cov_std": (arms, d, d)}
        fields = {name: checks.require_finite_array(state[name], f"{where}.{name}", s) for name, s in shapes.items()}
        aliased = checks.require_bool_array(state["aliased"], where + ".aliased", (arms, d))
        if not (fields["scale"] > 0).all():
            raise checks.corrupt(where + ".scale", "must hold only positive scales")
        cov = fields["cov_std"]
        tolerance = 1e-12 * np.abs(cov).max(initial=0.0)
        if not np.allclose(cov, cov.transpose(0, 2, 1), rtol=1e-9, atol=tolerance):
            raise checks.corrupt(where + ".cov_std", "must hold symmetric covariance matrices")
        return cls(**fields, aliased=aliased)


def stack(stages: list[LinearFinalStage]) -> LinearFinalStage:
    """One stage holding the arms of several (each fitted on its own rows)."""
    import numpy as np

    return LinearFinalStage(**{name: np.concatenate([getattr(s, name) for s in stages]) for name in _FIELDS})


def _design(t_res: Any, phi: Any) -> Any:
    """Each arm's residual times the features, side by side: (m, K * d)."""
    return (t_res[:, :, None] * phi[:, None, :]).reshape(len(phi), -1)


def _moments(X: Any, kind: str) -> tuple[Any, Any, Any]:
    """Mean, standard deviation and constancy (d,) of the featurized columns, in one chunked pass."""
    import numpy as np

    count, mean, m2 = 0, 0.0, 0.0
    low, high = np.inf, -np.inf
    for part in chunks(len(X)):
        phi = featurize(X[part], kind)
        m, part_mean = len(phi), phi.mean(axis=0)
        delta, total = part_mean - mean, count + m
        m2 = m2 + ((phi - part_mean) ** 2).sum(axis=0) + delta**2 * count * m / total
        mean, count = mean + delta * m / total, total
        low, high = np.minimum(low, phi.min(axis=0)), np.maximum(high, phi.max(axis=0))
    constant = high - low <= 1e-12 * np.maximum(np.abs(high), np.abs(low))
    constant[0] = False
    return mean, np.sqrt(m2 / count), constant


def independent_columns(R: Any, tolerance: float = ALIAS_TOLERANCE) -> Any:
    """Indices of the columns of R (the triangular factor of a design) that are not, within
    `tolerance` (the sine of the angle), linear combinations of earlier kept columns: a QR in
    column order that skips each column already spanned, so lower-order columns are kept."""
    import numpy as np

    A = np.array(R, dtype=float)
    norms = np.linalg.norm(A, axis=0)
    kept: list[int] = []
    for j in range(A.shape[1]):
        row = len(kept)
        if row == A.shape[0]:
            break
        v = A[row:, j]
        length = np.linalg.norm(v)
        if norms[j] == 0.0 or length <= tolerance * norms[j]:
            continue
        kept.append(j)
        u = v.copy()
        u[0] += np.copysign(length, v[0])
        u /= np.linalg.norm(u)
        A[row:, j + 1:] -= 2.0 * np.outer(u, u @ A[row:, j + 1:])
    return np.array(kept, dtype=np.int64)


def fit_linear_final(y_res: Any, t_res: Any, X: Any, kind: str, cov_type: CovType = "HC2") -> LinearFinalStage:
    """Least squares of the outcome residual on every arm's treatment residual times the
    standardised featurize(X), by QR, dropping aliased columns.

    The covariance is the sandwich bread @ meat @ bread with squared residuals in the meat, as
    such (HC0), times n / (n - rank) (HC1, econml's "HC1") or each divided by 1 - leverage (HC2).
    With many final-stage features per row HC0/HC1 are too narrow; HC2 is unbiased when the
    errors are homoskedastic and close to it otherwise.
    """
    import numpy as np
    from scipy.linalg import solve_triangular

    rows, arms = t_res.shape
    mean, std, constant = _moments(X, kind)
    d = len(mean)
    center = np.where(np.arange(d) == 0, 0.0, mean)
    scale = np.where((np.arange(d) == 0) | constant, 1.0, std)
    live = (~constant).astype(float)

    def design(part: slice) -> Any:
        return _design(t_res[part], (featurize(X[part], kind) - center) / scale * live)

    R = np.zeros((0, arms * d + 1))
    for part in chunks(rows):
        augmented = np.column_stack([design(part), y_res[part]])
        for start in range(0, len(augmented), QR_ROWS):
            R = np.linalg.qr(np.vstack([R, augmented[start:start + QR_ROWS]]), mode="r")
    R = np.vstack([R, np.zeros((arms * d + 1 - len(R), arms * d + 1))])
    kept = independent_columns(R[:-1, :-1])
    Q, triangle = np.linalg.qr(R[:-1, kept])
    theta = solve_triangular(triangle, Q.T @ R[:-1, -1])
    inverse = solve_triangular(triangle, np.eye(len(kept)))
    meat = np.zeros((len(kept), len(kept)))
    for part in chunks(rows):
        Z = design(part)[:, kept]
        U = Z @ inverse  # orthonormal columns over all rows: the squared row norms are the leverages
        weight = (y_res[part] - Z @ theta) ** 2
        if cov_type == "HC2":
            weight /= np.maximum(1.0 - np.einsum("md,md->m", U, U), 1e-8)
        scaled = U * np.sqrt(weight)[:, None]
        meat += scaled.T @ scaled
    kept_cov = inverse @ meat @ inverse.T
    if cov_type == "HC1":
        kept_cov *= rows / max(rows - len(kept), 1)
    coef = np.zeros(arms * d)
    coef[kept] = theta
    cov = np.zeros((arms * d, arms * d))
    cov[np.ix_(kept, kept)] = kept_cov
    aliased = np.ones(arms * d, dtype=bool)
    aliased[kept] = False
    return LinearFinalStage(
        center=np.tile(center, (arms, 1)),
        scale=np.tile(scale, (arms, 1)),
        coef_std=coef.reshape(arms, d),
        cov_std=np.stack([cov[k * d:(k + 1) * d, k * d:(k + 1) * d] for k in range(arms)]),
        aliased=aliased.reshape(arms, d),
    )
