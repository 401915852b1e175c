"""Generator and analysis throughput, side by side in one run on this machine.

    python benchmarks/generator_throughput.py [--events 20000] [--workers 1,2] [--mem-events 1000000]
                                              [--chi2-events 1000000]

(a) bare ``Pythia.next()`` loop, (b) ``nextBatch`` alone, (c) ``nextBatch`` + the full ALEPH 1996,
PDG and OPAL analyses, in events per second per core; the speedup of (c) with 1..N worker
processes; the peak memory (RSS) of one worker for a small and a large number of events (flat
memory means the two agree); and chi2/ndf per ALEPH histogram at the Monash default.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tuner" / "mc" / "analyses" / "data"  # the shipped reference data
LEP = ("ALEPH_1996_S3486095", "PDG_HADRON_MULTIPLICITIES", "OPAL_1992_I321190")


def _refs():
    from tuner.mc.refdata import read_yoda
    from tuner.mc.runs import needed_refs

    refs = {}
    for a in LEP:
        refs.update(read_yoda(REF / f"{a}.yoda"))
    return needed_refs(refs, LEP)


def bare_next(n: int) -> float:
    from tuner.mc.generators.pythia import PythiaGenerator

    p = PythiaGenerator()._pythia(11)
    t0 = time.perf_counter()
    for _ in range(n):
        p.next()
    return n / (time.perf_counter() - t0)


def batch_only(n: int) -> float:
    from tuner.mc.generators.pythia import PythiaGenerator

    g = PythiaGenerator()
    t0 = time.perf_counter()
    for _ in g.batches(n, 11, 1000):
        pass
    return n / (time.perf_counter() - t0)


def full(n: int, workers: int = 1) -> float:
    from tuner.mc.runs import RunSpec, generate

    spec = RunSpec({}, LEP, _refs())
    generate(spec, 1000, 1, n_workers=workers, chunk_size=500)  # warm: numba, pool start
    t0 = time.perf_counter()
    generate(spec, n, 11, n_workers=workers, chunk_size=max(1000, n // (4 * workers)))
    return n / (time.perf_counter() - t0)


def stages(n: int, batch_size: int = 1000) -> dict[str, float]:
    """Microseconds per event of each stage of (c), the batch shared by the analyses: generation
    (``nextBatch``), the particle selections, the event shapes (exact thrust), the Durham
    clustering and each analysis's fills. The first batch (numba's compilation) is not counted."""
    from tuner.mc.analyses import ANALYSES, EventBatch
    from tuner.mc.generators.pythia import PythiaGenerator

    g = PythiaGenerator()
    analyses = [ANALYSES[a](_refs()) for a in LEP]
    names = ["nextBatch", "selections", "event shapes", "Durham y23", *LEP]
    total: dict[str, float] = {}
    counted = 0
    it = g.batches(n + batch_size, 11, batch_size)
    for i in range(n // batch_size + 1):
        t = [time.perf_counter()]
        b = EventBatch(next(it), g.charge, 91.2)
        t.append(time.perf_counter())
        _ = b.charged, b.hadrons
        t.append(time.perf_counter())
        _ = b.shapes
        t.append(time.perf_counter())
        _ = b.durham
        t.append(time.perf_counter())
        for a in analyses:
            a.process(b)
            t.append(time.perf_counter())
        if i:
            counted += batch_size
            for k, dt in zip(names, np.diff(t), strict=True):
                total[k] = total.get(k, 0.0) + dt
    return {k: v / counted * 1e6 for k, v in total.items()}


def _mem_child(n: int) -> None:
    from tuner.mc.runs import RunSpec, generate

    generate(RunSpec({}, LEP, _refs()), n, 3)
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_rss(n: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--mem-child", str(n)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"]


def monash_chi2(n: int, workers: int) -> list[tuple[str, float, int]]:
    from tuner.mc.analyses import normalise
    from tuner.mc.chi2 import chi2
    from tuner.mc.runs import RunSpec, generate

    refs = _refs()
    fills = generate(RunSpec({}, LEP, refs), n, 1, n_workers=workers)
    keys = sorted(k for k in refs if k.startswith("ALEPH"))
    c = chi2(normalise(fills, refs), refs, keys)
    return [(k, v, nb) for k, (v, nb) in c.per_hist.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--mem-events", type=int, default=1_000_000)
    ap.add_argument("--chi2-events", type=int, default=1_000_000)
    ap.add_argument("--mem-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mem_child is not None:
        _mem_child(args.mem_child)
        return
    n = args.events
    a, b, c = bare_next(n), batch_only(n), full(n)
    print(f"\nThroughput, {n} events, one core (e+e- -> Z -> hadrons, 91.2 GeV)\n")
    print("| mode | events/s | vs bare next() |\n|---|---|---|")
    for label, v in (("(a) bare Pythia.next() loop", a), ("(b) nextBatch alone", b),
                     ("(c) nextBatch + ALEPH + PDG + OPAL analyses", c)):
        print(f"| {label} | {v:.0f} | {v / a:.2f} |")
    print("\nWhere the time of (c) goes, microseconds per event (one core)\n")
    print("| stage | us / event |\n|---|---|")
    for k, v in stages(n).items():
        print(f"| {k} | {v:.1f} |")
    print(f"| (bare next(), for scale) | {1e6 / a:.1f} |")
    print("\n| workers | events/s (c) | speedup | speedup / workers |\n|---|---|---|---|")
    base = None
    for w in [int(x) for x in args.workers.split(",")]:
        v = full(n * w, w)
        base = base or v
        print(f"| {w} | {v:.0f} | {v / base:.2f} | {v / base / w:.2f} |")
    small = peak_rss(max(10_000, args.mem_events // 100))
    big = peak_rss(args.mem_events)
    print(f"\n| events in one worker | peak RSS (MB) |\n|---|---|\n"
          f"| {max(10_000, args.mem_events // 100)} | {small:.0f} |\n| {args.mem_events} | {big:.0f} |")
    rows = monash_chi2(args.chi2_events, max(int(x) for x in args.workers.split(",")))
    tot = sum(r[1] for r in rows)
    nb = sum(r[2] for r in rows)
    print(f"\nMonash default vs ALEPH 1996, {args.chi2_events} events\n")
    print("| histogram | chi2 | bins | chi2/ndf |\n|---|---|---|---|")
    for k, v, nbins in rows:
        print(f"| {k.split('/')[1]} | {v:.1f} | {nbins} | {v / max(nbins, 1):.2f} |")
    print(f"| total | {tot:.1f} | {nb} | {tot / nb:.2f} |")


if __name__ == "__main__":
    main()
