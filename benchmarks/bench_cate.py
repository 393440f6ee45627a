"""CATE benchmark: native `dml` against econml LinearDML on the seed article's setup, then 1M rows.

The seed fits LinearDML three times, once per 10,000-row experiment; `dml` fits the three
experiments in one multi-arm fit, with the same first-stage models and the same featurizer.
Then real data: the NSW experiment (445 men, earnings in dollars), where every estimator's average
effect is compared with the experiment's difference in means. Prints ratios, then one JSON line:
rmse_ratio_vs_econml (ours / theirs, worst treatment), speedup_vs_econml, fit_1m_s, peak_1m_mb
(with `--quick`, 3 x 2,000 rows and a 100,000-row "large" fit, named by large_rows), and
real_abs_z (|ATE - benchmark| / its standard error for `dml` with defaults; goal <= 2) beside
real_estimates (each estimator's ate, se and abs_z).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

import engine
from engine.testing.cate import nsw_experiment

TREATMENTS = ("T1", "T2", "T3")
REAL_ESTIMATORS = {  # label: (plugin, options)
    "dml": ("dml", {}), "dml-lightgbm": ("dml", {"model_y": "lightgbm", "model_t": "lightgbm"}),
    "dml-linear": ("dml", {"model_y": "linear", "model_t": "linear"}), "econml-linear-dml": ("econml-linear-dml", {}),
    "econml-causal-forest": ("econml-causal-forest", {}), "econml-dr": ("econml-dr", {}),
}


def arrays(n: int, layout: str, seed: int) -> dict:
    table = engine.source("synthetic", n=n, layout=layout, seed=seed).to_arrow()
    out = {
        "X": np.column_stack([table.column(f"x{j}").to_numpy() for j in range(10)]),
        "Y": table.column("y").to_numpy(),
        "T": table.column("t").to_numpy(zero_copy_only=False),
        "tau": np.column_stack([table.column(f"tau_{t}").to_numpy() for t in TREATMENTS]),
    }
    if "experiment" in table.column_names:
        out["experiment"] = table.column("experiment").to_numpy(zero_copy_only=False)
    return out


def first_stages(max_iter: int) -> dict:
    return {
        "model_y": HistGradientBoostingRegressor(max_iter=max_iter, random_state=0),
        "model_t": HistGradientBoostingClassifier(max_iter=max_iter, random_state=0),
    }


def seed_setup(n: int, featurizer: str, max_iter: int) -> tuple[dict, dict, float, float]:
    """RMSE per treatment and fit seconds of dml (one multi-arm fit) and econml (three fits)."""
    data = arrays(n, "per-treatment", 123)
    X, Y, T, tau = data["X"], data["Y"], data["T"], data["tau"]
    start = time.perf_counter()
    ours = engine.cate("dml", **first_stages(max_iter), featurizer=featurizer, random_state=0).fit(Y, T, X)
    ours_s = time.perf_counter() - start
    ours_rmse = dict(zip(TREATMENTS, np.sqrt(((ours.effect(X) - tau) ** 2).mean(axis=0))))
    theirs_rmse, theirs_s = {}, 0.0
    for k, name in enumerate(TREATMENTS):
        rows = data["experiment"] == name
        start = time.perf_counter()
        model = engine.cate("econml-linear-dml", **first_stages(max_iter), featurizer=featurizer, random_state=0)
        model.fit(Y[rows], T[rows], X[rows])
        theirs_s += time.perf_counter() - start
        theirs_rmse[name] = float(np.sqrt(((model.effect(X)[:, 0] - tau[:, k]) ** 2).mean()))
    return ours_rmse, theirs_rmse, ours_s, theirs_s


def real_data() -> tuple[float, dict]:
    """The NSW benchmark and, per estimator (defaults but the first stages named), ate, se and abs_z."""
    from scipy.stats import norm

    data = nsw_experiment()
    rows = {}
    for label, (name, options) in REAL_ESTIMATORS.items():
        model = engine.cate(name, **options, random_state=0)
        model.fit(data.Y, data.T, data.X)
        ate = float(model.ate(data.X)[0])
        lower, upper = model.ate_interval(data.X)
        se = float((upper - lower)[0] / (2 * norm.ppf(0.975)))
        rows[label] = {"ate": round(ate, 1), "se": round(se, 1), "abs_z": round(abs(ate - data.benchmark) / se, 3)}
    return data.benchmark, rows


def _large_fit(n: int, max_iter: int, threads: int, queue: multiprocessing.Queue) -> None:
    threadpool_limits(limits=threads)
    data = arrays(n, "multi-arm", 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    engine.cate("dml", **first_stages(max_iter), random_state=0).fit(data["Y"], data["T"], data["X"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, max(peak - before, 0) / 1024.0))


def large(n: int, max_iter: int, threads: int) -> tuple[float, float]:
    """Fit seconds and peak extra memory (MB, over the data) of dml on n multi-arm rows, in a child process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_large_fit, args=(n, max_iter, threads, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data: 3 x 2,000 rows and 100,000 for the large fit")
    parser.add_argument("--featurizer", default="linear", choices=["linear", "interactions", "poly2"],
                        help="final-stage features for both (the seed's LinearDML is linear in X)")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP/BLAS threads for both (1 keeps timings stable on a shared machine)")
    args = parser.parse_args()
    threadpool_limits(limits=args.threads)
    n, large_n, max_iter = (2_000, 100_000, 50) if args.quick else (10_000, 1_000_000, 100)
    ours_rmse, theirs_rmse, ours_s, theirs_s = seed_setup(n, args.featurizer, max_iter)
    for name in TREATMENTS:
        print(f"{name}: RMSE dml {ours_rmse[name]:.4f}  econml {theirs_rmse[name]:.4f}  "
              f"ratio {ours_rmse[name] / theirs_rmse[name]:.3f}")
    print(f"fit: dml {ours_s:.2f} s, econml x3 {theirs_s:.2f} s, speedup {theirs_s / ours_s:.2f}x")
    fit_s, peak_mb = large(large_n, max_iter, args.threads)
    print(f"{large_n:,} rows: dml fit {fit_s:.1f} s, peak {peak_mb:.0f} MB over the data")
    benchmark, real = real_data()
    for label, row in real.items():
        print(f"NSW (benchmark {benchmark:.0f}): {label} ATE {row['ate']:.0f} (se {row['se']:.0f}), "
              f"{row['abs_z']:.2f} se off")
    ratio = max(ours_rmse[t] / theirs_rmse[t] for t in TREATMENTS)
    print(json.dumps({
        "rows_per_treatment": n, "featurizer": args.featurizer, "rmse_ratio_vs_econml": round(ratio, 4),
        "speedup_vs_econml": round(theirs_s / ours_s, 3), "large_rows": large_n,
        "fit_1m_s": round(fit_s, 2), "peak_1m_mb": round(peak_mb, 1),
        "real_benchmark": round(benchmark, 1), "real_abs_z": real["dml"]["abs_z"], "real_estimates": real,
    }))


if __name__ == "__main__":
    main()
