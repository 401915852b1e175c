"""Is the histogram emulator's posterior as wide as its errors are? Measured at closure truths.

    python benchmarks/emulator_calibration.py --mc-events 200000 DIR/seed1*     # 2-parameter tunes
    python benchmarks/emulator_calibration.py --pseudodata DIR/truth*-emulator  # 6-parameter tunes

For each stored closure tune (a ``tune-generator`` output folder with ``closure_truth`` in its
summary): refit the emulator to the tune's own evaluations, as the recommendation does, and
compare its posterior of every principal-component score at the truth with Monte Carlo there:
either ``--mc-events`` generated at the truth (one run per distinct truth, cached in ``--cache``)
or, with ``--pseudodata``, the tune's own pseudo-data (made at the truth, typically 10-25 times
the events of an evaluation). The standardised deviation of score ``j``,

    z_j = (c_j(MC) - m_j) / sqrt(s_j^2 + n_j^2),

takes the posterior mean ``m_j`` and variance ``s_j^2`` and the Monte Carlo variance ``n_j^2`` of the
run at the truth projected onto the component (propagated from its bin errors and multiplied by the
emulator's learned noise inflation for that component, the bins' shared fluctuations). A calibrated
posterior gives ``z`` of unit variance. Printed: per tune the RMS of its ``z``; pooled, the factor
``f`` on the posterior variance that makes the mean of ``(c - m)^2 / (f s^2 + n^2)`` one, with a
16-84% interval from resampling the tunes. ``tuner.mc.emulator.POSTERIOR_CALIBRATION`` is this
factor. Where the truth's ``TimeShower:pTmin`` lies below the floor Pythia raises it to, the Monte
Carlo at the truth is the run at the floor, and the emulator is read there (marked in the table).
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import brentq

from tuner.mc.analyses import normalise
from tuner.mc.generators.cutoffs import values_used
from tuner.mc.runs import generate
from tuner.mc.workflow import TuneRun


def _mc_at_truth(run: TuneRun, names: list[str], truth: list[float], events: int,
                 cache: Path) -> tuple[np.ndarray, np.ndarray]:
    key = cache / ("mc-" + "-".join(f"{v:.6g}" for v in truth) + f"-{events}.pkl")
    if not key.exists():
        setup = run.setup
        fills = generate(setup.spec(dict(zip(names, truth, strict=True))), events, seed=4242)
        key.write_bytes(pickle.dumps(setup.vector(normalise(fills, setup.refs))))
    v, e = pickle.loads(key.read_bytes())
    return v, e


def scores_at_truth(folder: Path, mc_events: int | None, cache: Path) -> dict:
    """The emulator's posterior of the component scores at the tune's truth against Monte Carlo
    there: squared deviations, posterior variances, Monte Carlo variances (per component)."""
    run = TuneRun.load(folder)
    setup, opt = run.setup, run.opt
    summary = json.loads((folder / "summary.json").read_text())
    names = summary["parameters"]
    truth = [float(summary["closure_truth"][k]) for k in names]
    vectors = setup.stored_vectors(opt.storage, opt.complete)
    done = [t for t in opt.complete if t.id in vectors]
    X = np.asarray(opt.space.to_unit([t.x for t in done]))
    emu = setup.emulator(X, [vectors[t.id] for t in done], seed=setup.config.seed)
    data, data_err, _ = setup.data_vector()
    if mc_events is None:  # the pseudo-data are the Monte Carlo at the truth
        v, e = data, data_err
    else:
        v, e = _mc_at_truth(run, names, truth, mc_events, cache)
    z_mc = (v - data) * emu.scale
    c = (z_mc - emu.centre) @ emu.components.T
    n2 = ((e * emu.scale) ** 2 @ (emu.components.T ** 2)) * emu.noise_inflation
    # where Pythia raises pTmin to its floor the Monte Carlo at the truth is the run at the floor:
    # the emulator is read there, where Pythia ran (it cannot know that every lower pTmin is the same)
    used = values_used(dict(zip(names, truth, strict=True)), setup.config.fixed, setup.config.preset)
    raised = [used[k] for k in names] != truth
    u = torch.as_tensor(np.asarray(opt.space.to_unit([[used[k] for k in names]])))
    with torch.no_grad():
        post = emu.model.posterior(u)
        m, s2 = post.mean.numpy()[0], post.variance.numpy()[0]
    run.opt.storage.close()
    return {"name": folder.name, "dev2": (c - m) ** 2, "s2": s2, "n2": n2, "raised": raised}


def factor(rows: list[dict]) -> float:
    """The factor on the posterior variance that makes the pooled mean squared deviation one."""
    d2 = np.concatenate([r["dev2"] for r in rows])
    s2 = np.concatenate([r["s2"] for r in rows])
    n2 = np.concatenate([r["n2"] for r in rows])
    return float(brentq(lambda f: np.mean(d2 / (f * s2 + n2)) - 1.0, 1e-3, 1e3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--mc-events", type=int, help="events generated at each truth")
    src.add_argument("--pseudodata", action="store_true", help="the tune's pseudo-data as the MC")
    ap.add_argument("--cache", type=Path, default=Path("bench-out/emulator-calibration"))
    ap.add_argument("--resamples", type=int, default=400)
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    print("| tune | components | RMS z | largest abs z |")
    print("|---|---|---|---|")
    for folder in args.folders:
        r = scores_at_truth(folder, args.mc_events, args.cache)
        z = np.sqrt(r["dev2"] / (r["s2"] + r["n2"]))
        mark = " (truth's pTmin below the floor: read at the floor)" if r["raised"] else ""
        print(f"| {r['name']}{mark} | {z.size} | {np.sqrt(np.mean(z**2)):.2f} | {np.max(z):.1f} |",
              flush=True)
        rows.append(r)
    z = np.concatenate([np.sqrt(r["dev2"] / (r["s2"] + r["n2"])) for r in rows])
    rng = np.random.default_rng(0)
    boot = [factor([rows[i] for i in rng.integers(0, len(rows), len(rows))]) for _ in range(args.resamples)]
    lo, hi = np.percentile(boot, [16, 84])
    print(f"\npooled over {len(rows)} tunes ({z.size} scores): RMS z {np.sqrt(np.mean(z**2)):.2f}, "
          f"|z| > 2: {np.mean(z > 2):.3f} (normal 0.046), > 3: {np.mean(z > 3):.3f} (0.003); factor on "
          f"the posterior variance {factor(rows):.2f} [{lo:.2f}, {hi:.2f}] (16-84% over the tunes)")


if __name__ == "__main__":
    main()
