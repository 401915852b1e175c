"""The validation run: tune and default on the same, independent events (:class:`Validation`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from tuner.mc.analyses import Fills
from tuner.mc.runs import generate
from tuner.mc.setup import TuneSetup

__all__ = ["ScoredRun", "Validation", "validate"]

#: offset of the validation seed from the study seed (independent of every evaluation's seed)
VALIDATION_SEED_OFFSET = 7_777_777


@dataclass
class ScoredRun:
    """One validation run: its chi2, bins, per-histogram chi2 and raw fills."""

    chi2: float
    nbins: int
    per_hist: dict[str, float]
    fills: Fills = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"chi2": self.chi2, "nbins": self.nbins, "per_hist": self.per_hist}


@dataclass
class Validation:
    """Chi2 at the tune and at the default (fixed settings only), same events, independent seed."""

    events: int
    seed: int
    tune: ScoredRun
    default: ScoredRun

    @property
    def tune_better_than_default(self) -> bool:
        return self.tune.chi2 < self.default.chi2

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "seed": self.seed, "tune": self.tune.to_dict(),
                "default": self.default.to_dict(),
                "tune_better_than_default": self.tune_better_than_default}


def validate(setup: TuneSetup, best: dict[str, float], workers: int = 1,
             progress: bool = False) -> Validation:
    """Generate ``validation_events`` (default 4x the events of an evaluation) at the tune and at
    the default with one independent seed, and score both (``progress``: a bar over the events)."""
    cfg = setup.config
    n = cfg.validation_events or 4 * cfg.events
    seed = cfg.seed + VALIDATION_SEED_OFFSET
    runs = {}
    bar = tqdm(total=2 * n, desc="validation", unit="ev", unit_scale=True, disable=not progress)
    for i, (label, point) in enumerate((("tune", best), ("default", {}))):
        fills = generate(setup.spec(point), n, seed, n_workers=workers,
                         progress=lambda done, i=i: bar.update(i * n + done - bar.n))
        c = setup.score(fills)
        runs[label] = ScoredRun(c.total, c.nbins, {k: v[0] for k, v in c.per_hist.items()}, fills)
    bar.close()
    return Validation(n, seed, runs["tune"], runs["default"])
