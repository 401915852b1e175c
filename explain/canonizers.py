"""Canonizers: temporary rewrites of a model into an equivalent form that LRP rules handle well.

A :class:`Canonizer` changes a model in place when entered and restores it exactly when left (use it as a
context manager, or let :class:`explain.composites.Composite` do so). The function computed by the model
does not change (up to float rounding).

:class:`MergeBatchNorm` folds each batch norm into the ``Linear`` or ``Conv`` layer that feeds it, so
that the rule of that layer sees one affine map instead of two. The pairs are found on the model's
``torch.fx`` graph, so custom ``forward`` code is understood; models that cannot be traced fall back to
adjacent children of ``nn.Sequential`` containers. Batch norms that follow anything else (an activation,
the input, a layer whose weight is recomputed at each call, such as a weight-normalised one) stay and
are handled as element-wise affine layers by the composite.
"""

from __future__ import annotations

import itertools
import weakref
from types import TracebackType
from typing import Any

import torch
from torch import nn

from explain.rules import layer_params

__all__ = ["Canonizer", "MergeBatchNorm"]

_FOLDABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BN = nn.modules.batchnorm._BatchNorm


class Canonizer:
    """Base class: :meth:`apply` rewrites ``model`` in place, :meth:`remove` undoes it."""

    def apply(self, model: nn.Module) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def __call__(self, model: nn.Module) -> Canonizer:
        self._model = model
        return self

    def __enter__(self) -> nn.Module:
        self.apply(self._model)
        return self._model

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


#: the foldable pairs of each model traced so far (by submodule name), with the structure they were
#: found on: tracing costs ~13 ms, more than LRP itself on a batch of 256 jet images
_TRACED: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[Any, ...], list[tuple[str, str]]]] = (
    weakref.WeakKeyDictionary())


def _pairs(model: nn.Module) -> list[tuple[Any, Any]]:
    """``(layer, batch norm)`` pairs to fold: on the model's ``torch.fx`` graph, a foldable layer
    whose only user is a batch norm; for a model that cannot be traced, adjacent children of
    ``nn.Sequential`` containers. Found once per model, again when a submodule was replaced,
    added or given another forward."""
    mods = dict(model.named_modules())
    # what the pairs depend on besides the code: each submodule's name, identity and forward
    key = tuple((name, id(m), m.forward) for name, m in mods.items())
    hit = _TRACED.get(model)
    if hit is None or hit[0] != key:
        try:
            names = _trace_pairs(model, mods)
        except Exception:  # untraceable forward: fall back to Sequential adjacency
            ids = {id(m): n for n, m in mods.items()}
            names = [(ids[id(a)], ids[id(b)]) for a, b in _pairs_sequential(model)]
        hit = (key, names)
        _TRACED[model] = hit
    return [(mods[a], mods[b]) for a, b in hit[1]]


def _trace_pairs(model: nn.Module, mods: dict[str, nn.Module]) -> list[tuple[str, str]]:
    import torch.fx

    graph = torch.fx.symbolic_trace(model).graph
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(mods.get(str(node.target)), _BN):
            continue
        src = node.args[0] if node.args else None
        if (
            isinstance(src, torch.fx.Node)
            and src.op == "call_module"
            and isinstance(mods.get(str(src.target)), _FOLDABLE)
            and len(src.users) == 1
        ):
            pairs.append((str(src.target), str(node.target)))
    return pairs


def _pairs_sequential(model: nn.Module) -> list[tuple[Any, Any]]:
    pairs: list[tuple[Any, Any]] = []
    for mod in model.modules():
        if isinstance(mod, nn.Sequential):
            kids = list(mod.children())
            pairs += [
                (a, b)
                for a, b in itertools.pairwise(kids)
                if isinstance(a, _FOLDABLE) and isinstance(b, _BN)
            ]
    return pairs


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _weight_is_derived(layer: nn.Module) -> bool:
    """Whether ``layer.weight`` is recomputed at each call (weight norm, spectral norm, any
    parametrisation): writing into it would not change the layer, so it cannot absorb a batch norm."""
    from torch.nn.utils import parametrize

    if parametrize.is_parametrized(layer, "weight"):
        return True
    return any(type(h).__name__ in ("WeightNorm", "SpectralNorm")
               for h in layer._forward_pre_hooks.values())


class MergeBatchNorm(Canonizer):
    """Fold ``Linear/Conv -> BatchNorm`` pairs (eval mode statistics) into the first layer."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, torch.Tensor, torch.Tensor | None, bool]] = []
        self._bns: list[nn.Module] = []
        self.merged: list[tuple[nn.Module, nn.Module]] = []

    def apply(self, model: nn.Module) -> None:
        self.merged = []
        for layer, bn in _pairs(model):
            if (bn.num_features != layer.weight.shape[0] or bn.running_var is None
                    or _weight_is_derived(layer)):
                continue  # left alone: the composite treats the batch norm as an element-wise layer
            self._fold(layer, bn)
            self.merged.append((layer, bn))

    def _fold(self, layer: Any, bn: Any) -> None:
        w = layer.weight
        had_bias = layer.bias is not None
        self._saved.append((layer, w.data.clone(), layer.bias.data.clone() if had_bias else None, had_bias))
        with torch.no_grad():
            affine = layer_params(bn)  # the batch norm as x * scale + shift
            scale, shift = affine.weight, affine.bias
            assert shift is not None  # a batch norm always has a shift
            b = layer.bias.data if had_bias else torch.zeros_like(scale)
            w.data.mul_(scale.view((-1,) + (1,) * (w.dim() - 1)))
            new_b = b * scale + shift
            if had_bias:
                layer.bias.data.copy_(new_b)
            else:
                layer.bias = nn.Parameter(new_b, requires_grad=w.requires_grad)
        bn.forward = _identity  # type: ignore[method-assign]
        self._bns.append(bn)

    def remove(self) -> None:
        for layer, w, b, had_bias in reversed(self._saved):
            layer.weight.data.copy_(w)
            if had_bias:
                layer.bias.data.copy_(b)
            else:
                layer.bias = None
        for bn in self._bns:
            del bn.forward
        self._saved, self._bns, self.merged = [], [], []
