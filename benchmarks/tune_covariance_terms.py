"""Which terms of a tune's covariance cover the truth? Offline, on stored closure tunes.

For every stored tune (a folder of ``tune_coverage.py`` or ``tune_closure.py``) the emulator the
tune is recommended from is refitted to all its evaluations and the terms of
:func:`tuner.mc.recommend.recommend` are computed separately (unit cube): the data term (``2 H^-1``
of the chi2 against the data errors alone, and, as before session 17, of the emulated chi2 whose
denominators also hold one evaluation's Monte Carlo error), the spread of the minimum over the
emulator's posterior (as quoted: its variance widened by ``POSTERIOR_CALIBRATION``; 1.7 times, as
session 50 quoted it; and as the GPs were fitted, the quote of session 49), the jackknife over the
evaluations, and the shift to Professor's polynomials. Then every combination is scored: for the
2-parameter tunes the fraction of 1-sigma intervals containing the truth and the RMS pull, for
the others the largest pull per tune and the truth's distance from the tune in the covariance's
metric (``d2``: a chi2 with as many degrees of freedom as parameters, were the covariance right).

    python benchmarks/tune_covariance_terms.py --coverage COV_DIR/seed1* \\
        --closure CLOSURE_DIR/truth0-emulator CLOSURE_DIR/truth1-emulator ...
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np

from tuner.mc.recommend import covariance_terms, emulator_starts
from tuner.mc.uncertainty import curvature_inverse, envelope, hessian
from tuner.mc.workflow import TuneRun

Terms = dict[str, np.ndarray]


def terms(folder: str) -> Terms:
    """The covariance terms of the stored tune in ``folder`` (unit cube), its minimum and truth,
    from :func:`tuner.mc.recommend.covariance_terms` started where :func:`recommend` starts (the
    optimiser's recommendation and the five best evaluations), so that they sum to what the tune
    quotes."""
    run = TuneRun.load(folder)
    opt, setup, state = run.opt, run.setup, run.state()
    cfg = setup.config
    rec = opt.recommend(search=True)
    assert rec is not None
    ct = covariance_terms(opt, setup, state.vectors, emulator_starts(opt, rec[0]))
    assert ct.jackknife is not None
    u = ct.u
    with_mc, _ = curvature_inverse(hessian(ct.emulator.chi2, u, 0.01))
    shift = np.zeros_like(u) if ct.shift is None else ct.shift
    _, fitted = ct.emulator.minimum_covariance(u, seed=cfg.seed, calibration=1.0)
    _, widened = ct.emulator.minimum_covariance(u, seed=cfg.seed, calibration=1.7)
    names = [p.name for p in cfg.parameters]
    truth = np.asarray(opt.space.to_unit([[cfg.closure["truth"][k] for k in names]]))[0]  # type: ignore[index]
    return {"u": u, "truth": truth, "with_mc": with_mc, "data": ct.data, "posterior": ct.posterior,
            "fitted": fitted, "session50": widened, "jackknife": ct.jackknife.classic,
            "robust": ct.jackknife.covariance,
            "shift": np.outer(shift, shift)}


COMBINATIONS: dict[str, Callable[[Terms], np.ndarray]] = {
    "data term with the MC error + jackknife + polynomial shift (before)":
        lambda t: t["with_mc"] + t["jackknife"] + t["shift"],
    "data-only term + jackknife + polynomial shift (sessions 17-27)":
        lambda t: t["data"] + t["jackknife"] + t["shift"],
    "data-only term + posterior spread as quoted, without the polynomial shift":
        lambda t: t["data"] + t["posterior"],
    "data-only term + robust (MAD) jackknife + polynomial shift (sessions 28-48)":
        lambda t: t["data"] + t["robust"] + t["shift"],
    "data-only term + robust jackknife + posterior spread (their sum) + polynomial shift":
        lambda t: t["data"] + t["robust"] + t["posterior"] + t["shift"],
    "data-only term + envelope of robust jackknife and the fitted posterior's spread + polynomial "
    "shift (session 49)":
        lambda t: t["data"] + envelope(t["robust"], t["fitted"]) + t["shift"],
    "data-only term + envelope of robust jackknife and the posterior's spread widened 1.7 times + "
    "polynomial shift (session 50)":
        lambda t: t["data"] + envelope(t["robust"], t["session50"]) + t["shift"],
    "data-only term + envelope of robust jackknife and the posterior's spread as quoted + "
    "polynomial shift (recommend's jackknife=True)":
        lambda t: t["data"] + envelope(t["robust"], t["posterior"]) + t["shift"],
    "data-only term + posterior spread as quoted + polynomial shift (session 51: as quoted)":
        lambda t: t["data"] + t["posterior"] + t["shift"],
}


def _d2(t: Terms, cov: np.ndarray) -> float:
    """The truth's squared distance from the tune in the metric of ``cov`` (chi2 with as many
    degrees of freedom as parameters, were the covariance right)."""
    r = t["u"] - t["truth"]
    return float(r @ np.linalg.pinv(cov) @ r)


def _pulls(t: Terms, cov: np.ndarray) -> np.ndarray:
    sig = np.minimum(np.sqrt(np.clip(np.diag(cov), 1e-300, None)), 1 / np.sqrt(12))  # the range cap
    return (t["u"] - t["truth"]) / sig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--coverage", nargs="*", default=[], help="2-parameter tunes (coverage)")
    ap.add_argument("--closure", nargs="*", default=[], help="other closure tunes (largest pull)")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    cov = [terms(f) for f in a.coverage]
    clo = {f: terms(f) for f in a.closure}
    for f, t in clo.items():
        print(f"{f}: max error {np.max(np.abs(t['u'] - t['truth'])):.3f}; sigma per term in the "
              "parameter of the largest error: " + ", ".join(
                  f"{k} {np.sqrt(max(t[k][i, i], 0)):.3f}"
                  for i in [int(np.argmax(np.abs(t['u'] - t['truth'])))]
                  for k in ("with_mc", "data", "posterior", "jackknife", "robust", "shift")))
    print(f"\n| quoted covariance | {len(cov)} coverage tunes: inside 1 sigma | RMS pull per parameter "
          f"| largest pull | closure tunes: largest pull each ({len(clo)}) | closure: inside 1 sigma, "
          "RMS pull | closure: d2 each (truth's distance in the covariance's metric) | coverage tunes: "
          "inside the joint 68% / 95% ellipse, mean d2 (2 expected for 2 parameters) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, combine in COMBINATIONS.items():
        P = np.array([_pulls(t, combine(t)) for t in cov]) if cov else np.zeros((0, 1))
        inside = f"{np.sum(np.abs(P) <= 1)} of {P.size} ({np.mean(np.abs(P) <= 1):.0%})" if cov else ""
        rms = " / ".join(f"{v:.2f}" for v in np.sqrt(np.mean(P**2, axis=0))) if cov else ""
        worst = f"{np.max(np.abs(P)):.2f}" if cov else ""
        each = ", ".join(f"{np.max(np.abs(_pulls(t, combine(t)))):.1f}" for t in clo.values())
        Q = np.concatenate([_pulls(t, combine(t)) for t in clo.values()]) if clo else np.zeros(0)
        pooled = (f"{np.sum(np.abs(Q) <= 1)} of {Q.size} ({np.mean(np.abs(Q) <= 1):.0%}), "
                  f"{np.sqrt(np.mean(Q**2)):.2f}") if clo else ""
        d2 = ", ".join(f"{_d2(t, combine(t)):.1f}" for t in clo.values())
        D = np.array([_d2(t, combine(t)) for t in cov])
        joint = (f"{np.sum(D <= 2.279)} / {np.sum(D <= 5.991)} of {D.size}, {np.mean(D):.2f}"  # 2 dof
                 if cov else "")
        print(f"| {name} | {inside} | {rms} | {worst} | {each} | {pooled} | {d2} | {joint} |")


if __name__ == "__main__":
    main()
