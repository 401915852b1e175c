"""DELPHI_1996_S3430090 at the Monash default: chi2 per histogram, and its cost beside ALEPH's.

    python benchmarks/delphi_monash.py [--events 200000] [--workers 2] [--seed 1]

Prints (1) events per second of generation + analysis for ALEPH alone, DELPHI alone and both,
side by side on the same events; (2) chi2 / ndf of every DELPHI histogram at the Monash default
(data errors and the simulation's statistical errors in quadrature, no model-error floor).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tuner.mc.analyses import normalise
from tuner.mc.chi2 import chi2
from tuner.mc.refdata import read_plot_info, read_yoda, shipped_files
from tuner.mc.runs import RunSpec, generate, needed_refs

DELPHI = "DELPHI_1996_S3430090"
ALEPH = "ALEPH_1996_S3486095"


def _refs(analyses: tuple[str, ...]) -> dict:
    refs: dict = {}
    for a in analyses:
        refs.update(read_yoda(shipped_files(a)["yoda"]))
    return needed_refs(refs, analyses)


def throughput(n: int, seed: int) -> list[tuple[str, float]]:
    """Events per second on one core for each analysis set (same events, same seed), after a
    warm-up run that loads the compiled kernels."""
    generate(RunSpec({}, (ALEPH, DELPHI), _refs((ALEPH, DELPHI))), 300, seed)
    rows = []
    for label, ana in (("ALEPH", (ALEPH,)), ("DELPHI", (DELPHI,)), ("ALEPH + DELPHI", (ALEPH, DELPHI))):
        refs = _refs(ana)
        t0 = time.perf_counter()
        generate(RunSpec({}, ana, refs), n, seed)
        rows.append((label, n / (time.perf_counter() - t0)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--speed-events", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    print(f"Generation + analysis, {a.speed_events} events, one core\n")
    rows = throughput(a.speed_events, a.seed)
    base = rows[0][1]
    print("| analyses | events/s | vs ALEPH alone |\n|---|---|---|")
    for label, v in rows:
        print(f"| {label} | {v:.0f} | {v / base:.2f} |")

    refs = _refs((DELPHI,))
    t0 = time.perf_counter()
    fills = generate(RunSpec({}, (DELPHI,), refs), a.events, a.seed, n_workers=a.workers)
    sim = normalise(fills, refs)
    res = chi2(sim, refs, sorted(refs))
    titles = read_plot_info(shipped_files(DELPHI)["plot"])
    print(f"\nMonash default vs DELPHI 1996, {a.events} events ({time.perf_counter() - t0:.0f} s on "
          f"{a.workers} workers)\n")
    print("| histogram | observable | chi2 | bins | chi2/ndf |\n|---|---|---|---|---|")
    for key in sorted(refs):
        c, nb = res.per_hist[key]
        info = titles.get(key)
        title = (info.title if info is not None else "").replace("|", "\\|")
        print(f"| {key.split('/')[1]} | {title} | {c:.1f} | {nb} | {c / max(nb, 1):.2f} |")
    print(f"| **total** | | **{res.total:.1f}** | **{res.nbins}** | **{res.per_ndf:.2f}** |")
    nch = sim[f"{DELPHI}/d35-x01-y01"]
    print(f"\n<N_ch> = {nch.values[0]:.2f} +- {nch.errors[0]:.2f} (DELPHI: "
          f"{refs[f'{DELPHI}/d35-x01-y01'].values[0]:.2f}); histograms booked: {len(refs)}; "
          f"largest chi2/ndf: {max(res.per_hist.items(), key=lambda kv: kv[1][0] / max(kv[1][1], 1))[0]}")
    assert np.isfinite(res.total)


if __name__ == "__main__":
    main()
