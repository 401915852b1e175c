"""Jet images with the standard preprocessing of de Oliveira et al. (arXiv 1511.05190).

Each jet becomes an ``n x n`` image in (eta, phi) with pT as intensity: centred on the
pT-weighted centroid, rotated so that the principal axis of the pT distribution is vertical,
flipped so that the half with more pT lies on the positive side of both axes, and normalised to
unit total intensity.
"""

from __future__ import annotations

import numpy as np

from explain.jets import JetSample

__all__ = ["jet_images", "preprocess"]


def preprocess(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre, rotate and flip one jet's constituents; return (x, y) coordinates."""
    w = pt / pt.sum()
    ceta = np.sum(w * eta)
    dphi = (phi - phi[np.argmax(pt)] + np.pi) % (2 * np.pi) - np.pi
    cphi = np.sum(w * dphi)
    x, y = eta - ceta, dphi - cphi
    # principal axis of the pT-weighted second moments -> vertical
    cov = np.array([[np.sum(w * x * x), np.sum(w * x * y)], [np.sum(w * x * y), np.sum(w * y * y)]])
    vals, vecs = np.linalg.eigh(cov)
    ax = vecs[:, np.argmax(vals)]
    angle = np.arctan2(ax[0], ax[1])
    c, s = np.cos(angle), np.sin(angle)
    xr, yr = c * x - s * y, s * x + c * y
    if np.sum(w * (xr > 0)) < np.sum(w * (xr < 0)):
        xr = -xr
    if np.sum(w * (yr > 0)) < np.sum(w * (yr < 0)):
        yr = -yr
    return xr, yr


def jet_images(sample: JetSample, n_pixels: int = 25, half_width: float = 1.25,
               preprocess_jets: bool = True) -> np.ndarray:
    """Images of every jet: an ``(n_jets, 1, n_pixels, n_pixels)`` float32 array (sum 1 each)."""
    edges = np.linspace(-half_width, half_width, n_pixels + 1)
    out = np.zeros((len(sample), 1, n_pixels, n_pixels), dtype=np.float32)
    for i in range(len(sample)):
        pt, eta, phi, _ = sample.constituents(i)
        if preprocess_jets:
            x, y = preprocess(pt, eta, phi)
        else:
            x = eta - sample.jet_eta[i]
            y = (phi - sample.jet_phi[i] + np.pi) % (2 * np.pi) - np.pi
        img, _, _ = np.histogram2d(y, x, bins=[edges, edges], weights=pt)
        total = img.sum()
        out[i, 0] = img / total if total > 0 else img
    return out
