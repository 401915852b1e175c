"""How large is the Monte Carlo noise of one evaluation along the emulator's components?

The histogram emulator is told each score's MC variance propagated from the bin errors as if the
bins were independent. A stored tune's recommended point is generated again ``--replicas`` times
(same events per evaluation, other seeds); the scores of the replicas on the principal components
of the tune's own evaluations are compared with that propagated variance, along the components and
along random directions, beside the noise the emulator's fit learns on top of it
(``HistogramEmulator.noise_inflation``).

    python benchmarks/tune_noise.py STUDY_DIR [--replicas 12] [--workers 2]
    # STUDY_DIR: a tune's output folder (config.json, study.db), e.g. one of tune_closure.py
"""

from __future__ import annotations

import argparse
import json
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tuner.mc.analyses import normalise
from tuner.mc.runs import generate
from tuner.mc.setup import TuneSetup
from tuner.mc.workflow import TuneRun

SEED0 = 9000


def _replica(args: tuple[TuneSetup, dict[str, float], int, int]) -> tuple[np.ndarray, np.ndarray]:
    setup, point, events, seed = args
    return setup.vector(normalise(generate(setup.spec(point), events, seed), setup.refs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("--replicas", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    run = TuneRun.load(a.study)
    state, setup, opt = run.state(), run.setup, run.opt
    cfg = setup.config
    point = json.loads((Path(a.study) / "summary.json").read_text())["tune"]
    done = [t for t in opt.complete if t.id in state.vectors]
    data = setup.data_vector()[0]
    emu = setup.emulator(np.asarray(opt.space.to_unit([t.x for t in done])),
                         [state.vectors[t.id] for t in done], seed=cfg.seed)
    k, scale, Vt = emu.n_components, emu.scale, emu.components
    jobs = [(setup, point, cfg.events, SEED0 + i) for i in range(a.replicas)]
    with ProcessPoolExecutor(a.workers) as pool:
        reps = list(pool.map(_replica, jobs))
    Zr = (np.stack([r[0] for r in reps]) - data) * scale
    Zvar = np.mean((np.stack([r[1] for r in reps]) * scale) ** 2, axis=0)
    observed = (Zr @ Vt.T).var(axis=0, ddof=1)
    propagated = Zvar @ (Vt.T**2)
    rng = np.random.default_rng(0)
    D = rng.normal(size=(200, len(data)))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    random_ratio = np.median((Zr @ D.T).var(axis=0, ddof=1) / (Zvar @ (D.T**2)))
    print(f"{a.study}: {a.replicas} replicas of {cfg.events} events at the tune, {len(done)} "
          f"evaluations, {k} components")
    print("| component | observed / propagated variance | emulator's learned inflation |")
    print("|---|---|---|")
    for i in range(k):
        print(f"| {i + 1} | {observed[i] / propagated[i]:.1f} | {emu.noise_inflation[i]:.1f} |")
    print(f"| 200 random directions (median) | {random_ratio:.2f} | |")
    print(f"(a ratio from {a.replicas} replicas is uncertain by about "
          f"{np.sqrt(2 / (a.replicas - 1)):.0%})")


if __name__ == "__main__":
    main()
