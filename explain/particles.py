"""A particle-level tagger: a Particle Flow Network (Deep Sets, Komiske, Metodiev, Thaler,
arXiv 1810.05165) on the jet constituents, and the relevance of each particle.

Inputs (:func:`constituent_features`): per jet the ``n_max`` hardest constituents, each as
``(z, d_eta, d_phi, present)`` with ``z = pT / pT_jet`` and the angles relative to the jet axis;
padding rows are all zero and ``present`` is their mask. The mask travels *inside* the input, so
``explain.lrp(pfn, x)`` needs no second argument and the first-layer rules see the input element
for element.

:class:`ParticleFlowNetwork` computes ``F(sum_i m_i Phi(p_i))``: ``Phi`` acts on each particle
(``nn.Linear`` on the last axis), the sum pools over particles, ``F`` classifies. The mask enters
the pooling as a constant (detached), so relevance flows only through ``Phi`` of the particles
present: padding gets exactly zero, the sum pooling passes relevance to each particle in
proportion to its contribution (the LRP-0 rule of a sum, which the ordinary gradient already
implements), and the relevance of a bias-free network sums to its output (tested).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import Tensor, nn

from explain.errors import ExplainError, check_number, is_count
from explain.images import image_grid, preprocess
from explain.jets import JetSample

__all__ = ["FEATURES", "ParticleFlowNetwork", "constituent_features", "particle_relevance",
           "relevance_image"]

#: the per-particle input channels
FEATURES = ("z", "d_eta", "d_phi", "present")


def constituent_features(sample: JetSample, n_max: int = 64) -> np.ndarray:
    """Per-particle inputs of every jet, ``(n_jets, n_max, 4)`` float32 (see :data:`FEATURES`).

    The ``n_max`` highest-pT constituents are kept, in decreasing pT; ``d_phi`` is wrapped into
    ``(-pi, pi]``.

    Raises:
        ExplainError: ``n_max < 1`` or an empty sample.
    """
    if n_max < 1 or len(sample) == 0:
        raise ExplainError(f"n_max must be >= 1 and the sample non-empty; got n_max={n_max!r} and "
                           f"{len(sample)} jets")
    padded, mask = sample.padded(n_max)
    pt, eta, phi = padded[..., 0], padded[..., 1], padded[..., 2]
    out = np.zeros((len(sample), n_max, len(FEATURES)), dtype=np.float32)
    out[..., 0] = pt / sample.jet_pt[:, None]
    out[..., 1] = eta - sample.jet_eta[:, None]
    out[..., 2] = np.mod(phi - sample.jet_phi[:, None] + np.pi, 2 * np.pi) - np.pi
    out[..., 3] = 1.0
    out[~mask] = 0.0
    return out


def _mlp(sizes: tuple[int, ...], last_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if last_relu or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_input(x: Tensor) -> None:
    """Refuse an input that is not ``(jets, particles, features)``. A call of its own, which
    ``torch.fx`` keeps whole (:func:`torch.fx.wrap`), so that the network stays traceable and
    :meth:`explain.composites.Composite.check` sees every function on its input's path."""
    if x.dim() != 3 or x.shape[-1] != len(FEATURES):
        raise ExplainError(f"a ParticleFlowNetwork takes (jets, particles, {len(FEATURES)}) inputs "
                           f"{FEATURES}; got shape {tuple(x.shape)}")


torch.fx.wrap("_check_input")


class ParticleFlowNetwork(nn.Module):
    """``F(sum_i m_i Phi(p_i))`` on :func:`constituent_features` inputs; one logit per jet.

    Args:
        phi: Widths of ``Phi``'s layers after the input (the last is the latent dimension).
        f: Widths of ``F``'s hidden layers.
        scale: Inputs are multiplied by this before ``Phi`` (angles of a few tenths and momentum
            fractions meet weights of order one).
        pool_scale: The pooled sum is divided by this, so that ``F`` sees inputs of order one for
            jets of tens of particles (a constant factor: the relevance is unchanged by it).

    Raises:
        ExplainError: ``phi`` empty or a width that is not an int >= 1, or a scale that is not a
            finite number > 0.
    """

    def __init__(self, phi: tuple[int, ...] = (64, 64, 32), f: tuple[int, ...] = (64, 64),
                 scale: float = 5.0, pool_scale: float = 16.0) -> None:
        super().__init__()
        for name, widths in (("phi", phi), ("f", f)):
            if (not isinstance(widths, (tuple, list)) or (name == "phi" and not widths)
                    or not all(is_count(w) for w in widths)):
                raise ExplainError(f"{name} must be a tuple of layer widths, ints >= 1"
                                   f"{' (at least one: the latent dimension)' if name == 'phi' else ''}; "
                                   f"got {widths!r}")
        check_number(scale, "scale", 0.0, low_open=True)
        check_number(pool_scale, "pool_scale", 0.0, low_open=True)
        self.scale, self.pool_scale = scale, pool_scale
        phi, f = tuple(int(w) for w in phi), tuple(int(w) for w in f)  # numpy ints (skopt's) as ints
        self.phi = _mlp((len(FEATURES), *phi), last_relu=True)
        self.f = _mlp((phi[-1], *f, 1), last_relu=False)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x)
        mask = x[..., 3:4].detach()
        latent = (self.phi(x * self.scale) * mask).sum(dim=1) / self.pool_scale
        return self.f(latent).squeeze(-1)


def particle_relevance(relevance: Tensor | np.ndarray) -> np.ndarray:
    """Relevance per particle: the sum over its input channels (``(jets, particles)``)."""
    r = relevance.detach().cpu().numpy() if isinstance(relevance, torch.Tensor) else np.asarray(relevance)
    if r.ndim != 3:
        raise ExplainError(f"relevance must be shaped (jets, particles, channels); got {r.shape}")
    return r.sum(axis=-1)


def relevance_image(sample: JetSample, relevance: np.ndarray, n_pixels: int = 25,
                    half_width: float = 1.25, frame: str = "centroid") -> np.ndarray:
    """Per-particle relevance binned on the jet-image plane, ``(n_jets, n_pixels, n_pixels)``.

    Each jet's particles are centred, rotated and flipped exactly as for its jet image
    (:func:`explain.images.preprocess` in ``frame``), so the mean over jets is comparable pixel
    for pixel with a CNN's relevance maps, and a two-prong decision shows as two spots.

    Args:
        sample: The jets the relevance belongs to.
        relevance: :func:`particle_relevance` of :func:`constituent_features` inputs of ``sample``
            (``(n_jets, n_max)``, hardest particle first).

    Raises:
        ExplainError: a relevance array that does not match the sample, or a grid
            :func:`explain.images.image_grid` refuses.
    """
    rel = np.asarray(relevance, dtype=float)
    if rel.ndim != 2 or len(rel) != len(sample):
        raise ExplainError(f"relevance must be (jets, particles) for the {len(sample)} jets of the "
                           f"sample; got shape {rel.shape}")
    edges = image_grid(n_pixels, half_width)
    n_pixels = len(edges) - 1
    out = np.zeros((len(sample), n_pixels, n_pixels))
    for i in range(len(sample)):
        pt, eta, phi, _ = sample.constituents(i)
        order = np.argsort(-pt)[: rel.shape[1]]
        x, y = preprocess(pt, eta, phi, frame)
        out[i], _, _ = np.histogram2d(y[order], x[order], bins=[edges, edges],
                                      weights=rel[i, : len(order)])
    return out
