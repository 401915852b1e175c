"""How many principal components should the emulator keep? Offline, on stored closure tunes.

For every stored closure tune (a folder of ``tune_closure.py``) the emulator is refitted to all
its evaluations with each cap on the number of principal components, its chi2 minimised from the
five best evaluations, and the largest error of that minimum (fraction of each range, of the
values Pythia runs with, as ``tune_closure.py`` scores a pTmin below its floor) printed per
tune and cap, beside today's default (:func:`tuner.mc.emulator.component_cap`). Only the
recommendation is refitted: the evaluations are the stored tune's.

    python benchmarks/tune_components.py DIR/truth1-emulator DIR/truth2-emulator ... \\
        --caps 12,16,20,24,28,32
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from tuner.mc.emulator import HistogramEmulator, component_cap
from tuner.mc.generators.cutoffs import values_used
from tuner.mc.workflow import TuneRun


def errors(folder: str, caps: list[int]) -> tuple[str, int, list[tuple[float, str]]]:
    """Per cap, the largest error of the refitted minimum of the tune in ``folder`` and the
    parameter it is in; with the tune's name and its default cap."""
    run = TuneRun.load(folder)
    opt, setup = run.opt, run.setup
    cfg = setup.config
    truth = json.loads((Path(folder) / "summary.json").read_text())["closure_truth"]
    names = [p.name for p in cfg.parameters]
    vectors = setup.stored_vectors(opt.storage, opt.trials)
    done = [t for t in opt.complete if t.id in vectors]
    X = np.asarray(opt.space.to_unit([t.x for t in done]))
    vals = np.stack([vectors[t.id][0] for t in done])
    errs = np.stack([vectors[t.id][1] for t in done])
    data, derr, w = setup.data_vector()
    starts = np.asarray(opt.space.to_unit([t.x for t in sorted(done, key=lambda t: float(t.y or 0))[:5]]))
    truth_run = values_used(truth, cfg.fixed, cfg.preset)
    span = np.array([p.high - p.low for p in cfg.parameters])
    out = []
    for k in caps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            emu = HistogramEmulator.fit(X, vals, errs, data, derr, w, cfg.model_error,
                                        max_components=k, seed=cfg.seed)
            u = emu.minimum(starts, np.asarray(opt.space.model_bounds), seed=cfg.seed)
        fit_run = values_used(dict(zip(names, opt.space.from_unit([u])[0], strict=True)),
                              cfg.fixed, cfg.preset)
        err = np.array([abs(fit_run[n] - truth_run[n]) for n in names]) / span
        out.append((float(err.max()), names[int(err.argmax())].split(":")[-1]))
    return Path(folder).name, component_cap(len(names)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="stored closure tunes (truthK-emulator folders)")
    ap.add_argument("--caps", default="12,16,20,24,28,32", help="comma-separated component caps")
    a = ap.parse_args()
    caps = [int(c) for c in a.caps.split(",")]
    print("| tune | default cap | " + " | ".join(f"cap {k}" for k in caps) + " |")
    print("|---|---|" + "---|" * len(caps))
    for f in a.folders:
        name, default, out = errors(f, caps)
        cells = [f"{e:.3f} ({p})" + (" *" if e >= 0.05 else "") for e, p in out]
        print(f"| {name} | {default} | " + " | ".join(cells) + " |", flush=True)
    print("largest error of the emulated minimum / range (its parameter); * at or above 5%")


if __name__ == "__main__":
    main()
