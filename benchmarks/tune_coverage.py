"""Coverage of the quoted uncertainties: repeat the embedded 2-parameter closure with many seeds.

Each seed changes the pseudo-data, the design and every evaluation's events. Prints one row per
seed (fit, quoted sigma, pull = (fit - truth) / sigma, the closure verdict of the validation) and
the summary: how many 1-sigma intervals contain the truth (68% expected), the RMS pull per
parameter (1 expected), and the closure verdict against the misses (a seed whose worse parameter
lies more than 5% of its range from the truth).

    python benchmarks/tune_coverage.py --seeds 100-119 --parallel 2 --out bench-out/coverage

``--random-truths``: each seed also draws its own truth, uniformly from the central 60% of each
parameter's range (numpy's generator seeded by the seed), instead of the default's (0.9, 0.125):
coverage at truths the tune's settings were never chosen on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def truth_for(seed: int, cfg) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """A truth drawn uniformly from the central 60% of each parameter's range, seeded by ``seed``."""
    rng = np.random.default_rng([seed, 60])
    return {p.name: float(p.low + (0.2 + 0.6 * rng.random()) * (p.high - p.low))
            for p in cfg.parameters}


def one(seed: int, out: str, emulator: bool, random_truth: bool = False) -> dict:
    from tuner.mc.config import default_config
    from tuner.mc.workflow import run_tune

    cfg = dataclasses.replace(default_config(), seed=seed, emulator=emulator)
    if random_truth:
        cfg = dataclasses.replace(cfg, closure={**cfg.closure, "truth": truth_for(seed, cfg)})
    folder = Path(out) / f"seed{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    res = run_tune(cfg, folder, workers=1, progress=False)
    ranges = {p.name: p.high - p.low for p in cfg.parameters}
    return {"seed": seed, "best": res.best, "sigma": res.uncertainties,
            "truth": cfg.closure["truth"], "method": res.uncertainty_method, "ranges": ranges,
            "closure": res.validation.to_dict().get("closure")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="100-119")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", default="bench-out/coverage")
    ap.add_argument("--chi2-gp", action="store_true", help="emulator: false (the chi2 GP alone)")
    ap.add_argument("--random-truths", action="store_true",
                    help="a truth per seed from the central 60%% of each range")
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.seeds.split("-"))
    seeds = list(range(lo, hi + 1))
    with ProcessPoolExecutor(a.parallel) as pool:
        rows = list(pool.map(one, seeds, [a.out] * len(seeds), [not a.chi2_gp] * len(seeds),
                             [a.random_truths] * len(seeds)))
    names = list(rows[0]["best"])
    pulls = {n: [] for n in names}
    print("| seed | " + " | ".join(f"{n} fit +- sigma (pull)" for n in names)
          + " | max error / range | validation above the truth's score (closure rule) |")
    print("|---|" + "---|" * (len(names) + 2))
    verdicts = []  # (missed by 5% of a range, flagged by the closure rule)
    for r in rows:
        cells = []
        for n in names:
            p = (r["best"][n] - r["truth"][n]) / r["sigma"][n]
            pulls[n].append(p)
            cells.append(f"{r['best'][n]:.4g} +- {r['sigma'][n]:.2g} ({p:+.2f})")
        err = max(abs(r["best"][n] - r["truth"][n]) / r["ranges"][n] for n in names)
        c = r.get("closure") or {}
        z = c.get("excess_sds")
        verdicts.append((err > 0.05, bool(c.get("missed"))))
        cells += [f"{err:.3f}", "-" if z is None else f"{z:+.1f} sd{'; missed' if c.get('missed') else ''}"]
        print(f"| {r['seed']} | " + " | ".join(cells) + " |")
    inside = sum(int(abs(p) <= 1) for n in names for p in pulls[n])
    total = sum(len(v) for v in pulls.values())
    print(f"\n1-sigma intervals containing the truth: {inside} of {total} "
          f"({100 * inside / total:.0f}%; 68% expected)")
    for n in names:
        v = np.array(pulls[n])
        print(f"{n}: RMS pull {np.sqrt(np.mean(v**2)):.2f}, mean pull {v.mean():+.2f}, "
              f"scatter of the fit {np.std([r['best'][n] for r in rows], ddof=1):.3g}, "
              f"median sigma {np.median([r['sigma'][n] for r in rows]):.3g}")
    print(f"method: {rows[0]['method']}")
    off = [flag for miss, flag in verdicts if miss]
    on = [flag for miss, flag in verdicts if not miss]
    print(f"closure rule: flags {sum(off)} of the {len(off)} seeds off by more than 5% of a range, "
          f"and {sum(on)} of the {len(on)} within it")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "coverage.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
