"""Layer-wise relevance propagation rules, one class per rule.

A rule says how the relevance ``R_k`` of a layer's outputs is shared among its inputs ``a_j``:

    R_j = sum_k q_jk / (eps + sum_j' q_j'k) R_k

with ``q_jk`` set by the rule (``a_j w_jk`` for epsilon, ``a_j w_jk^+`` for z-plus, ...). The rules run
inside PyTorch's autograd with the *gradient trick*: when a rule is attached (see
:mod:`explain.composites`) the layer's output keeps its value ``y`` but its gradient becomes that of
``z(a) * y / stab(z(a))``, with ``z`` the rule's modified pre-activation. The quantity flowing backwards is
then the relevance per unit of activation, ``R / a``; ReLU, pooling, flattening, dropout and residual
additions need no rule of their own (their ordinary gradient shares relevance in proportion to the
activations, max-pooling to the winner) and the relevance of any tensor is ``tensor * gradient``.

Rules for the first layer (:class:`Flat`, :class:`WSquare`, :class:`ZBox`) produce relevance that is
not of the form ``a_j x something`` (a pixel with zero intensity can be relevant); they return it
directly through :meth:`Rule.input_relevance`, and :func:`explain.attribution.lrp` adds it to the
result.

Contract of a :class:`Rule` subclass: implement :meth:`Rule.z` (for proportional rules) or set
``produces_relevance = True`` and implement :meth:`Rule.input_relevance`; both receive the layer through a
:class:`LayerParams` view so that one rule serves ``Linear``, ``Conv1d/2d/3d`` and element-wise affine
layers (unfolded batch norms). ``zero_bias=True`` leaves the biases out of the denominators.
Conservation from output to input then holds up to the stabiliser: each layer loses
``eps / (z + eps)`` of a unit's relevance, so it is exact (to rounding, ~1e-12 in float64) with
``eps = 0`` on a bias-free model, and only approximate at the default ``eps = 1e-6`` where
pre-activations are tiny; z+ and gamma pass nothing through a unit whose modified pre-activation
is zero (only the bias had switched it on). In float32 expect relative deviations of ~1e-5 per
layer from rounding alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from explain.errors import ExplainError
from explain.layers import ACTIVATIONS, LayerParams, layer_params

__all__ = [
    "ACTIVATIONS",
    "Epsilon",
    "Flat",
    "Gamma",
    "LayerParams",
    "Pass",
    "Rule",
    "WSquare",
    "ZBox",
    "ZPlus",
    "layer_params",
    "stabilize",
]


def stabilize(z: Tensor, eps: float) -> Tensor:
    """``z + eps sign(z)`` (sign 0 -> +1), with exact zeros kept away from division by zero."""
    out = z + eps * torch.where(z >= 0, 1.0, -1.0).to(z)
    if eps == 0:
        out = torch.where(out == 0, torch.ones_like(out), out)
    return out




class Rule:
    """Base class of the LRP rules.

    Args:
        eps: Stabiliser added to the denominators (with their sign).
        zero_bias: Leave biases out of the denominators (conservation up to the stabiliser; see the
            module docstring).
    """

    produces_relevance = False
    uses_bias = True
    #: whether the rule takes a layer's own map (``LayerParams.linearised``: a normalisation with
    #: its spread held constant); the rules that modify weights (z+, gamma, the first-layer
    #: rules) assume a map whose weights are its only coupling, and refuse it
    takes_linearised = False

    def __init__(self, eps: float = 1e-6, zero_bias: bool = False) -> None:
        if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and 0 <= eps < float("inf")):
            raise ExplainError(f"the stabiliser eps must be a finite number >= 0; got {eps!r}")
        self.eps = eps
        self.zero_bias = zero_bias

    def _bias(self, p: LayerParams) -> Tensor | None:
        return None if (self.zero_bias or not self.uses_bias) else p.bias

    def z(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        """The modified pre-activation whose derivatives are the ``q_jk / a_j`` of the rule.

        Args:
            p: The layer.
            a: Its input (part of the autograd graph).
            y: Its actual output (also part of the graph).
        """
        raise NotImplementedError

    def input_relevance(self, p: LayerParams, a: Tensor, r_out: Tensor) -> Tensor:
        """Relevance of the inputs ``a`` given the relevance ``r_out`` of the outputs (first-layer rules)."""
        raise NotImplementedError

    def wrap(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        """The layer output with the value ``y`` and the gradient of the rule."""
        z = self.z(p, a, y)
        scale = (y / stabilize(z, self.eps)).detach()
        return y.detach() + (z - z.detach()) * scale

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eps={self.eps}, zero_bias={self.zero_bias})"


class Epsilon(Rule):
    """LRP-epsilon: ``q_jk = a_j w_jk``; ``eps = 0`` is LRP-0 (input x gradient on ReLU networks).
    On a normalisation (``LayerNorm``, ``GroupNorm``) ``w`` is its map with the input's spread held
    constant (the LN rule of Ali et al. 2022), so that relevance is conserved through it."""

    takes_linearised = True

    def z(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        if p.linearised:  # y's own gradient runs through the spread too
            return p.apply(a, p.weight, self._bias(p))
        return p.without_bias(y) if self.zero_bias else y


class Pass(Rule):
    """Hands each output's relevance to the input at the same position (element-wise layers)."""

    takes_linearised = True

    def z(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        return a


class ZPlus(Rule):
    """LRP-z+ (alpha = 1, beta = 0): ``q_jk = a_j^+ w_jk^+ + a_j^- w_jk^-``; positive biases count.

    A unit whose inputs all contribute negatively has ``z = 0`` and passes no relevance on; after a ReLU
    such a unit is off anyway, but before a residual addition it can carry relevance, which is then lost.
    """

    def z(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        b = self._bias(p)
        if bool((a >= 0).all()):  # after a ReLU: the negative part vanishes, skip its convolution
            return p.apply(a, p.weight.clamp(min=0), None if b is None else b.clamp(min=0))
        pos = p.apply(a.clamp(min=0), p.weight.clamp(min=0), None if b is None else b.clamp(min=0))
        return pos + p.apply(a.clamp(max=0), p.weight.clamp(max=0), None)


class Gamma(Rule):
    """Generalised LRP-gamma: the contributions of the output's own sign are favoured by ``gamma``.

    For a unit with positive output, ``q_jk = a_j^+ (w_jk + gamma w_jk^+) + a_j^- (w_jk + gamma w_jk^-)``
    (bias ``b + gamma b^+``); for a unit with negative output, ``q_jk = a_j^+ (w_jk + gamma w_jk^-) +
    a_j^- (w_jk + gamma w_jk^+)`` (bias ``b + gamma b^-``); a unit with zero output passes nothing.
    With positive outputs and inputs this is the original rule of Montavon et al. (2019); the
    negative branch keeps the denominator away from zero where the plain ``w + gamma w^+`` would cross
    it (a convolution before a residual addition, any layer not followed by a ReLU), as zennit does.

    Args:
        gamma: Weight of the favoured part.
    """

    def __init__(self, gamma: float = 0.25, eps: float = 1e-6, zero_bias: bool = False) -> None:
        super().__init__(eps, zero_bias)
        if not (isinstance(gamma, (int, float)) and not isinstance(gamma, bool)
                and 0 <= gamma < float("inf")):
            raise ExplainError(f"gamma must be a finite number >= 0; got {gamma!r}")
        self.gamma = gamma

    def _branch(self, p: LayerParams, a: Tensor, favour_positive: bool) -> Tensor:
        """``z`` of one branch: weights ``w + gamma w^+`` on positive inputs (``w^-`` on negative
        ones) when ``favour_positive``, the other way round otherwise."""
        b, w, g = self._bias(p), p.weight, self.gamma

        def mod(t: Tensor, positive: bool) -> Tensor:
            return t + g * (t.clamp(min=0) if positive else t.clamp(max=0))

        zb = None if b is None else mod(b, favour_positive)
        if bool((a >= 0).all()):  # after a ReLU: the negative inputs vanish, skip their convolution
            return p.apply(a, mod(w, favour_positive), zb)
        return (p.apply(a.clamp(min=0), mod(w, favour_positive), zb)
                + p.apply(a.clamp(max=0), mod(w, not favour_positive), None))

    def z(self, p: LayerParams, a: Tensor, y: Tensor) -> Tensor:
        pos = self._branch(p, a, True)
        if bool((y >= 0).all()):
            return pos
        return torch.where(y > 0, pos, self._branch(p, a, False))


@contextmanager
def _native_conv() -> Iterator[None]:
    """PyTorch's own convolution kernels instead of oneDNN's for the first-layer rules: oneDNN's
    backward through a convolution of images with one or a few channels is slow (256 jet images of
    25 x 25 pixels, a 5 x 5 kernel, one channel in and out: 250 ms against 19 ms; 3 channels in and
    16 out, 3 x 3: 47 against 33 ms for 128 images of 32 x 32)."""
    with warnings.catch_warnings():  # torch warns about TF32 on Intel GPUs when the flag is set
        warnings.filterwarnings("ignore", message=".*TF32 acceleration on top of oneDNN.*")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def _channels_reducible(p: LayerParams, a: Tensor) -> bool:
    """Whether every output channel of the layer sees every input channel (a ``Linear`` or an
    ungrouped convolution; not an element-wise layer), so that weights equal across output channels
    can be applied as one channel."""
    if p.weight.dim() < 2 or p.transposed:
        return False
    return p.channel_dim == -1 or p.weight.shape[1] == a.shape[1]


class _FirstLayerRule(Rule):
    """Rules whose input relevance is computed directly (see the module docstring)."""

    produces_relevance = True

    def _share(self, p: LayerParams, a: Tensor, q_w: Tensor, q_b: Tensor | None, r_out: Tensor,
               uniform: bool = False) -> Tensor:
        """``R_j = sum_k q_jk / (eps + sum_j' q_j'k) R_k`` for contributions ``q_jk`` that do not depend
        on the input values (weights ``q_w``, bias ``q_b``): the denominators are the same for every
        sample and are computed on one. With ``uniform`` (every output channel weighs its inputs
        alike, as the flat rule's ones do, so that the denominators are the same in every output
        channel) the outputs' relevance is summed over the channels first, divided once and handed
        back through a single channel, ``C_out`` times less work than through all of them."""
        with torch.enable_grad(), _native_conv():
            z = p.apply(torch.ones_like(a[:1]), q_w, q_b).detach()
            if uniform and _channels_reducible(p, a):  # z is then the same in every output channel
                cd = p.channel_dim
                g = r_out.sum(dim=cd, keepdim=True) / stabilize(z.narrow(cd, 0, 1), self.eps)
                if p.box_sum is not None and bool((q_w == 1).all()):  # ones: a box sum, no convolution
                    return p.box_sum(g).expand_as(a).contiguous()
                q_w = q_w[:1]
            else:
                g = r_out / stabilize(z, self.eps)
            x = torch.zeros_like(a).requires_grad_(True)  # the map is linear: its transpose at any x
            (r,) = torch.autograd.grad(p.apply(x, q_w, None), x, g)
        return r


class WSquare(_FirstLayerRule):
    """w^2 rule: ``q_jk = w_jk^2``, independent of the input (unbounded inputs)."""

    def input_relevance(self, p: LayerParams, a: Tensor, r_out: Tensor) -> Tensor:
        b = self._bias(p)
        return self._share(p, a, p.weight**2, None if b is None else b**2, r_out)


class Flat(_FirstLayerRule):
    """Flat rule: ``q_jk = 1`` for every connection, so each output shares its relevance evenly."""

    uses_bias = False

    def input_relevance(self, p: LayerParams, a: Tensor, r_out: Tensor) -> Tensor:
        return self._share(p, a, torch.ones_like(p.weight), None, r_out, uniform=True)


class ZBox(_FirstLayerRule):
    """z^B rule for inputs bounded by ``low <= a <= high``:
    ``q_jk = a_j w_jk - low_j w_jk^+ - high_j w_jk^-``, with no bias term (the layer's bias and its
    clamped parts cancel, as in zennit), so the rule conserves relevance even after batch-norm
    folding gave the first layer a bias.

    Args:
        low, high: Bounds of the input (scalars or tensors broadcastable to it).
    """

    def __init__(
        self,
        low: float | Tensor = 0.0,
        high: float | Tensor = 1.0,
        eps: float = 1e-6,
        zero_bias: bool = False,
    ) -> None:
        super().__init__(eps, zero_bias)
        if not bool(torch.all(torch.as_tensor(low) <= torch.as_tensor(high))):
            raise ExplainError(f"ZBox needs low <= high (the bounds of the input); got low={low!r}, "
                               f"high={high!r}")
        self.low, self.high = low, high

    def input_relevance(self, p: LayerParams, a: Tensor, r_out: Tensor) -> Tensor:
        a = a.detach().requires_grad_(True)
        low = (torch.zeros_like(a) + torch.as_tensor(self.low).to(a)).requires_grad_(True)
        high = (torch.zeros_like(a) + torch.as_tensor(self.high).to(a)).requires_grad_(True)
        w = p.weight
        with torch.enable_grad(), _native_conv():
            # the bias would enter as b - b^+ - b^- = 0: leave it out, so the rule conserves
            z = p.apply(a, w, None) - p.apply(low, w.clamp(min=0), None) - p.apply(high, w.clamp(max=0), None)
            ga, gl, gh = torch.autograd.grad(z, (a, low, high), r_out / stabilize(z.detach(), self.eps))
        return a * ga + low * gl + high * gh
