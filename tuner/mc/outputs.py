"""What a tune writes: ``tune.cmnd``, ``summary.json`` and the YODA files of the validation runs.

(The plots are drawn by :mod:`tuner.mc.plots`.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tuner.mc.analyses import normalise
from tuner.mc.generators.pythia import format_setting
from tuner.mc.recommend import UNCONSTRAINED_RULE, TuneResult
from tuner.mc.refdata import RefHisto, write_yoda
from tuner.mc.setup import TuneSetup
from tuner.mc.uncertainty import EIGENTUNE_RULE, eigentunes
from tuner.mc.validation import Validation

__all__ = ["EIGENTUNE_DELTA_CHI2", "summary", "write_cmnd", "write_eigentunes", "write_outputs",
           "write_validation_yoda"]

#: the delta-chi2 of the eigentunes (1: the quoted one-sigma variations, as Professor's default)
EIGENTUNE_DELTA_CHI2 = 1.0


def _settings(setup: TuneSetup, point: dict[str, float]) -> list[str]:
    """Pythia settings lines: the fixed settings, then the tuned parameters at ``point``."""
    return ([format_setting(k, v) for k, v in setup.config.fixed.items()]
            + [format_setting(k, float(f"{v:.6g}")) for k, v in point.items()])


def write_cmnd(path: Path, setup: TuneSetup, result: TuneResult) -> None:
    """The tune as Pythia settings (fixed settings first), with a comment line."""
    cfg = setup.config
    chi2 = result.validation.tune.chi2 if isinstance(result.validation, Validation) else float("nan")
    lines = [f"! Tune by tuner: {result.n_evaluations} evaluations of {cfg.events} events, "
             f"chi2 {chi2:.1f} ({len(setup.keys)} histograms)"]
    lines += _settings(setup, result.best)
    path.write_text("\n".join(lines) + "\n")


def write_validation_yoda(out: Path, setup: TuneSetup,
                          validation: Validation) -> dict[str, dict[str, RefHisto]]:
    """``tune.yoda`` and ``default.yoda``; returns the normalised histograms by label."""
    sims = {}
    for label, run in (("tune", validation.tune), ("default", validation.default)):
        sims[label] = normalise(run.fills, setup.refs)
        write_yoda([RefHisto(f"/{k}", h.xlow, h.xhigh, h.values, h.errors)
                    for k, h in sims[label].items()], out / f"{label}.yoda")
    return sims


def summary(setup: TuneSetup, result: TuneResult) -> dict[str, Any]:
    """The content of ``summary.json``."""
    cfg = setup.config
    v = result.validation
    return {
        "tune": result.best, "uncertainties": result.uncertainties,
        "parameters": list(result.best), "covariance": result.covariance,
        "correlation": result.correlation,
        "uncertainty_method": result.uncertainty_method,
        "uncertainty_curvature_only": result.uncertainty_curvature,
        "unconstrained": result.unconstrained, "unconstrained_rule": UNCONSTRAINED_RULE,
        "profiles": result.profiles,
        "raised_to_floor": result.raised,  # floors capped at the range's high end: finite
        "surrogate": result.surrogate,
        "chi2_surrogate_at_tune": result.chi2_surrogate,
        "chi2_best_evaluation": result.chi2_best_evaluated,
        "parameters_at_range_edge": result.at_edge,
        "validation": v.to_dict() if isinstance(v, Validation) else None,
        "n_evaluations": result.n_evaluations, "n_failed": result.n_failed,
        "events_generated": result.events_generated, "histograms": setup.keys,
        "closure_truth": (cfg.closure or {}).get("truth"),
    }


def write_eigentunes(folder: Path, setup: TuneSetup, result: TuneResult,
                     delta_chi2: float = EIGENTUNE_DELTA_CHI2) -> list[dict[str, Any]]:
    """``eigentunes/eigen<k><+|->.cmnd`` (fixed settings, then the varied parameters) for every
    eigenvector of the quoted covariance; returns their description for summary.json."""
    cfg = setup.config
    names = list(result.best)
    lo = np.array([p.low for p in cfg.parameters])
    hi = np.array([p.high for p in cfg.parameters])
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for e in eigentunes(np.array([result.best[n] for n in names]), np.array(result.covariance), lo, hi,
                        delta_chi2):
        name = f"eigen{e.index}{'plus' if e.sign == '+' else 'minus'}"
        lines = [f"! Eigentune {e.index}{e.sign} of the tune (delta-chi2 = {delta_chi2:g}"
                 f"{', clipped to the ranges' if e.clipped else ''})"]
        lines += _settings(setup, dict(zip(names, e.point.tolist(), strict=True)))
        (folder / f"{name}.cmnd").write_text("\n".join(lines) + "\n")
        rows.append({"file": f"eigentunes/{name}.cmnd", "eigenvector": e.index, "sign": e.sign,
                     "eigenvalue_scaled": e.eigenvalue, "clipped": e.clipped,
                     "point": dict(zip(names, e.point.tolist(), strict=True))})
    return rows


def write_outputs(out: Path, setup: TuneSetup, result: TuneResult) -> dict[str, dict[str, RefHisto]]:
    """``tune.cmnd``, ``eigentunes/``, ``summary.json`` and the validation YODA files; returns
    the validation histograms (for the plots)."""
    write_cmnd(out / "tune.cmnd", setup, result)
    sims = (write_validation_yoda(out, setup, result.validation)
            if isinstance(result.validation, Validation) else {})
    doc = summary(setup, result)
    doc["eigentunes"] = write_eigentunes(out / "eigentunes", setup, result)
    doc["eigentune_rule"] = EIGENTUNE_RULE.replace("delta_chi2", f"delta_chi2 = {EIGENTUNE_DELTA_CHI2:g}", 1)
    (out / "summary.json").write_text(json.dumps(doc, indent=1, default=float))
    return sims
