"""How far a validation chi2 moves from seed to seed, against the spread the validation quotes.

Each point is generated at every seed with the validation's events (its chunks of independently
seeded events), and scored against the configuration's data. Prints per seed the chi2 of every
point and its quoted spreads (the leave-one-chunk-out jackknife that the validation reports, and
the delta method from the bins' errors), then per point the mean, the spread over the seeds and
the mean quoted spreads, the spread pooled over the points, and the ratio of each point's mean
chi2 to the first point's with its standard error.

    python benchmarks/validation_spread.py --config tune_aleph_6params.yaml --events 400000 \\
        --seeds 7777778,1001,2002,3003,4004 \\
        --point tune60="StringZ:aLund=0.866,StringZ:bLund=1.025,..." --point monash=
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from tune_lep import _config


def _point(text: str) -> tuple[str, dict[str, float]]:
    """``label=name=value,name=value`` (nothing after the label: the generator's default)."""
    label, _, rest = text.partition("=")
    values = {}
    for item in filter(None, rest.split(",")):
        name, _, v = item.rpartition("=")
        values[name] = float(v)
    return label, values


def main() -> None:
    from tuner.mc.analyses import Fills
    from tuner.mc.runs import generate_chunks
    from tuner.mc.setup import prepare
    from tuner.mc.validation import chi2_spread

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", default="tune_aleph_6params.yaml", help="a file in examples/")
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--seeds", default="7777778,1001,2002,3003,4004")
    ap.add_argument("--point", action="append", default=[], help="label=name=value,... (repeat)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--jsonl", default=None, help="append each run to this file")
    ap.add_argument("--table", default=None, metavar="JSONL", help="only print the table of a "
                    "--jsonl file (points in the order they first appear)")
    a = ap.parse_args()
    if a.table:
        rows = [json.loads(line) for line in Path(a.table).read_text().splitlines() if line]
        table(rows, list(dict.fromkeys(r["point"] for r in rows)), a.events)
        return
    setup = prepare(_config(a.config, 1000, 100))  # events and budget unused here
    points = dict(_point(p) for p in a.point) or {"default": {}}
    rows = []
    for seed in (int(s) for s in a.seeds.split(",")):
        for label, values in points.items():
            t0 = time.time()
            chunks = generate_chunks(setup.spec(values), a.events, seed, n_workers=a.workers)
            c = setup.score(Fills.merge(chunks))
            jack, _ = chi2_spread(setup, chunks)
            row = {"seed": seed, "point": label, "chi2": c.total, "nbins": c.nbins,
                   "jackknife_sd": jack, "delta_sd": float(np.sqrt(c.variance)),
                   "seconds": round(time.time() - t0)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if a.jsonl:
                with open(a.jsonl, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    table(rows, list(points), a.events)


def table(rows: list[dict], labels: list[str], events: int) -> None:
    """Per point: mean chi2, spread over seeds, mean quoted spreads; pooled; ratios to the first."""
    chi = {lab: np.array([r["chi2"] for r in rows if r["point"] == lab]) for lab in labels}
    print(f"\n{events} events per run, {len(chi[labels[0]])} seeds\n")
    print("| point | mean chi2 | spread over seeds | quoted by the validation (mean) | delta method (mean) | "
          f"mean / {labels[0]}'s |")
    print("|---|---|---|---|---|---|")
    first = chi[labels[0]]
    for lab in labels:
        c = chi[lab]
        jack = np.mean([r["jackknife_sd"] for r in rows if r["point"] == lab])
        delta = np.mean([r["delta_sd"] for r in rows if r["point"] == lab])
        ratio = c.mean() / first.mean()
        se = ratio * np.sqrt(c.var(ddof=1) / len(c) / c.mean() ** 2
                             + first.var(ddof=1) / len(first) / first.mean() ** 2)
        rel = "1" if lab == labels[0] else f"{ratio:.4f} +- {se:.4f}"
        print(f"| {lab} | {c.mean():.1f} | {c.std(ddof=1):.1f} | {jack:.1f} | {delta:.1f} | {rel} |")
    dev = np.concatenate([c - c.mean() for c in chi.values()])
    dof = len(dev) - len(chi)
    pooled = float(np.sqrt(np.sum(dev ** 2) / dof))
    jack = np.mean([r["jackknife_sd"] for r in rows])
    delta = np.mean([r["delta_sd"] for r in rows])
    print(f"\npooled spread over seeds {pooled:.1f} ({dof} degrees of freedom); quoted: jackknife "
          f"{jack:.1f} ({jack / pooled:.2f} of it), delta method {delta:.1f} ({delta / pooled:.2f})")


if __name__ == "__main__":
    main()
