"""What a layer is to an LRP rule: its parameters and how to apply them (:class:`LayerParams`).

:func:`layer_params` gives the view of every layer a rule can go on: ``Linear``, ``Conv1d/2d/3d``
and their transposes, batch norms (eval mode), the normalisations by the input's own spread
(``LayerNorm``, ``RMSNorm``, ``GroupNorm``: :data:`NORMS`, linearised), element-wise affine modules and the
element-wise activations (:data:`ACTIVATIONS`, for :class:`explain.rules.Pass`). The rules
themselves (:mod:`explain.rules`) only modify weights and apply them through this view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explain.errors import ExplainError

__all__ = ["ACTIVATIONS", "NORMS", "LayerParams", "layer_params"]

#: element-wise activations other than ReLU (whose gradient is already a relevance rule): their
#: relevance passes from each output to the input at the same position (:class:`Pass`, as zennit
#: does for its ``Activation`` types); a ``Softmax`` mixes positions and is not one of them
ACTIVATIONS: tuple[type, ...] = (
    nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
    nn.LogSigmoid, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold,
)


@dataclass
class LayerParams:
    """A layer as ``y = apply(a, W, b)``: the parameters a rule modifies and how to apply them."""

    weight: Tensor
    bias: Tensor | None
    apply: Callable[[Tensor, Tensor, Tensor | None], Tensor]
    channel_dim: int = 1
    #: for a convolution whose transpose with a kernel of ones is a box sum (stride 1, no
    #: dilation, zero padding): one channel of output values -> their sum over each input
    #: position's receptive field (one channel), without the transpose convolution
    box_sum: Callable[[Tensor], Tensor] | None = None
    #: a transposed convolution: its weight is ``(in, out / groups, ...)``, not ``(out, in, ...)``
    transposed: bool = False
    #: a layer whose gradient is not the one LRP follows (a normalisation by the input's own
    #: spread): ``apply`` computes it with that spread held constant, and only the rules that
    #: take the layer's own map (epsilon, pass) apply
    linearised: bool = False

    def without_bias(self, y: Tensor) -> Tensor:
        """``y`` minus this layer's bias."""
        if self.bias is None:
            return y
        if self.channel_dim == -1:
            return y - self.bias
        return y - self.bias.view((1, -1) + (1,) * (y.dim() - 2))


def _elementwise(a: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """``a * w + b`` with ``w``, ``b`` per channel (dimension 1)."""
    shape = (1, -1) + (1,) * (a.dim() - 2)
    out = a * w.view(shape)
    return out if b is None else out + b.view(shape)


def _bn_params(m: nn.modules.batchnorm._BatchNorm) -> LayerParams:
    if m.running_var is None or m.running_mean is None:
        raise ExplainError(
            f"{type(m).__name__}({m.num_features}) keeps no running statistics "
            "(track_running_stats=False): it normalises every batch by its own statistics, which is "
            "no fixed affine map an LRP rule can follow; train it with running statistics")
    scale = torch.rsqrt(m.running_var + m.eps)
    if m.weight is not None:
        scale = scale * m.weight
    shift = -m.running_mean * scale
    if m.bias is not None:
        shift = shift + m.bias
    return LayerParams(scale.detach(), shift.detach(), _elementwise)


def _transposed(m: nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d,
                ) -> Callable[[Tensor, Tensor, Tensor | None], Tensor]:
    """``apply`` of a transposed convolution: its forward with the weights a rule hands it (the
    output size its forward picks without ``output_size``; the rules modify weights element by
    element, so the transposed layout needs nothing else)."""
    fn = {1: nn.functional.conv_transpose1d, 2: nn.functional.conv_transpose2d,
          3: nn.functional.conv_transpose3d}[m.weight.dim() - 2]

    padding = tuple(int(v) for v in m.padding)  # a transposed convolution takes no "same"

    def apply(a: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return fn(a, w, b, m.stride, padding, m.output_padding, m.groups, m.dilation)

    return apply


def _box_sum(conv: nn.Conv1d | nn.Conv2d | nn.Conv3d) -> Callable[[Tensor], Tensor] | None:
    """The transpose of ``conv`` with a kernel of ones, as a box sum, where it is one: stride 1,
    no dilation, zero padding ``p <= k - 1`` in every dimension (numbers, ``"valid"``, or
    ``"same"`` with odd kernels). Input position ``i`` is seen by outputs ``i + p - k + 1 .. i +
    p``, so its sum is the sum over a window of ``k`` of the outputs padded by ``k - 1 - p`` on
    each side, taken one dimension at a time (on 256 jet images 25x less work than the
    transposed convolution). ``None`` otherwise."""
    k: tuple[int, ...] = tuple(conv.kernel_size)
    if conv.padding == "valid":
        pad: tuple[int, ...] = (0,) * len(k)
    elif conv.padding == "same":
        if any(ki % 2 == 0 for ki in k):
            return None
        pad = tuple((ki - 1) // 2 for ki in k)
    else:
        pad = tuple(int(v) for v in conv.padding)
    if (conv.padding_mode != "zeros" or any(v != 1 for v in conv.stride)
            or any(v != 1 for v in conv.dilation)
            or any(not 0 <= pi <= ki - 1 for pi, ki in zip(pad, k, strict=True))):
        return None
    widths = [ki - 1 - pi for ki, pi in zip(k, pad, strict=True)]
    flat_pad = [w for wi in reversed(widths) for w in (wi, wi)]  # F.pad: last dimension first

    def box(g: Tensor) -> Tensor:  # separable: a window sum along each dimension in turn
        out = nn.functional.pad(g, flat_pad)
        for d, kd in enumerate(k):
            out = out.unfold(2 + d, kd, 1).sum(-1)
        return out

    return box


#: normalisations by the input's own spread: LRP holds the spread constant, which makes them linear
#: maps of their input (the LN rule of Ali et al., "XAI for Transformers", arXiv 2202.07304)
NORMS: tuple[type, ...] = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)


def _norm_params(m: nn.LayerNorm | nn.GroupNorm | nn.RMSNorm) -> LayerParams:
    """A ``LayerNorm`` (over its trailing ``normalized_shape``), ``RMSNorm`` (the same without
    centring) or ``GroupNorm`` (over each group of channels and the positions) as
    ``(a - mean(a)) / sd * w + b`` with ``sd`` taken from the input but held constant: the same
    values, and a map linear in ``a``."""
    if isinstance(m, (nn.LayerNorm, nn.RMSNorm)):
        dims = tuple(range(-len(m.normalized_shape), 0))
        rms = isinstance(m, nn.RMSNorm)

        def centred(a: Tensor) -> Tensor:
            eps = m.eps if m.eps is not None else torch.finfo(a.dtype).eps  # RMSNorm's default
            if rms:
                return a / (a.detach().square().mean(dims, keepdim=True) + eps).sqrt()
            sd = (a.detach().var(dims, unbiased=False, keepdim=True) + eps).sqrt()
            return (a - a.mean(dims, keepdim=True)) / sd

        def apply_ln(a: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
            out = centred(a) * w
            return out if b is None else out + b

        weight = m.weight.detach() if m.weight is not None else torch.ones(())
        bias = getattr(m, "bias", None)  # RMSNorm has none
        return LayerParams(weight, None if bias is None else bias.detach(), apply_ln, channel_dim=-1,
                           linearised=True)

    groups, eps = m.num_groups, m.eps

    def apply_gn(a: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        g = a.reshape(a.shape[0], groups, -1)
        sd = (g.detach().var(-1, unbiased=False, keepdim=True) + eps).sqrt()
        return _elementwise(((g - g.mean(-1, keepdim=True)) / sd).reshape(a.shape), w, b)

    weight = m.weight.detach() if m.weight is not None else torch.ones(m.num_channels)
    return LayerParams(weight, None if m.bias is None else m.bias.detach(), apply_gn, linearised=True)


def layer_params(module: nn.Module) -> LayerParams:
    """The :class:`LayerParams` of a ``Linear``, ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``,
    (eval-mode) ``BatchNorm``, ``LayerNorm``, ``RMSNorm`` or ``GroupNorm`` layer, of
    an element-wise affine module that defines ``affine_params() -> (scale, shift)`` per channel, or
    of an element-wise activation (:data:`ACTIVATIONS`: no parameters, for :class:`Pass`).

    Raises:
        ExplainError: the module is not one of these.
    """
    if isinstance(module, nn.Linear):
        return LayerParams(
            module.weight.detach(),
            None if module.bias is None else module.bias.detach(),
            lambda a, w, b: nn.functional.linear(a, w, b),
            channel_dim=-1,
        )
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        conv = module
        return LayerParams(
            conv.weight.detach(),
            None if conv.bias is None else conv.bias.detach(),
            lambda a, w, b: conv._conv_forward(a, w, b),
            box_sum=_box_sum(conv),
        )
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return LayerParams(
            module.weight.detach(),
            None if module.bias is None else module.bias.detach(),
            _transposed(module),
            transposed=True,
        )
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return _bn_params(module)
    if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)):  # NORMS
        return _norm_params(module)
    if hasattr(module, "affine_params"):
        scale, shift = getattr(module, "affine_params")()  # noqa: B009 (dynamic protocol)
        return LayerParams(scale.detach(), shift.detach(), _elementwise)
    if isinstance(module, ACTIVATIONS):  # no parameters: only Pass applies to them
        return LayerParams(torch.ones(()), None, lambda a, w, b: module(a))
    raise ExplainError(
        f"LRP rules apply to Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, BatchNorm, LayerNorm, RMSNorm, "
        f"GroupNorm and element-wise affine layers (with an affine_params() method); got "
        f"{type(module).__name__}"
    )
