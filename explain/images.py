"""Jet images: each jet an ``n x n`` image in (eta, phi) with pT as intensity, normalised to
unit total intensity, in one of two frames:

* ``"centroid"`` (the default): centred on the pT-weighted centroid, rotated so that the
  principal axis of the pT distribution is vertical, flipped so that the half with more pT lies
  on the positive side of both axes.
* ``"subjets"``, the frame of de Oliveira et al. (arXiv 1511.05190): centred on the hardest kt
  subjet (radius 0.3, the trimming subjets), rotated so that the second-hardest subjet lies
  directly below it, flipped so that the right half carries more pT. A W's two prongs then sit
  at the same two places in every image, ``(0, 0)`` and ``(0, -Delta R_12)``, so they survive
  an average over jets (in the centroid frame the softer prong's distance from the centre
  varies with the momentum sharing and the average smears it out).
"""

from __future__ import annotations

import numpy as np

from explain.errors import ExplainError, check_count, check_number
from explain.grooming import subjets
from explain.jets import JetSample

__all__ = ["FRAMES", "jet_images", "preprocess"]

#: the image frames :func:`preprocess` knows
FRAMES = ("centroid", "subjets")


def _wrap(dphi: np.ndarray) -> np.ndarray:
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def _subjet_frame(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, r_sub: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    sj = subjets(pt, eta, phi, pt * np.cosh(eta), r_sub)
    x, y = eta - sj[0, 1], _wrap(phi - sj[0, 2])
    if len(sj) > 1:  # the second subjet straight below the first
        angle = -np.pi / 2 - np.arctan2(_wrap(sj[1, 2] - sj[0, 2]), sj[1, 1] - sj[0, 1])
        c, s = np.cos(angle), np.sin(angle)
        x, y = c * x - s * y, s * x + c * y
    if np.sum(pt * (x > 0)) < np.sum(pt * (x < 0)):
        x = -x
    return x, y


def preprocess(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, frame: str = "centroid",
               r_sub: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Centre, rotate and flip one jet's constituents into ``frame`` (:data:`FRAMES`); return
    their (x, y) coordinates. ``r_sub`` is the subjet radius of the ``"subjets"`` frame.

    Raises:
        ExplainError: an unknown frame.
    """
    if frame not in FRAMES:
        raise ExplainError(f"frame must be one of {FRAMES}, got {frame!r}")
    if frame == "subjets":
        return _subjet_frame(np.asarray(pt, dtype=float), np.asarray(eta, dtype=float),
                             np.asarray(phi, dtype=float), r_sub)
    w = pt / pt.sum()
    ceta = np.sum(w * eta)
    dphi = _wrap(phi - phi[np.argmax(pt)])
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


def image_grid(n_pixels: int, half_width: float) -> np.ndarray:
    """The pixel edges of a square image of ``n_pixels`` a side spanning ``+-half_width``.

    Raises:
        ExplainError: ``n_pixels`` not an int >= 1 or ``half_width`` not a finite number > 0.
    """
    n = check_count(n_pixels, "n_pixels")
    width = check_number(half_width, "half_width", 0.0, low_open=True)
    return np.linspace(-width, width, n + 1)


def jet_images(sample: JetSample, n_pixels: int = 25, half_width: float = 1.25,
               preprocess_jets: bool = True, frame: str = "centroid") -> np.ndarray:
    """Images of every jet: an ``(n_jets, 1, n_pixels, n_pixels)`` float32 array (sum 1 each),
    in ``frame`` (:func:`preprocess`; ``preprocess_jets=False``: the jet axis at the centre,
    nothing rotated).

    Raises:
        ExplainError: not a :class:`~explain.jets.JetSample`, an unknown frame, or a grid
            :func:`image_grid` refuses.
    """
    if not isinstance(sample, JetSample):
        raise ExplainError(f"jet_images takes a JetSample (generate_jets, load_or_generate), got "
                           f"{type(sample).__name__}")
    if frame not in FRAMES:
        raise ExplainError(f"frame must be one of {FRAMES}, got {frame!r}")
    edges = image_grid(n_pixels, half_width)
    n_pixels = len(edges) - 1
    out = np.zeros((len(sample), 1, n_pixels, n_pixels), dtype=np.float32)
    for i in range(len(sample)):
        pt, eta, phi, _ = sample.constituents(i)
        if preprocess_jets:
            x, y = preprocess(pt, eta, phi, frame)
        else:
            x = eta - sample.jet_eta[i]
            y = _wrap(phi - sample.jet_phi[i])
        img, _, _ = np.histogram2d(y, x, bins=[edges, edges], weights=pt)
        total = img.sum()
        out[i, 0] = img / total if total > 0 else img
    return out
