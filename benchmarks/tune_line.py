"""The chi2 of a closure tune's pseudo-data along the straight line from its truth to its tune.

Does the data separate a tune from the truth it missed, at the precision of real runs? Points
at fractions ``t`` of the way from the truth (``t = 0``) to the tune in ``summary.json``
(``t = 1``) are generated with ``--events`` events each (seeds ``SEED0 + i``) and scored against
the study's pseudo-data, as an evaluation is. One table row per point.

    python benchmarks/tune_line.py STUDY_DIR [--events 400000] [--at 0,0.33,0.67,1] [--workers 2]
    # STUDY_DIR: a closure tune's output folder (config.json, study.db, summary.json)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tuner.mc.runs import generate
from tuner.mc.workflow import TuneRun

SEED0 = 91000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--at", default="0,0.33,0.67,1", help="fractions of the way, comma-separated")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    run = TuneRun.load(a.study)
    setup = run.setup
    truth = setup.config.closure["truth"]  # type: ignore[index]
    tune = json.loads((Path(a.study) / "summary.json").read_text())["tune"]
    print(f"| t (0 = truth, 1 = tune) | chi2 ({a.events} events) | bins | point |")
    print("|---|---|---|---|")
    for i, t in enumerate(float(v) for v in a.at.split(",")):
        point = {k: truth[k] + t * (tune[k] - truth[k]) for k in truth}
        c = setup.score(generate(setup.spec(point), a.events, SEED0 + i, n_workers=a.workers))
        shown = ", ".join(f"{k.split(':')[-1]} {v:.4g}" for k, v in point.items())
        print(f"| {t:.2f} | {c.total:.1f} | {c.nbins} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
