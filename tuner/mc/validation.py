"""The validation run: tune and default on the same, independent events (:class:`Validation`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tuner.mc.analyses import Fills
from tuner.mc.chi2 import histogram_weight
from tuner.mc.runs import generate_chunks
from tuner.mc.setup import TuneSetup

__all__ = ["CLOSURE_RULE", "CLOSURE_SDS", "MIN_JACKKNIFE_CHUNKS", "RESOLVED_SDS", "ScoredRun", "Validation",
           "chi2_spread", "validate"]

#: the fewest chunks for the jackknife of a validation chi2's spread (:func:`chi2_spread`)
MIN_JACKKNIFE_CHUNKS = 8
#: how many standard deviations of the difference a validation must show to tell tune and
#: default apart (:attr:`Validation.resolved`)
RESOLVED_SDS = 2.0
#: how many of its Monte Carlo standard deviations a closure tune's validation chi2 may lie above
#: what the truth itself scores before the closure is reported as missed
#: (:attr:`Validation.closure_missed`)
CLOSURE_SDS = 2.0
#: the rule written into summary.json
CLOSURE_RULE = ("in a closure, pseudo-data and validation are independent samples of one point; at the "
                "truth the chi2 (both errors in each denominator) is expected to be the bins' weighted "
                "count (less with a model-error floor); a tune whose validation chi2 lies more than "
                f"{CLOSURE_SDS:g} of its Monte Carlo standard deviations above that count describes the "
                "pseudo-data measurably worse than the truth does: it has missed the truth, whatever "
                "its pulls say")
#: offset of the validation seed from the study seed (independent of every evaluation's seed)
VALIDATION_SEED_OFFSET = 7_777_777


@dataclass
class ScoredRun:
    """One validation run: its chi2, bins, per-histogram chi2, raw fills, and the Monte Carlo
    standard deviation of the chi2 (``chi2_sd``: how far another seed of as many events would
    move it; ``chi2_sd_method`` says how it was estimated, :func:`chi2_spread`)."""

    chi2: float
    nbins: int
    per_hist: dict[str, float]
    fills: Fills = field(repr=False)
    chi2_sd: float = float("nan")
    chi2_sd_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"chi2": self.chi2, "chi2_sd": self.chi2_sd, "chi2_sd_method": self.chi2_sd_method,
                "nbins": self.nbins, "per_hist": self.per_hist}


@dataclass
class Validation:
    """Chi2 at the tune and at the default (fixed settings only), same events, independent seed."""

    events: int
    seed: int
    tune: ScoredRun
    default: ScoredRun
    #: in a closure, what the truth itself is expected to score: the weighted count of the bins
    #: (``None`` against measured data)
    expected_at_truth: float | None = None

    @property
    def closure_excess_sds(self) -> float | None:
        """In a closure, how many of its Monte Carlo standard deviations the tune's validation
        chi2 lies above :attr:`expected_at_truth` (``None`` otherwise or without a spread)."""
        sd = self.tune.chi2_sd
        if self.expected_at_truth is None or not sd > 0:
            return None
        return (self.tune.chi2 - self.expected_at_truth) / sd

    @property
    def closure_missed(self) -> bool:
        """Whether a closure tune validates more than :data:`CLOSURE_SDS` standard deviations
        above what the truth scores (:data:`CLOSURE_RULE`)."""
        z = self.closure_excess_sds
        return z is not None and z > CLOSURE_SDS

    @property
    def tune_better_than_default(self) -> bool:
        return self.tune.chi2 < self.default.chi2

    @property
    def difference_sd(self) -> float:
        """Monte Carlo standard deviation of ``tune.chi2 - default.chi2``: the two runs share a
        seed but not their events (any changed parameter changes every later random number), so
        their fluctuations add."""
        return math.hypot(self.tune.chi2_sd, self.default.chi2_sd)

    @property
    def resolved(self) -> bool:
        """Whether tune and default differ by at least twice :attr:`difference_sd` (a spread
        that is not known counts as resolved, as before the validation quoted one)."""
        return not abs(self.tune.chi2 - self.default.chi2) < RESOLVED_SDS * self.difference_sd

    def to_dict(self) -> dict[str, Any]:
        out = {"events": self.events, "seed": self.seed, "tune": self.tune.to_dict(),
               "default": self.default.to_dict(), "difference_sd": self.difference_sd,
               "resolved": self.resolved,
               "tune_better_than_default": self.tune_better_than_default}
        if self.expected_at_truth is not None:
            out["closure"] = {"expected_at_truth": self.expected_at_truth,
                              "excess_sds": self.closure_excess_sds, "missed": self.closure_missed,
                              "rule": CLOSURE_RULE}
        return out


def chi2_spread(setup: TuneSetup, chunks: list[Fills]) -> tuple[float, str]:
    """The Monte Carlo standard deviation of the chi2 of the merged ``chunks`` (each the fills of
    independently seeded events), and its method in words.

    With at least :data:`MIN_JACKKNIFE_CHUNKS` chunks, the leave-one-chunk-out jackknife
    ``sqrt((G - 1) / G * sum_g (chi2_(g) - mean)^2)``: it sees what the bins' own errors do not
    (an event fills many bins of a spectrum; the normalisation ties the bins together). Against
    the spread over seeds (BENCHMARKS.md section 3, session 38): the embedded default, 12 seeds
    of 20k events, jackknife 0.97 of it, the delta method of :class:`tuner.mc.chi2.Chi2` 0.71;
    ALEPH + PDG at 400k events (5 seeds at 3 points, 12 degrees of freedom), jackknife 0.79,
    delta method 0.61. With fewer chunks, that delta method, said to be a lower bound.
    """
    total = Fills.merge(chunks)
    g = len(chunks)
    if g < MIN_JACKKNIFE_CHUNKS:
        var = setup.score(total).variance
        return math.sqrt(max(var, 0.0)), (f"delta method from the bins' errors (a lower bound: "
                                          f"{g} chunk(s), fewer than {MIN_JACKKNIFE_CHUNKS} for "
                                          f"the jackknife)")
    loo = np.array([setup.score(total - c).total for c in chunks])
    sd = math.sqrt((g - 1) / g * float(np.sum((loo - loo.mean()) ** 2)))
    return sd, f"jackknife over {g} chunks of independently seeded events"


def validate(setup: TuneSetup, best: dict[str, float], workers: int = 1,
             progress: bool = False) -> Validation:
    """Generate ``validation_events`` (default 4x the events of an evaluation) at the tune and at
    the default with one independent seed, and score both (``progress``: a bar over the events)."""
    cfg = setup.config
    n = cfg.validation_events or 4 * cfg.events
    seed = cfg.seed + VALIDATION_SEED_OFFSET
    runs = {}
    expected = None
    bar = tqdm(total=2 * n, desc="validation", unit="ev", unit_scale=True, disable=not progress)
    for i, (label, point) in enumerate((("tune", best), ("default", {}))):
        chunks = generate_chunks(setup.spec(point), n, seed, n_workers=workers,
                                 progress=lambda done, i=i: bar.update(i * n + done - bar.n))
        fills = Fills.merge(chunks)
        c = setup.score(fills)
        sd, how = chi2_spread(setup, chunks)
        if label == "tune" and cfg.closure is not None:  # the bins the tune's chi2 counted
            expected = sum(histogram_weight(k, cfg.weights) * nb for k, (_, nb) in c.per_hist.items())
        runs[label] = ScoredRun(c.total, c.nbins, {k: v[0] for k, v in c.per_hist.items()}, fills,
                                chi2_sd=sd, chi2_sd_method=how)
    bar.close()
    return Validation(n, seed, runs["tune"], runs["default"], expected)
