"""A configuration checked against Pythia and the reference data, ready to run (:class:`TuneSetup`).

Everything that can be checked without generating an event is checked by :func:`prepare`:
settings, ranges, reference files, the histogram selection and the binning.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuner.errors import ConfigError, SettingsError, TunerError
from tuner.mc.analyses import ANALYSES, Fills, normalise
from tuner.mc.analyses.plugins import plugin_digest
from tuner.mc.chi2 import Chi2, check_weights, chi2, histogram_weight, select_histograms
from tuner.mc.config import TuneConfig, load_refs
from tuner.mc.emulator import HistogramEmulator
from tuner.mc.generators.pythia import check_init, generator_version, with_preset
from tuner.mc.refdata import RefHisto
from tuner.mc.runs import RunSpec, generate, needed_refs
from tuner.space import Real
from tuner.storage import Storage, Trial

__all__ = ["TuneSetup", "check_generator", "make_pseudodata", "prepare"]


@dataclass
class TuneSetup:
    """A configuration checked against Pythia and the reference files, ready to run.

    Attributes:
        config: The configuration.
        data: The histograms tuned to (the reference data, or closure pseudo-data once made).
        keys: The selected histograms, in order.
        refs: Reference histograms giving the binning of every histogram the analyses fill.
        space: The search space (one :class:`~tuner.space.Real` per parameter).
    """

    config: TuneConfig
    data: dict[str, RefHisto]
    keys: list[str]
    refs: dict[str, RefHisto]
    space: list[Real]

    def spec(self, point: dict[str, float] | None = None, fault: str | None = None) -> RunSpec:
        return RunSpec({**self.config.fixed, **(point or {})}, tuple(self.config.analyses),
                       self.refs, self.config.preset, self.config.sqrt_s, fault=fault,
                       plugins=tuple(self.config.plugins))

    def score(self, fills: Fills | dict[str, RefHisto]) -> Chi2:
        """The chi2 of raw fills, or of histograms :func:`normalise` has already made of them."""
        sim = normalise(fills, self.refs) if isinstance(fills, Fills) else fills
        return chi2(sim, self.data, self.keys, self.config.weights, self.config.model_error)

    def vector(self, sim: dict[str, RefHisto]) -> tuple[np.ndarray, np.ndarray]:
        """Values and errors of the selected normalised histograms, concatenated (the emulator's
        input)."""
        return (np.concatenate([sim[k].values for k in self.keys]),
                np.concatenate([sim[k].errors for k in self.keys]))

    def stored_vectors(self, storage: Storage,
                       trials: list[Trial]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """:meth:`vector` of every completed trial whose fills are in ``storage`` (trial id ->)."""
        out = {}
        for t in trials:
            blob = storage.artifact(t.id) if t.state == "complete" else None
            if blob is not None:
                out[t.id] = self.vector(normalise(Fills.from_bytes(blob), self.refs))
        return out

    def emulator(self, X: np.ndarray, vectors: list[tuple[np.ndarray, np.ndarray]],
                 seed: int = 0, trend: bool = True,
                 max_components: int | None = None) -> HistogramEmulator:
        """Fit the histogram emulator to evaluations at unit-cube points ``X`` with histograms
        ``vectors`` (values and errors from :meth:`vector`, one pair per row of ``X``); ``trend``
        and ``max_components`` as :meth:`HistogramEmulator.fit`."""
        data, errors, weights = self.data_vector()
        return HistogramEmulator.fit(X, np.stack([v[0] for v in vectors]),
                                     np.stack([v[1] for v in vectors]), data, errors, weights,
                                     self.config.model_error, max_components=max_components,
                                     seed=seed, trend=trend)

    def data_vector(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The selected data histograms concatenated as in :meth:`vector`: values, errors, and
        each bin's histogram weight."""
        return (np.concatenate([self.data[k].values for k in self.keys]),
                np.concatenate([self.data[k].errors for k in self.keys]),
                np.concatenate([np.full(self.data[k].nbins, histogram_weight(k, self.config.weights))
                                for k in self.keys]))

    def fingerprint(self) -> dict[str, str]:
        """What defines the evaluations of a study, one digest per item, so that a resume with a
        different definition can be refused naming the item that changed. The budget, the batch
        and the proposer may change between runs of a study; nothing here may."""
        cfg = self.config
        items: dict[str, Any] = {
            "parameters": [[p.name, p.low, p.high, p.log] for p in cfg.parameters],
            "fixed settings": cfg.fixed, "process preset": [cfg.preset, cfg.sqrt_s],
            "analyses": sorted(cfg.analyses), "histograms": self.keys,
            "weights": cfg.weights, "model_error": cfg.model_error,
            "events": [cfg.events, cfg.scouting], "seed": cfg.seed,
            "closure": cfg.closure,
            "reference data": [[k, self.refs[k].xlow.tolist(), self.refs[k].xhigh.tolist(),
                                self.refs[k].values.tolist(), self.refs[k].errors.tolist()]
                               for k in sorted(self.refs)],
            "generator": generator_version(),
            "plug-ins": plugin_digest(cfg.plugins),
        }
        return {k: hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()[:16]
                for k, v in items.items()}


def prepare(cfg: TuneConfig) -> TuneSetup:
    """Validate everything that can be checked without events and without starting Pythia
    (:func:`check_generator` starts it once).

    Raises:
        ConfigError: a selection that matches no filled histogram, a binning that cannot be filled,
            or a reference file that lacks every histogram of an analysis.
    """
    all_refs = load_refs(cfg)
    refs = needed_refs(all_refs, cfg.analyses)
    for a in cfg.analyses:
        if not any(k.startswith(a + "/") for k in refs):
            raise ConfigError(f"no reference histogram of analysis {a} in the reference files "
                              f"{cfg.refdata or ['(embedded binning)']}")
    try:
        for a in cfg.analyses:
            ANALYSES[a](refs)  # books every histogram: refuses bins it cannot fill
    except TunerError as exc:
        raise ConfigError(f"binning mismatch: {exc}") from None
    keys = select_histograms(refs, cfg.histograms, cfg.exclude)
    if not keys:
        chosen = (cfg.histograms if cfg.histograms is not None
                  else f"all {len(refs)} histograms of {cfg.analyses}")
        raise ConfigError(f"exclude must leave at least one histogram to fit: {chosen} minus the "
                          f"exclusions {cfg.exclude} is empty")
    check_weights(keys, cfg.weights)
    space = [Real(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name)
             for p in cfg.parameters]
    return TuneSetup(cfg, dict(refs), keys, refs, space)


def check_generator(cfg: TuneConfig) -> None:
    """Initialise Pythia once, at the middle of the ranges, as an evaluation would: settings that
    each pass alone but give no process to run, or beams Pythia cannot collide, are refused before
    a tune starts (``run``, ``run --dry-run``) rather than as every evaluation failing. Not part of
    :func:`prepare`, which also opens stored tunes to report or rescore them without events.

    Raises:
        ConfigError: with Pythia's own reason.
    """
    mid = {p.name: float(np.sqrt(p.low * p.high)) if p.log else 0.5 * (p.low + p.high)
           for p in cfg.parameters}
    try:
        check_init(with_preset(cfg.preset, {**cfg.fixed, **mid}))
    except SettingsError as exc:
        raise ConfigError(f"the generator cannot start (checked at the middle of the parameter "
                          f"ranges, {mid}): {exc}") from None


def make_pseudodata(setup: TuneSetup, workers: int = 1) -> dict[str, RefHisto]:
    """Closure pseudo-data at the truth point: values and statistical errors of the sample."""
    cl = setup.config.closure
    if cl is None:
        raise ConfigError("make_pseudodata needs a configuration with a closure section, got none")
    fills = generate(setup.spec(cl["truth"]), int(cl["events"]), setup.config.seed + 999_983,
                     n_workers=workers)
    sim = normalise(fills, setup.refs)
    return {k: RefHisto(f"/REF/{k}", h.xlow, h.xhigh, h.values, h.errors, "closure pseudo-data")
            for k, h in sim.items()}
