"""Mass decorrelation: the DisCo penalty (Kasieczka, Shih, arXiv 2001.05310) and what it buys.

A tagger that learns the jet mass sculpts the background: after a cut on its output the QCD jets
left have a W-like mass peak, and a bump hunt in the mass finds a fake signal. DisCo adds to the
training loss ``lambda * dCor^2(output, mass)`` over the background jets of each batch, the squared
distance correlation (Szekely, Rizzo, Bakirov 2007), which is zero only for independent variables.

:func:`distance_correlation` is differentiable (the penalty); :func:`sculpting` measures what a
cut does to the background mass distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from explain.errors import ExplainError, check_count, check_labels

__all__ = ["Sculpting", "distance_correlation", "sculpting"]


def _centred_distances(v: Tensor) -> Tensor:
    d = (v[:, None] - v[None, :]).abs()
    return d - d.mean(0, keepdim=True) - d.mean(1, keepdim=True) + d.mean()


def distance_correlation(a: Tensor, b: Tensor, squared: bool = True) -> Tensor:
    """Sample distance correlation of two 1-D samples (``dCor^2`` when ``squared``), differentiable
    (tensors; arrays are converted). A NaN in either sample gives NaN, as a loss should.

    Raises:
        ExplainError: samples of different lengths, not 1-D, or shorter than 2.
    """
    a, b = torch.as_tensor(a).reshape(-1), torch.as_tensor(b).reshape(-1)
    if a.shape != b.shape or len(a) < 2:
        raise ExplainError(f"distance correlation needs two 1-D samples of one length >= 2, got "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    b = b.to(a.dtype)
    A, B = _centred_distances(a), _centred_distances(b)
    dcov2 = (A * B).mean()
    den = torch.sqrt((A * A).mean() * (B * B).mean())
    # a constant sample has no distance variance: dCor 0; a NaN stays NaN (it was 0, in silence)
    r2 = torch.where((den > 0) | den.isnan(), dcov2 / den.clamp_min(1e-30), torch.zeros_like(dcov2))
    r2 = torch.where(r2.isnan(), r2, r2.clamp_min(0))
    return r2 if squared else torch.sqrt(r2)


@dataclass
class Sculpting:
    """What a cut at ``signal_efficiency`` does to the background mass distribution.

    Attributes:
        threshold: The output cut keeping ``signal_efficiency`` of the signal.
        background_efficiency: Fraction of the background passing it.
        edges: Mass bin edges.
        before, after: Normalised background mass histograms before and after the cut.
        jensen_shannon: Jensen-Shannon divergence (base 2, 0 to 1) of ``after`` from ``before``:
            0 is no sculpting.
    """

    threshold: float
    background_efficiency: float
    edges: np.ndarray
    before: np.ndarray
    after: np.ndarray
    jensen_shannon: float


def sculpting(output: np.ndarray, mass: np.ndarray, label: np.ndarray, signal_efficiency: float = 0.5,
              bins: int = 20, mass_range: tuple[float, float] = (0.0, 200.0)) -> Sculpting:
    """The background mass shape before and after a cut at ``signal_efficiency``.

    Raises:
        ExplainError: mismatched lengths, no signal or background, an efficiency outside (0, 1),
            bins not an int >= 1 or a mass range that is not (low, high) with low < high.
    """
    output, mass, label = (np.asarray(v, dtype=float).reshape(-1) for v in (output, mass, label))
    bins = check_count(bins, "bins")
    lo, hi = (float(v) for v in mass_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ExplainError(f"mass_range must be (low, high) with finite low < high, got {mass_range!r}")
    if not (len(output) == len(mass) == len(label)) or not (0 < signal_efficiency < 1):
        raise ExplainError(f"output, mass and label need one length and 0 < signal_efficiency < 1; got "
                           f"{len(output)}, {len(mass)}, {len(label)} and {signal_efficiency!r}")
    label = check_labels(label)
    sig, bkg = label == 1, label == 0
    thr = float(np.quantile(output[sig], 1 - signal_efficiency))
    edges = np.linspace(*mass_range, bins + 1)
    before = np.histogram(mass[bkg], edges)[0].astype(float)
    passed = bkg & (output >= thr)
    after = np.histogram(mass[passed], edges)[0].astype(float)
    p, q = before / max(before.sum(), 1), after / max(after.sum(), 1)
    m = 0.5 * (p + q)

    def kl(x: np.ndarray) -> float:
        ok = x > 0
        return float(np.sum(x[ok] * np.log2(x[ok] / m[ok])))

    return Sculpting(thr, float(passed.sum() / bkg.sum()), edges, p, q, 0.5 * kl(p) + 0.5 * kl(q))
