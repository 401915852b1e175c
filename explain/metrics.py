"""Can an attribution be trusted? Deletion and insertion curves and the randomisation check.

* **Deletion** (Petsiuk et al., arXiv 1806.07421): remove the inputs in order of decreasing relevance
  (set them to the baseline) and follow the model's output; a faithful attribution makes it fall
  fast, so a *small* area under the curve is good. **Insertion** starts from the baseline and puts
  the most relevant inputs back first; a *large* area is good. Both are compared with the same curve
  for a random ordering of the inputs, on the same jets.
* **Model randomisation** (Adebayo et al., arXiv 1810.03292): re-initialise the top layers of the
  network and attribute again. An explanation that depends on what the network learned must change:
  its rank correlation with the trained network's relevance falls towards zero; one that does not
  (an edge detector of the input, say) keeps it high.

:func:`attribution_quality` runs both for several attribution methods in one call. Attributions
are functions ``f(model, x) -> relevance`` shaped like ``x``: :func:`explain.lrp` with a composite,
:func:`explain.input_x_gradient`, or captum's integrated gradients (:func:`integrated_gradients`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import Tensor, nn

from explain.errors import ExplainError, check_count
from explain.taggers import predict

__all__ = ["AttributionQuality", "Curve", "attribution_quality", "deletion_curve", "insertion_curve",
           "integrated_gradients", "randomisation_check"]

Attribution = Callable[[nn.Module, Tensor], Tensor]


@dataclass
class Curve:
    """Mean model output after removing (deletion) or restoring (insertion) a fraction of inputs.

    Attributes:
        fractions: Fraction of the inputs removed or restored, from 0 to 1.
        output: Mean model output (logit) over the jets at each fraction.
        auc: Area under ``output`` over ``fractions`` (trapezoids).
    """

    fractions: np.ndarray
    output: np.ndarray
    auc: float


def _order(relevance: Tensor) -> np.ndarray:
    """Per sample, the input indices by decreasing relevance (``n x m``)."""
    r = relevance.detach().reshape(len(relevance), -1).cpu().numpy()
    return np.argsort(-r, axis=1, kind="stable")


def _curve(model: nn.Module, x: Tensor, relevance: Tensor, steps: int, insert: bool,
           baseline: float) -> Curve:
    if relevance.shape != x.shape:
        raise ExplainError(f"relevance must be shaped like the inputs {tuple(x.shape)}, got "
                           f"{tuple(relevance.shape)}")
    if steps < 1:
        raise ExplainError(f"steps must be >= 1, got {steps!r}")
    order = _order(relevance)
    n, m = order.shape
    flat = x.detach().reshape(n, m).cpu()
    fractions = np.linspace(0.0, 1.0, steps + 1)
    out = []
    rows = np.arange(n)[:, None]
    for f in fractions:
        k = round(float(f) * m)
        cur = torch.full_like(flat, baseline) if insert else flat.clone()
        if k:
            idx = torch.as_tensor(order[:, :k])
            src = flat[rows, idx] if insert else torch.full((n, k), baseline, dtype=flat.dtype)
            cur[rows, idx] = src
        out.append(float(np.mean(predict(model, cur.reshape(x.shape)))))
    y = np.array(out)
    auc = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(fractions)))
    return Curve(fractions, y, auc)


def deletion_curve(model: nn.Module, x: Tensor, relevance: Tensor, steps: int = 20,
                   baseline: float = 0.0) -> Curve:
    """The model's mean output as the most relevant inputs are set to ``baseline`` first.

    Raises:
        ExplainError: ``relevance`` not shaped like ``x``, or ``steps < 1``.
    """
    return _curve(model, x, relevance, steps, insert=False, baseline=baseline)


def insertion_curve(model: nn.Module, x: Tensor, relevance: Tensor, steps: int = 20,
                    baseline: float = 0.0) -> Curve:
    """The model's mean output as the most relevant inputs are restored first into an input of
    ``baseline`` everywhere.

    Raises:
        ExplainError: ``relevance`` not shaped like ``x``, or ``steps < 1``.
    """
    return _curve(model, x, relevance, steps, insert=True, baseline=baseline)


def integrated_gradients(model: nn.Module, x: Tensor, n_steps: int = 32) -> Tensor:
    """captum's integrated gradients of the model's (single) output from an all-zero baseline."""
    from captum.attr import IntegratedGradients

    n_steps = check_count(n_steps, "n_steps")
    was = model.training
    model.eval()
    try:
        return IntegratedGradients(lambda t: model(t).reshape(len(t), -1)[:, 0]).attribute(
            x, baselines=torch.zeros_like(x), n_steps=n_steps).detach()
    finally:
        model.train(was)


_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _top_layers(model: nn.Module, n_layers: int) -> list[nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d]:
    layers = [m for m in model.modules() if isinstance(m, _WEIGHTED)]
    if not layers:
        raise ExplainError(f"the model has no Linear or Conv layer to re-initialise: {type(model).__name__}")
    return layers[-n_layers:]


def randomisation_check(model: nn.Module, x: Tensor, attribution: Attribution, n_layers: int = 2,
                        seed: int = 0) -> float:
    """Mean Spearman correlation, over the samples, between the relevance of ``model`` and that of
    a copy whose last ``n_layers`` weight layers are re-initialised (Adebayo et al.). Near 0: the
    attribution depends on what the network learned; near 1: it does not.

    Raises:
        ExplainError: a model without Linear or Conv layers, or ``n_layers`` not an int >= 1 (none
            re-initialised would compare the model with itself).
    """
    n_layers = check_count(n_layers, "n_layers")
    trained = attribution(model, x).detach().reshape(len(x), -1).cpu().numpy()
    rand = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        # an offset, so that a model built under torch.manual_seed(seed) is not re-drawn as it was
        torch.manual_seed(1_000_003 + seed)
        for layer in _top_layers(rand, n_layers):
            layer.reset_parameters()
    other = attribution(rand, x).detach().reshape(len(x), -1).cpu().numpy()
    rhos = []
    for a, b in zip(trained, other, strict=True):
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            continue
        rhos.append(float(spearmanr(a, b).statistic))
    return float(np.mean(rhos)) if rhos else float("nan")


@dataclass
class AttributionQuality:
    """One row per attribution method (and ``random``): deletion and insertion AUC (mean logit
    over the jets, integrated over the fraction of inputs), and the randomisation correlation."""

    methods: list[str]
    deletion_auc: list[float]
    insertion_auc: list[float]
    randomisation_rho: list[float]

    def table(self) -> str:
        """A Markdown table."""
        rows = ["| method | deletion AUC (lower is better) | insertion AUC (higher is better) | "
                "randomisation rank correlation (lower is better) |", "|---|---|---|---|"]
        for m, d, i, r in zip(self.methods, self.deletion_auc, self.insertion_auc,
                              self.randomisation_rho, strict=True):
            rows.append(f"| {m} | {d:.3f} | {i:.3f} | {r:.3f} |")
        return "\n".join(rows)


def attribution_quality(model: nn.Module, x: Tensor, methods: dict[str, Attribution],
                        steps: int = 20, n_layers: int = 2, seed: int = 0) -> AttributionQuality:
    """Deletion, insertion and the randomisation check for every method in ``methods``, and the
    deletion and insertion curves of a random ordering of the inputs (the ``random`` row).

    Raises:
        ExplainError: ``methods`` empty or not a mapping of names to functions, or ``steps``
            or ``n_layers`` not an int >= 1.
    """
    if not isinstance(methods, Mapping) or not methods:
        raise ExplainError(f"methods must be a non-empty mapping {{name: fn(model, x)}}, got {methods!r}")
    bad = {k: v for k, v in methods.items() if not callable(v)}
    if bad:
        raise ExplainError(f"methods must map names to functions fn(model, x) -> relevance; got "
                           f"{ {k: type(v).__name__ for k, v in bad.items()} }")
    n_layers = check_count(n_layers, "n_layers")
    out = AttributionQuality([], [], [], [])
    rng = torch.Generator().manual_seed(seed)
    for name, fn in {**methods, "random": None}.items():
        rel = torch.rand(x.shape, generator=rng) if fn is None else fn(model, x).detach().cpu()
        out.methods.append(name)
        out.deletion_auc.append(deletion_curve(model, x, rel, steps).auc)
        out.insertion_auc.append(insertion_curve(model, x, rel, steps).auc)
        out.randomisation_rho.append(float("nan") if fn is None else
                                     randomisation_check(model, x, fn, n_layers, seed))
    return out
