"""How many principal components should the emulator keep? Offline, on stored closure tunes.

For every stored closure tune (a folder of ``tune_closure.py``) the emulator is refitted to all
its evaluations with each cap on the number of principal components, its chi2 minimised from the
five best evaluations, and the largest error of that minimum (fraction of each range, of the
values Pythia runs with, as ``tune_closure.py`` scores a pTmin below its floor) printed per
tune and cap, beside today's default (:func:`tuner.mc.emulator.component_cap`). Only the
recommendation is refitted: the evaluations are the stored tune's.

    python benchmarks/tune_components.py DIR/truth1-emulator DIR/truth2-emulator ... \\
        --caps 12,16,20,24,28,32

With ``--recommend`` each tune is instead recommended in full by today's code
(:func:`tuner.mc.recommend.recommend`: its cap, the jackknife, the quoted covariance), and the
largest error and largest absolute pull are printed (5-20 minutes per 10-parameter tune).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from tuner.mc.emulator import component_cap
from tuner.mc.generators.cutoffs import values_used
from tuner.mc.recommend import recommend
from tuner.mc.workflow import TuneRun

sys.path.insert(0, str(Path(__file__).parent))
from tune_closure import _errors_and_pulls, _truth_run  # the closure benchmark's scoring


def errors(folder: str, caps: list[int]) -> tuple[str, int, list[tuple[float, str]]]:
    """Per cap, the largest error of the refitted minimum of the tune in ``folder`` and the
    parameter it is in; with the tune's name and its default cap."""
    run = TuneRun.load(folder)
    opt, setup = run.opt, run.setup
    cfg = setup.config
    names = [p.name for p in cfg.parameters]
    vectors = setup.stored_vectors(opt.storage, opt.trials)
    done = [t for t in opt.complete if t.id in vectors]
    X = np.asarray(opt.space.to_unit([t.x for t in done]))
    starts = X[np.argsort([float(t.y or 0) for t in done], kind="stable")[:5]]
    truth_run = _truth_run(cfg)
    span = np.array([p.high - p.low for p in cfg.parameters])
    out = []
    for k in caps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            emu = setup.emulator(X, [vectors[t.id] for t in done], seed=cfg.seed, max_components=k)
            u = emu.minimum(starts, np.asarray(opt.space.model_bounds), seed=cfg.seed)
        fit_run = values_used(dict(zip(names, opt.space.from_unit([u])[0], strict=True)),
                              cfg.fixed, cfg.preset)
        err = np.array([abs(fit_run[n] - truth_run[n]) for n in names]) / span
        out.append((float(err.max()), names[int(err.argmax())].split(":")[-1]))
    return Path(folder).name, component_cap(len(names)), out


def full(folder: str) -> str:
    """The tune in ``folder`` recommended by today's code: largest error (as Pythia runs the
    values) and largest absolute pull, per parameter too."""
    run = TuneRun.load(folder)
    opt, setup = run.opt, run.setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = recommend(opt, setup, setup.stored_vectors(opt.storage, opt.trials))
    err, _, pull = _errors_and_pulls(setup.config, res, _truth_run(setup.config))
    worst = max(err, key=err.__getitem__)
    return (f"{Path(folder).name}: largest error {err[worst]:.3f} ({worst}), largest abs pull "
            f"{max(map(abs, pull.values())):.2f}\n" + "\n".join(
                f"  {n:28s} error {err[n]:.3f}  pull {pull[n]:+.2f}" for n in err))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="stored closure tunes (truthK-emulator folders)")
    ap.add_argument("--caps", default="12,16,20,24,28,32", help="comma-separated component caps")
    ap.add_argument("--recommend", action="store_true",
                    help="recommend each tune in full with today's code; print errors and pulls")
    a = ap.parse_args()
    if a.recommend:
        for f in a.folders:
            print(full(f), flush=True)
        return
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
