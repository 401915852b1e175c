"""Per-histogram chi2 of Pythia's Monash default against the ALEPH 1996 data.

    python examples/monash_chi2.py [--refdata FILE (default: the data shipped with tuner)]
                                   [--events 100000] [--workers 2] [--seed 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tuner.mc.analyses import normalise
from tuner.mc.chi2 import chi2
from tuner.mc.refdata import read_refdata, shipped_files
from tuner.mc.runs import RunSpec, generate, needed_refs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--refdata", default=str(shipped_files("ALEPH_1996_S3486095")["yoda"]))
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    analysis = "ALEPH_1996_S3486095"
    refs = needed_refs(read_refdata(args.refdata), [analysis])
    fills = generate(RunSpec({}, (analysis,), refs), args.events, args.seed, n_workers=args.workers)
    sim = normalise(fills, refs)
    c = chi2(sim, refs, sorted(refs))
    print(f"Monash default, {args.events} events, against {Path(args.refdata).name}\n")
    print(f"{'histogram':<34}{'chi2':>10}{'bins':>6}{'chi2/bin':>10}")
    for key, (val, n) in sorted(c.per_hist.items()):
        print(f"{key:<34}{val:>10.1f}{n:>6}{val / max(n, 1):>10.2f}")
    print(f"{'total':<34}{c.total:>10.1f}{c.nbins:>6}{c.per_ndf:>10.2f}"
          f"   (MC standard deviation of the total: {c.variance ** 0.5:.1f})")


if __name__ == "__main__":
    main()
