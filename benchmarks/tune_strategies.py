"""Peers side by side on the same work: every tune strategy on the embedded 2-parameter closure.

Same pseudo-data, budget (14 evaluations of 4000 events), seeds and events for every strategy;
per strategy the median over seeds of the largest |fit - truth| / range, the fraction of 1-sigma
intervals containing the truth, and the RMS pull.

    python benchmarks/tune_strategies.py --seeds 100-104 --parallel 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def one(strategy: str, seed: int, out: str) -> dict:
    from tuner.mc.config import default_config
    from tuner.mc.workflow import run_tune

    cfg = dataclasses.replace(default_config(), seed=seed, strategy=strategy)
    folder = Path(out) / f"{strategy}-{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    res = run_tune(cfg, folder, workers=1, progress=False)
    span = {p.name: p.high - p.low for p in cfg.parameters}
    truth = cfg.closure["truth"]  # type: ignore[index]
    return {"strategy": strategy, "seed": seed,
            "err": max(abs(res.best[n] - truth[n]) / span[n] for n in truth),
            "pulls": [(res.best[n] - truth[n]) / res.uncertainties[n] for n in truth],
            "validation_chi2": res.validation.tune.chi2}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="100-104")
    ap.add_argument("--strategies", default="emulator,chi2-gp,professor,sobol")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", default="bench-out/strategies")
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.seeds.split("-"))
    jobs = [(s, seed) for s in a.strategies.split(",") for seed in range(lo, hi + 1)]
    with ProcessPoolExecutor(a.parallel) as pool:
        rows = list(pool.map(one, [j[0] for j in jobs], [j[1] for j in jobs], [a.out] * len(jobs)))
    print(f"\nEmbedded closure (aLund, alphaS), 14 evaluations of 4000 events, seeds {a.seeds}\n")
    print("| strategy | median max error / range | worst | 1-sigma coverage | RMS pull | "
          "median validation chi2 (57 bins) |")
    print("|---|---|---|---|---|---|")
    for s in a.strategies.split(","):
        rs = [r for r in rows if r["strategy"] == s]
        pulls = np.array([p for r in rs for p in r["pulls"]])
        print(f"| {s} | {np.median([r['err'] for r in rs]):.3f} | {max(r['err'] for r in rs):.3f} | "
              f"{np.mean(np.abs(pulls) <= 1):.0%} | {np.sqrt(np.mean(pulls**2)):.2f} | "
              f"{np.median([r['validation_chi2'] for r in rs]):.1f} |")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "strategies.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
