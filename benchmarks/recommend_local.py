"""The last evaluation at an unwarped GP's minimum instead of the default recommendation
(session 24's experiment, BENCHMARKS.md section 1; not adopted).

For each seed: ``gp_minimize`` with ``exploit_last=0`` and one call fewer than the problem's
budget (the first ``n - 1`` evaluations of the default run, which spends its last on the
recommendation), then the last evaluation three ways: the default recommendation
(``x_recommended``), the mean's minimum of a GP without output warp fitted to every evaluation,
and of one fitted to the ``4 d + 4`` evaluations nearest the best. Prints the regret of each
(the best of the ``n`` evaluations), per seed and the median.

    OMP_NUM_THREADS=1 python benchmarks/recommend_local.py branin [--seeds 10]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bo_synthetic import _space
from problems import PROBLEMS


def unwarped_minimum(p, X: np.ndarray, Y: np.ndarray, k: int | None, seed: int) -> list:
    """The recommendation of a GP without output warp fitted to the ``k`` evaluations nearest
    the best (all with ``None``)."""
    import tuner

    span = np.array([s[2] - s[1] for s in p.specs])
    dist = np.linalg.norm((X - X[np.argmin(Y)]) / span, axis=1)
    idx = np.arange(len(Y)) if k is None else np.argsort(dist)[:k]
    opt = tuner.Optimizer(_space(p, tuner), n_initial_points=0, y_warp="none", random_state=seed)
    opt.tell([list(x) for x in X[idx]], [float(y) for y in Y[idx]])
    rec = opt.recommend()
    assert rec is not None
    return rec[0]


def main() -> None:
    import tuner

    ap = argparse.ArgumentParser()
    ap.add_argument("problem", choices=sorted(PROBLEMS))
    ap.add_argument("--seeds", type=int, default=10)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    p = PROBLEMS[a.problem]
    rows = []
    for seed in range(a.seeds):
        res = tuner.gp_minimize(p.f, _space(p, tuner), n_calls=p.n_calls - 1, random_state=seed,
                                progress=False, exploit_last=0)
        X, Y = np.array(res.x_iters, float), np.array(res.func_vals)
        recs = [res.x_recommended] + [unwarped_minimum(p, X, Y, k, seed)
                                      for k in (None, 4 * len(p.specs) + 4)]
        rows.append([min(res.fun, p.f(x)) - p.fmin for x in recs])
        print(seed, " ".join(f"{v:.3g}" for v in rows[-1]), flush=True)
    r = np.array(rows)
    print("median default / unwarped-all / unwarped-local:",
          " ".join(f"{v:.3g}" for v in np.median(r, 0)),
          f"| local better on {int((r[:, 2] < 0.999 * r[:, 0]).sum())}, "
          f"worse on {int((r[:, 2] > 1.001 * r[:, 0]).sum())}")


if __name__ == "__main__":
    main()
