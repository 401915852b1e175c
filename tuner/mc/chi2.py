"""The chi2 between simulated and measured histograms, with its breakdown and Monte Carlo variance.

    chi2 = sum_h w_h sum_b (mc - data)^2 / (sigma_data^2 + sigma_mc^2 + (f mc)^2)

``f`` is an optional relative model-error floor. The chi2's own Monte Carlo variance (what the
optimiser takes as observation noise) is estimated by propagating the bin-wise statistical errors
of the simulation (delta method, to second order):
``Var = sum_h w_h^2 sum_b [4 (mc - data)^2 sigma_mc^2 + 2 sigma_mc^4] / den^2``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from tuner.errors import ConfigError
from tuner.mc.refdata import RefHisto

__all__ = ["Chi2", "check_weights", "chi2", "histogram_weight", "select_histograms"]


@dataclass
class Chi2:
    """A chi2 and its breakdown.

    Attributes:
        total: Weighted sum over histograms.
        nbins: Number of bins that entered (with non-zero weight).
        variance: Estimated Monte Carlo variance of ``total``.
        per_hist: histogram key -> (weighted chi2, number of bins).
        per_bin: histogram key -> unweighted chi2 contribution of each bin.
    """

    total: float
    nbins: int
    variance: float
    per_hist: dict[str, tuple[float, int]] = field(default_factory=dict)
    per_bin: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def per_ndf(self) -> float:
        return self.total / max(self.nbins, 1)


def select_histograms(available: Iterable[str], patterns: Iterable[str] | None = None,
                      exclude: Iterable[str] | None = None) -> list[str]:
    """Histogram keys matching any of ``patterns`` (names or globs) and none of ``exclude``.

    A pattern may name the full key (``ALEPH_1996_S3486095/d01-x01-y01``) or only the histogram
    (``d01-x01-y01``) or use globs (``ALEPH_1996_S3486095/d0*``).

    Raises:
        ConfigError: a pattern or an exclusion that matches no available histogram.
    """
    avail = sorted(available)
    chosen: list[str] = []
    for pat in (["*"] if patterns is None else list(patterns)):
        hits = [k for k in avail if fnmatch.fnmatchcase(k, pat) or fnmatch.fnmatchcase(
            k.split("/", 1)[-1], pat)]
        if not hits:
            raise ConfigError(f"histogram selection {pat!r} matches none of the histograms the "
                              f"analyses fill ({len(avail)} available, e.g. {avail[:3]})")
        chosen += [k for k in hits if k not in chosen]
    for pat in exclude or []:
        if not any(fnmatch.fnmatchcase(k, pat) or fnmatch.fnmatchcase(k.split("/", 1)[-1], pat)
                   for k in avail):  # a mistyped exclusion would keep what it meant to drop
            raise ConfigError(f"histogram exclusion {pat!r} matches none of the histograms the "
                              f"analyses fill ({len(avail)} available, e.g. {avail[:3]})")
        chosen = [k for k in chosen if not (fnmatch.fnmatchcase(k, pat) or fnmatch.fnmatchcase(
            k.split("/", 1)[-1], pat))]
    return chosen


def histogram_weight(key: str, weights: Mapping[str, float] | None) -> float:
    """The weight of histogram ``key``: the last of ``weights`` whose key or glob matches it, else 1."""
    w = 1.0
    for pat, val in (weights or {}).items():
        if key == pat or fnmatch.fnmatchcase(key, pat) or fnmatch.fnmatchcase(key.split("/", 1)[-1], pat):
            w = float(val)
    return w


def check_weights(keys: list[str], weights: Mapping[str, float],
                  patterns: Iterable[str] | None = None) -> None:
    """Refuse weights that name no selected histogram or leave every selected one at 0.

    Args:
        keys: The selected histograms.
        weights: Pattern -> weight, as :func:`histogram_weight` reads them.
        patterns: The patterns that must match a selected histogram (default: every one of
            ``weights``; a rescore checks only the weights given on its command line).

    Raises:
        ConfigError: a pattern that matches none of ``keys`` (a mistyped weight would be ignored
            in silence), or every histogram of ``keys`` weighted 0 (the chi2 would be 0).
    """
    for pat in weights if patterns is None else patterns:
        if not any(histogram_weight(k, {pat: 0.0}) == 0.0 for k in keys):
            raise ConfigError(f"weights: {pat!r} matches none of the {len(keys)} selected histograms "
                              f"(e.g. {keys[:3]})")
    if all(histogram_weight(k, weights) == 0 for k in keys):
        raise ConfigError(f"weights: every selected histogram has weight 0 ({dict(weights)}); a tune "
                          "needs at least one weight > 0")


def chi2(sim: Mapping[str, RefHisto], data: Mapping[str, RefHisto], keys: Iterable[str],
         weights: Mapping[str, float] | None = None, model_error: float = 0.0) -> Chi2:
    """Compare simulated histograms with data.

    Args:
        sim: Simulated histograms (same keys and binning as ``data``).
        data: Reference histograms.
        keys: Histograms to include.
        weights: Histogram key (or glob) -> weight; default 1.
        model_error: Relative model-error floor ``f``.

    Raises:
        ConfigError: a key missing from ``sim`` or ``data``, or a binning mismatch.
    """
    out = Chi2(0.0, 0, 0.0)
    for key in keys:
        if key not in data or key not in sim:
            raise ConfigError(f"histogram {key} is missing from the "
                              f"{'data' if key not in data else 'simulation'}")
        d, m = data[key], sim[key]
        if d.nbins != m.nbins or not np.allclose(d.xlow, m.xlow) or not np.allclose(d.xhigh, m.xhigh):
            raise ConfigError(f"binning mismatch for {key}: data {d.nbins} bins "
                              f"[{d.xlow[0]}, {d.xhigh[-1]}], simulation {m.nbins} bins "
                              f"[{m.xlow[0]}, {m.xhigh[-1]}]")
        w = histogram_weight(key, weights)
        if w == 0.0:
            continue
        den = d.errors**2 + m.errors**2 + (model_error * m.values) ** 2
        ok = den > 0
        diff = np.where(ok, m.values - d.values, 0.0)
        den = np.where(ok, den, 1.0)
        per_bin = np.where(ok, diff**2 / den, 0.0)
        var = np.where(ok, (4 * diff**2 * m.errors**2 + 2 * m.errors**4) / den**2, 0.0)
        c = float(per_bin.sum())
        out.per_bin[key] = per_bin
        out.per_hist[key] = (w * c, int(ok.sum()))
        out.total += w * c
        out.nbins += int(ok.sum())
        out.variance += float(w**2 * var.sum())
    return out
