"""SHAP values for both tagger kinds, a thin layer over the ``shap`` package.

Images: ``shap.DeepExplainer`` (DeepLIFT-style, additive: the values of a jet sum to ``f(x) - E[f]``) or
``shap.GradientExplainer`` (expected gradients). Both break on in-place ReLUs with current torch
("Output 0 of BackwardHookFunction is a view and is being modified inplace"); here they run on a copy
of the model with every ``inplace`` flag cleared, so the user's model is untouched.

Observables: ``shap.PermutationExplainer`` (exact additivity, model-agnostic) or ``shap.KernelExplainer``
on the network's logit, returning a ``shap.Explanation`` ready for ``shap.plots.beeswarm`` / ``bar``.

Particles (:func:`shap_particles`): Shapley values of each constituent of a set-based tagger (the
particle flow network), where a particle outside a coalition is *removed* (its input row zeroed,
mask included), so the values of a jet sum to ``f(jet) - f(empty jet)`` exactly; estimated by
antithetic permutation sampling, every coalition of one jet evaluated in one batch.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from explain.errors import ExplainError, check_labels

__all__ = [
    "bar_plot",
    "beeswarm_plot",
    "shap_image_maps",
    "shap_images",
    "shap_observables",
    "shap_particles",
    "without_inplace",
]


def without_inplace(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every module's ``inplace`` flag set to ``False``."""
    clone = copy.deepcopy(model).eval()
    for m in clone.modules():
        if getattr(m, "inplace", False):
            m.inplace = False  # type: ignore[assignment]
    return clone


class _Column(nn.Module):
    """``(N,) -> (N, 1)``: shap's torch explainers want one column per output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x).reshape(x.shape[0], -1)


def shap_images(
    model: nn.Module, x: np.ndarray | Tensor, background: np.ndarray | Tensor, method: str = "deep"
) -> np.ndarray:
    """SHAP values of a single-output image tagger, shaped like ``x``.

    Args:
        model: The tagger (in-place activations allowed).
        x: Images to explain.
        background: Reference images (a few hundred drawn from the training set).
        method: ``"deep"`` or ``"gradient"``.

    Raises:
        ExplainError: unknown method; a background whose inputs are not shaped like ``x``'s.
    """
    import shap

    explainers = {"deep": shap.DeepExplainer, "gradient": shap.GradientExplainer}
    if method not in explainers:
        raise ExplainError(f"method must be one of {sorted(explainers)}; got {method!r}")
    dev = next(model.parameters()).device
    net = _Column(without_inplace(model)).to(dev)
    bg = torch.as_tensor(background, dtype=torch.float32).to(dev)
    xt = torch.as_tensor(x, dtype=torch.float32).to(dev)
    if bg.ndim < 2 or len(bg) == 0 or bg.shape[1:] != xt.shape[1:]:
        raise ExplainError(f"background must be a non-empty batch of inputs shaped like x's "
                           f"{tuple(xt.shape[1:])}; got shape {tuple(bg.shape)}")
    explainer = explainers[method](net, bg)
    values = (
        explainer.shap_values(xt, check_additivity=False) if method == "deep" else explainer.shap_values(xt)
    )
    values = np.asarray(values[0] if isinstance(values, list) else values)
    return values.reshape(xt.shape)


def shap_observables(
    model: nn.Module,
    x: np.ndarray,
    background: np.ndarray,
    feature_names: list[str],
    method: str = "permutation",
    max_evals: int | None = None,
    seed: int = 0,
) -> Any:
    """SHAP values of a tagger on observables, as a ``shap.Explanation`` on the logit scale.

    Args:
        model: Network taking ``(N, n_features)`` floats.
        x: Events to explain.
        background: Reference events for the masker.
        feature_names: One name per column.
        method: ``"permutation"`` or ``"kernel"``.
        max_evals: Model evaluations per event (default ``2 * n_features + 1`` rounded up, permutation).
        seed: Fixes the permutations.

    Raises:
        ExplainError: unknown method or a name count that does not match the columns.
    """
    import shap

    x, background = np.asarray(x, np.float32), np.asarray(background, np.float32)
    if x.ndim != 2 or len(feature_names) != x.shape[1]:
        raise ExplainError(
            f"x must be (events, features) with one name per feature; got shape {x.shape} "
            f"and {len(feature_names)} names"
        )
    dev = next(model.parameters()).device
    net = without_inplace(model).to(dev)

    def f(arr: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return (
                net(torch.as_tensor(np.asarray(arr, np.float32), device=dev)).reshape(len(arr)).cpu().numpy()
            )

    if method == "permutation":
        masker = shap.maskers.Independent(background, max_samples=len(background))
        expl = shap.PermutationExplainer(f, masker, feature_names=feature_names, seed=seed)
        return expl(x, max_evals=max_evals or 2 * (2 * x.shape[1] + 1), silent=True)
    if method == "kernel":
        kexpl = shap.KernelExplainer(f, background)
        values = kexpl.shap_values(x, silent=True)
        return shap.Explanation(
            values, base_values=np.full(len(x), kexpl.expected_value), data=x, feature_names=feature_names
        )
    raise ExplainError(f"method must be 'permutation' or 'kernel'; got {method!r}")


def beeswarm_plot(explanation: Any, max_display: int = 15) -> Any:
    """``shap.plots.beeswarm`` as a returned figure."""
    import matplotlib.pyplot as plt
    import shap

    fig = plt.figure()
    shap.plots.beeswarm(explanation, max_display=max_display, show=False)
    return fig


def bar_plot(explanation: Any, max_display: int = 15) -> Any:
    """``shap.plots.bar`` (mean |SHAP| per feature) as a returned figure."""
    import matplotlib.pyplot as plt
    import shap

    fig = plt.figure()
    shap.plots.bar(explanation, max_display=max_display, show=False)
    return fig


def shap_image_maps(values: np.ndarray, label: np.ndarray) -> Any:
    """Mean SHAP map of W jets, of QCD jets, and mean |SHAP|, side by side."""
    from explain.plots import image_grid

    v = np.asarray(values).reshape(len(values), *np.asarray(values).shape[-2:])
    label = check_labels(label, len(v))
    return image_grid(
        [v[label == 1].mean(0), v[label == 0].mean(0), np.abs(v).mean(0)],
        ["mean SHAP, W", "mean SHAP, QCD", "mean |SHAP|"],
        cols=3,
    )


@torch.no_grad()
def shap_particles(model: nn.Module, x: np.ndarray | Tensor, n_permutations: int = 16,
                   seed: int = 0) -> np.ndarray:
    """Shapley values of every particle of every jet on the model's logit (``(jets, particles)``).

    Args:
        model: A tagger on ``(jets, particles, channels)`` inputs whose last channel is the
            particle mask (:func:`explain.particles.constituent_features`); a zero row is a
            particle that is not there.
        x: The jets.
        n_permutations: Permutations per jet (each used forwards and reversed, antithetically).
        seed: Seed of the permutations.

    Returns:
        Values that sum, per jet, to ``f(x) - f(no particles)``; padding rows get 0.

    Raises:
        ExplainError: inputs that are not ``(jets, particles, channels)`` or ``n_permutations < 1``.
    """
    xt = torch.as_tensor(x)
    if xt.dim() != 3 or n_permutations < 1:
        raise ExplainError(f"shap_particles needs (jets, particles, channels) inputs and "
                           f"n_permutations >= 1; got shape {tuple(xt.shape)} and {n_permutations!r}")
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    was = model.training
    model.eval()
    try:
        return _particle_values(model, xt, n_permutations, seed, dev, dtype)
    finally:  # the caller's model comes back in the mode it was given, also after an error
        model.train(was)


def _particle_values(model: nn.Module, xt: Tensor, n_permutations: int, seed: int,
                     dev: torch.device, dtype: torch.dtype) -> np.ndarray:
    """The permutation estimate of :func:`shap_particles` (model in eval mode)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(xt.shape[:2])
    for j in range(len(xt)):
        present = np.flatnonzero(xt[j, :, -1].cpu().numpy() > 0)
        n = len(present)
        if n == 0:
            continue
        perms = [rng.permutation(present) for _ in range(n_permutations)]
        perms += [p[::-1] for p in perms]
        # coalition k of a permutation keeps its first k particles: (perms x (n + 1)) inputs
        keep = np.zeros((len(perms), n + 1, xt.shape[1]), dtype=bool)
        for a, p in enumerate(perms):
            for k in range(1, n + 1):
                keep[a, k, p[:k]] = True
        batch = xt[j].to(dev, dtype).expand(keep.shape[0] * keep.shape[1], -1, -1).clone()
        batch[~torch.as_tensor(keep.reshape(-1, xt.shape[1]), device=dev)] = 0.0
        f = model(batch).reshape(len(perms), n + 1).double().cpu().numpy()
        gain = np.diff(f, axis=1)  # the marginal contribution of the k-th particle added
        for a, p in enumerate(perms):
            out[j, p] += gain[a]
        out[j] /= len(perms)
    return out
