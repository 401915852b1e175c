"""Composites: which LRP rule goes on which layer, attached and removed by a context manager.

A :class:`Composite` holds an ordered map from layer types to :class:`explain.rules.Rule` objects, an
optional rule for the first linear layer the input meets, and canonizers (batch-norm folding by default).
``with composite.context(model):`` applies the canonizers, registers one forward hook per matched layer
and removes everything on exit, leaving the model exactly as it was::

    with EpsilonPlusFlat().context(model) as m:
        out = m(x)  # same values; gradients now carry LRP relevance per unit activation

:func:`explain.attribution.lrp` wraps this; use the context directly for custom backward passes.

Layers with no rule keep their ordinary gradient, which is correct for ReLU (in-place or not), max /
average / adaptive pooling, flattening, dropout in eval mode, residual additions (see
:mod:`explain.rules`) and the linear maps without a constant term (upsampling in any mode, padding
by zeros, reflection, replication or wrapping, pixel and channel shuffles, fold / unfold), whose
gradient is LRP-0 and conserves relevance exactly. Batch norms that cannot be folded,
element-wise affine modules (those with ``affine_params()``) and the other element-wise
activations (:data:`explain.rules.ACTIVATIONS`: LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh,
Softplus, ...) get :class:`explain.rules.Pass` in the presets, as zennit's presets give its
activations; the normalisations by the input's own spread (``LayerNorm``, ``RMSNorm``,
``GroupNorm``: :data:`explain.layers.NORMS`) get epsilon on their map with that spread held
constant, and ``nn.MultiheadAttention`` epsilon on its value path with its attention weights held
constant (:mod:`explain.attention`; the LN and AH rules of Ali et al. 2022), which conserve
relevance.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from explain.attention import attention_hook
from explain.canonizers import Canonizer, MergeBatchNorm
from explain.errors import ExplainError
from explain.functional import advice, unseen_functions
from explain.layers import NORMS, LayerParams
from explain.rules import ACTIVATIONS, Epsilon, Flat, Gamma, Pass, Rule, ZBox, ZPlus, layer_params

__all__ = ["GRADIENT_OK", "AllEpsilon", "Composite", "ElementwiseAffine", "EpsilonGammaBox",
           "EpsilonPlusFlat", "LayerMap", "gradient_ok"]

LayerMap = Sequence[tuple[type | tuple[type, ...], Rule]]

#: layers whose ordinary gradient already propagates relevance correctly (see :mod:`explain.rules`)
GRADIENT_OK: tuple[type, ...] = (
    nn.ReLU, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d,
    nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity,
    # linear maps without a constant term: their gradient is LRP-0, which conserves exactly
    nn.Upsample, nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d, nn.ReplicationPad1d,
    nn.ReplicationPad2d, nn.ReplicationPad3d, nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d,
    nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle, nn.Fold, nn.Unfold,
)
#: what a composite does with a layer that has no rule and is not in :data:`GRADIENT_OK`
UNSUPPORTED_MODES = ("error", "gradient")


def gradient_ok(module: nn.Module) -> bool:
    """Whether ``module``'s ordinary gradient propagates relevance correctly: a layer of
    :data:`GRADIENT_OK`, or padding by the constant 0 (``ZeroPad*d``, ``ConstantPad*d(..., 0)``;
    another constant acts as a bias and is not conserved)."""
    return isinstance(module, GRADIENT_OK) or (
        isinstance(module, nn.modules.padding._ConstantPadNd) and module.value == 0)


CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
AFFINE = (nn.modules.batchnorm._BatchNorm,)
_LINEAR_LIKE = (nn.Linear, *CONV)


class ElementwiseAffine:
    """Marker type for element-wise affine modules (those with an ``affine_params()`` method)."""


class _FirstLayer(torch.autograd.Function):
    """Identity on the layer output whose backward computes the first-layer rule's input relevance.

    Where the layer's input is the model's input, element for element, the relevance goes to
    ``sink`` as it is (a rule such as Flat gives relevance to inputs that are zero, which no
    gradient can carry). Where layers come between (pooling, padding, a permutation, a batch
    norm that could not be folded), ``sink`` is ``None``: the relevance of the inputs that are
    not zero goes on as the gradient ``R / a``, through those layers' own rules (their gradient:
    the z-rule of a pooling or padding, as zennit's ``Norm``), and that of the inputs that are
    zero, for which the z-rule is 0 / 0, is left in ``zeros`` for :func:`explain.lrp` to hand
    back through the layers' Jacobian (a max pooling's winner: what zennit's gradient does)."""

    @staticmethod
    def forward(ctx, a: Tensor, y: Tensor, rule: Rule, module: nn.Module, sink: list | None,  # type: ignore[override]
                zeros: list) -> Tensor:
        ctx.save_for_backward(a, y)
        ctx.rule, ctx.module, ctx.sink, ctx.zeros = rule, module, sink, zeros
        return y.clone()

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        a, y = ctx.saved_tensors
        r_in = ctx.rule.input_relevance(_params(ctx.module, ctx.rule), a, y * g)
        if ctx.sink is not None:
            ctx.sink.append(r_in)
            return torch.zeros_like(a), None, None, None, None, None
        nonzero = a != 0
        ctx.zeros.append(torch.where(nonzero, 0.0, r_in))
        # relevance per unit input, undone by the layers' own rules down to x * gradient: no
        # stabiliser, so that a max pooling passes each window's relevance to its winner exactly
        return torch.where(nonzero, r_in / torch.where(nonzero, a, 1.0), 0.0), None, None, None, None, None


def _params(module: nn.Module, rule: Rule) -> LayerParams:
    """The layer as the rule sees it, refusing a rule that cannot take a linearised layer."""
    p = layer_params(module)
    if p.linearised and not rule.takes_linearised:
        raise ExplainError(f"{rule!r} modifies weights, which a {type(module).__name__} (a normalisation by "
                           "its input's own spread) does not have alone: give it Epsilon or Pass")
    return p


class Composite:
    """Rules per layer type, a first-layer rule and canonizers.

    Args:
        layer_map: ``(type or tuple of types, rule)`` pairs; the first match wins.
            :class:`ElementwiseAffine` in a type tuple stands for every module with ``affine_params()``.
        first: Rule for the first layer of ``first_types`` met by the input (``None``: use the map).
        first_types: The layer types ``first`` may go on (default: ``Linear`` and convolutions).
        canonizers: Applied on entry, removed on exit (default: :class:`MergeBatchNorm`).
        unsupported: ``"error"`` (default): a layer with parameters or a non-linearity that no rule
            covers (LayerNorm, Softmax, an LSTM, a custom leaf module) raises
            :class:`~explain.errors.ExplainError` naming it, since its plain gradient does not
            conserve relevance; ``"gradient"``: warn and let its gradient through.

    Raises:
        ExplainError: an unknown ``unsupported`` mode.
    """

    def __init__(
        self, layer_map: LayerMap, first: Rule | None = None, canonizers: Sequence[Canonizer] | None = None,
        unsupported: str = "error", first_types: tuple[type, ...] = _LINEAR_LIKE,
    ) -> None:
        if unsupported not in UNSUPPORTED_MODES:
            raise ExplainError(f"unsupported must be one of {UNSUPPORTED_MODES}, got {unsupported!r}")
        self.unsupported = unsupported
        self.layer_map = list(layer_map)
        self.first = first
        self.first_types = first_types
        self.canonizers = list(canonizers) if canonizers is not None else [MergeBatchNorm()]
        self.sink: list[Tensor] = []
        #: ``(a, [relevance])``: the input of a first layer behind other layers, and the relevance
        #: its rule gave to the elements of ``a`` that are zero (filled in the backward pass)
        self.behind: list[tuple[Tensor, list[Tensor]]] = []
        self._first_seen = False
        self._input: Tensor | None = None

    def rule_for(self, module: nn.Module) -> Rule | None:
        """The rule the map assigns to ``module`` (``None``: ordinary gradient)."""
        for types, rule in self.layer_map:
            tt = types if isinstance(types, tuple) else (types,)
            if isinstance(module, tt) or (ElementwiseAffine in tt and hasattr(module, "affine_params")):
                return rule
        return None

    def reset(self) -> None:
        """Forget the first-layer state, the input and collected relevance (done before every
        forward)."""
        self.sink.clear()
        self.behind.clear()
        self._first_seen = False
        self._input = None

    def _start(self, module: nn.Module, inputs: tuple) -> None:
        """The model's forward pre-hook: a fresh state, and the input the first layer may see."""
        self.reset()
        if inputs and isinstance(inputs[0], Tensor):
            self._input = inputs[0]

    def _sees_input(self, a: Tensor) -> bool:
        """Whether ``a`` is the model's input element for element: the input itself, or a view
        of it in the same order (a flattening), not a permutation or a pooled copy."""
        x = self._input
        return x is not None and (a is x or (
            a.numel() == x.numel() and a.dtype == x.dtype and a.data_ptr() == x.data_ptr()
            and a.is_contiguous() and x.is_contiguous()))

    def _hook(self, rule: Rule | None):
        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor | None:
            a = inputs[0]
            if self.first is not None and not self._first_seen and isinstance(module, self.first_types):
                self._first_seen = True
                if self.first.produces_relevance:
                    if self._sees_input(a):
                        return _FirstLayer.apply(a, output, self.first, module, self.sink, [])
                    zeros: list[Tensor] = []
                    self.behind.append((a, zeros))
                    return _FirstLayer.apply(a, output, self.first, module, None, zeros)
                return self.first.wrap(_params(module, self.first), a, output)
            if rule is None:
                return None
            return rule.wrap(_params(module, rule), a, output)

        return hook

    def _covered(self, module: nn.Module) -> bool:
        """Whether a rule of this composite (the map's, or the first-layer rule) may go on it."""
        return self.rule_for(module) is not None or (
            self.first is not None and isinstance(module, self.first_types))

    def check(self, model: nn.Module) -> None:
        """Refuse (or, with ``unsupported="gradient"``, warn about) the layers that no rule covers
        and whose gradient is not a relevance rule: leaf layers outside :func:`gradient_ok`, and
        modules of any depth that compute with parameters of their own (not held by a child),
        such as ``MultiheadAttention`` (its ``in_proj_weight``) or a custom block that scales its
        child's output by a parameter, whose gradient passed in silence before; and functions
        called inside a ``forward`` on the way from input to output whose gradient is no
        relevance rule (``torch.tanh(h)``, ``h * torch.sigmoid(h)``, a softmax), found by tracing
        the model with ``torch.fx`` (:mod:`explain.functional`; a model it cannot trace, with
        control flow on its input, is checked module by module only). Written as modules
        (``nn.Tanh()``) they get their rule.

        Raises:
            ExplainError: naming every such layer and its type.
        """
        bad = [(name or type(model).__name__, type(mod).__name__) for name, mod in model.named_modules()
               if ((not any(True for _ in mod.children()) and not gradient_ok(mod))
                   or any(True for _ in mod.parameters(recurse=False)))
               and "parametrizations" not in name.split(".")  # they compute weights, not activations
               and not self._covered(mod)]
        functions = unseen_functions(model, lambda m: self._covered(m) or gradient_ok(m)) or []
        bad += [(path, f"{kind} calling {fn} in its forward: {advice(fn)}")
                for path, kind, fn in dict.fromkeys(functions)]
        bad += [(name, f"{type(mod).__name__} applying its activation as the function "
                       f"{getattr(mod.activation, '__name__', mod.activation)}; pass it as a module, "
                       f"e.g. activation=nn.GELU()")
                for name, mod in model.named_modules()
                if isinstance(mod, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer))
                and not isinstance(mod.activation, nn.Module) and mod.activation is not nn.functional.relu]
        if not bad:
            return
        listed = ", ".join(f"{n} ({t})" for n, t in bad)
        softmax = any(t in ("Softmax", "LogSoftmax") or "softmax " in t for _, t in bad)
        hint = (" A Softmax turns scores into probabilities: explain a class's score, the model "
                "without its final Softmax, as LRP does." if softmax else "")
        if self.unsupported == "error":
            raise ExplainError(
                f"no LRP rule covers the layer(s) {listed}: their gradient would not conserve relevance. "
                "Give them a rule in the composite's layer map, or pass unsupported='gradient' to let "
                f"their gradient through (with a warning).{hint}")
        warnings.warn(f"LRP passes the plain gradient through {listed} (no rule covers them; "
                      "relevance is not conserved there)", RuntimeWarning, stacklevel=3)

    @contextmanager
    def context(self, model: nn.Module) -> Iterator[nn.Module]:
        """Apply the canonizers and attach the rules to ``model`` for the duration of the block.

        Raises:
            ExplainError: a layer no rule covers (see :meth:`check`).
        """
        self.check(model)
        for c in self.canonizers:
            c.apply(model)
        handles: list[RemovableHandle] = []
        try:
            merged = {id(bn) for c in self.canonizers for _, bn in getattr(c, "merged", [])}
            # an attention layer's out_proj is applied by the attention's own forward, not called
            inside = {id(c) for m in model.modules() if isinstance(m, nn.MultiheadAttention)
                      for c in m.modules() if c is not m}
            for mod in model.modules():
                if id(mod) in merged or id(mod) in inside:
                    continue
                rule = self.rule_for(mod)
                if isinstance(mod, nn.MultiheadAttention) and rule is not None:
                    handles.append(mod.register_forward_hook(attention_hook(rule), with_kwargs=True))
                elif rule is not None or (self.first is not None and isinstance(mod, self.first_types)):
                    handles.append(mod.register_forward_hook(self._hook(rule)))
            handles.append(model.register_forward_pre_hook(self._start))
            yield model
        finally:
            for h in handles:
                h.remove()
            for c in reversed(self.canonizers):
                c.remove()
            self.reset()


def EpsilonPlusFlat(eps: float = 1e-6, zero_bias: bool = False,  # noqa: N802
                    unsupported: str = "error") -> Composite:
    """Flat in the first layer, z+ in convolutions, epsilon in dense layers (zennit's namesake)."""
    return Composite(
        [
            (CONV, ZPlus(eps, zero_bias)),
            ((nn.Linear, *NORMS, nn.MultiheadAttention), Epsilon(eps, zero_bias)),
            ((*AFFINE, ElementwiseAffine), Pass(eps)),
            (ACTIVATIONS, Pass(0.0)),  # exact: a unit's relevance moves, only a zero input loses it
        ],
        first=Flat(eps, zero_bias),
        unsupported=unsupported,
    )


def EpsilonGammaBox(  # noqa: N802
    low: float | Tensor = 0.0,
    high: float | Tensor = 1.0,
    gamma: float = 0.25,
    eps: float = 1e-6,
    zero_bias: bool = False,
    unsupported: str = "error",
) -> Composite:
    """z^B in the first convolution (inputs within ``[low, high]``), gamma in the other convolutions,
    epsilon in dense layers (zennit's namesake: a network without convolutions gets epsilon
    everywhere, since the box rule is meant for bounded pixel inputs)."""
    return Composite(
        [
            (CONV, Gamma(gamma, eps, zero_bias)),
            ((nn.Linear, *NORMS, nn.MultiheadAttention), Epsilon(eps, zero_bias)),
            ((*AFFINE, ElementwiseAffine), Pass(eps)),
            (ACTIVATIONS, Pass(0.0)),  # exact: a unit's relevance moves, only a zero input loses it
        ],
        first=ZBox(low, high, eps, zero_bias),
        unsupported=unsupported,
        first_types=CONV,
    )


def AllEpsilon(eps: float = 1e-6, zero_bias: bool = False,  # noqa: N802
               unsupported: str = "error") -> Composite:
    """Epsilon everywhere, element-wise affine layers included (Pass on the element-wise activations
    other than ReLU); ``eps -> 0`` gives input x gradient on ReLU networks."""
    rule = Epsilon(eps, zero_bias)
    return Composite([((*_LINEAR_LIKE, *AFFINE, *NORMS, nn.MultiheadAttention, ElementwiseAffine), rule),
                      (ACTIVATIONS, Pass(0.0))],
                     first=None, unsupported=unsupported)
