"""Functions called inside a ``forward``: the layers a composite cannot see, found by tracing.

A composite attaches its rules to modules. An activation applied as a function (``torch.tanh(h)``,
``F.gelu(h)``, ``h * torch.sigmoid(h)``, a softmax) has no module to attach a rule to, and its
plain gradient does not conserve relevance: LRP would run through it in silence and miss. This
module traces a model with ``torch.fx`` (torch's own layers and every module a rule covers kept
whole) and follows what depends on the input through the graph. A call on the input's path is
*seen* when its gradient is a relevance rule, as for the layers of
:data:`explain.composites.GRADIENT_OK`: reshaping and selection, sums and means, additions
(residuals), ReLU, pooling, dropout, padding by zeros, resampling, and products or quotients in
which only one side depends on the input (a scale, a detached mask). Anything else on the input's
path is *unseen*: named, with the module whose ``forward`` calls it.

A model that ``torch.fx`` cannot trace (control flow on the input's values or shape, for
instance) is not checked: :func:`unseen_functions` returns ``None``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from torch import fx, nn

__all__ = ["SEEN", "advice", "unseen_functions"]

#: calls whose gradient propagates relevance as LRP does, whatever depends on the input
SEEN = frozenset({
    # reshaping, selection, copies, dtype
    "getitem", "reshape", "view", "view_as", "flatten", "unflatten", "permute", "transpose", "t",
    "squeeze", "unsqueeze", "contiguous", "expand", "expand_as", "repeat", "tile", "movedim",
    "swapaxes", "swapdims", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "split",
    "chunk", "unbind", "narrow", "select", "index_select", "gather", "take_along_dim", "flip",
    "roll", "clone", "to", "float", "double", "half", "bfloat16", "type", "type_as", "identity",
    # linear maps without a constant term, and residual additions
    "neg", "sum", "mean", "add", "iadd", "sub", "isub", "interpolate", "upsample",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold",
    # ReLU, dropout in eval mode, pooling (max, average, adaptive)
    "relu", "relu_", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "max", "amax", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
})
#: calls whose output does not carry relevance (no gradient, or values that ignore the input's)
_CUT = frozenset({
    "detach", "detach_", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
    "logical_not", "logical_xor", "bool", "long", "int", "argmax", "argmin", "argsort", "size",
    "dim", "numel", "getattr", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
    "randn_like", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "isnan",
    "isfinite", "isinf", "sign", "floor", "ceil", "round", "trunc",
})
#: products: seen when at most one factor depends on the input
_PRODUCTS = frozenset({"mul", "imul", "matmul", "mm", "bmm", "einsum", "outer", "dot", "mv"})
#: quotients: seen when the denominator does not depend on the input
_QUOTIENTS = frozenset({"truediv", "itruediv", "div", "div_", "true_divide", "floordiv"})

#: the module to write in place of a function, for :func:`advice`
_MODULE_OF = {"tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "gelu": "nn.GELU()",
              "silu": "nn.SiLU()", "softplus": "nn.Softplus()", "elu": "nn.ELU()",
              "leaky_relu": "nn.LeakyReLU()", "softmax": "nn.Softmax(dim)",
              "log_softmax": "nn.LogSoftmax(dim)", "layer_norm": "nn.LayerNorm(shape)",
              "linear": "nn.Linear", "conv1d": "nn.Conv1d", "conv2d": "nn.Conv2d",
              "conv3d": "nn.Conv3d", "batch_norm": "nn.BatchNorm*d"}

_cache: weakref.WeakKeyDictionary[nn.Module, tuple[Any, list[tuple[str, str, str]] | None]] = \
    weakref.WeakKeyDictionary()


class _Tracer(fx.Tracer):
    """torch's tracer with the composite's covered modules kept whole."""

    def __init__(self, leaf: Callable[[nn.Module], bool]) -> None:
        super().__init__()
        self._leaf = leaf

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return self._leaf(m) or super().is_leaf_module(m, module_qualified_name)


def _name(node: fx.Node) -> str:
    if node.op == "call_method":
        return str(node.target)
    return getattr(node.target, "__name__", str(node.target)).lstrip("_")


def _seen(node: fx.Node, name: str, live: set[fx.Node]) -> bool:
    """Whether a call on the input's path propagates relevance with its gradient."""
    def on_path(a: Any) -> bool:
        return any(n in live for n in _nodes(a))

    args = list(node.args)
    if name in SEEN:
        return True
    if name in _PRODUCTS:
        factors = args[1:] if name == "einsum" else args
        return sum(on_path(a) for a in factors) <= 1
    if name in _QUOTIENTS:
        return len(args) > 1 and not on_path(args[1])
    if name == "where":  # a selection by a condition that carries no relevance
        return not on_path(args[0]) if args else False
    if name == "masked_fill":
        return len(args) > 1 and not on_path(args[1])
    if name == "pad":  # padding by zeros only (another constant acts as a bias)
        value = node.kwargs.get("value", args[3] if len(args) > 3 else None)
        mode = node.kwargs.get("mode", args[2] if len(args) > 2 else "constant")
        return mode != "constant" or value in (None, 0, 0.0)
    return False


def advice(fn: str) -> str:
    """What to do about an unseen call of ``fn`` (for error messages)."""
    if fn in _MODULE_OF:
        return f"write it as the module {_MODULE_OF[fn]} for a rule to cover it"
    if fn in _PRODUCTS:
        return ("both factors depend on the input (a gate such as x * sigmoid(x)): make the block "
                "a module and give it a rule in the layer map")
    if fn in _QUOTIENTS:
        return ("the denominator depends on the input (a normalisation): use a normalisation "
                "module (nn.LayerNorm) or make the block a module with a rule in the layer map")
    return "make it a module and give it a rule in the layer map"


def _where(node: fx.Node, model: nn.Module) -> tuple[str, str]:
    """The path and type of the module whose ``forward`` made the call."""
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, kind = list(stack.values())[-1]
        return str(path), getattr(kind, "__name__", str(kind))
    return type(model).__name__, type(model).__name__


def _signature(model: nn.Module, leaf: Callable[[nn.Module], bool]) -> Any:
    """What the trace depends on: the modules, and which of them ``leaf`` keeps whole (another
    composite covers other modules)."""
    return tuple((name, type(m), leaf(m)) for name, m in model.named_modules())


def unseen_functions(model: nn.Module,
                     leaf: Callable[[nn.Module], bool]) -> list[tuple[str, str, str]] | None:
    """The calls on the input's path whose gradient is not a relevance rule.

    Args:
        model: The model.
        leaf: Whether a module is kept whole (a rule covers it, or its gradient is fine).

    Returns:
        ``(module path, module type, function)``, e.g. ``("block", "Block", "tanh")`` (the
        model's own forward: its type name as the path), in the order called;
        ``None`` when ``torch.fx`` cannot trace the model (then nothing is checked). Cached per
        model while its modules, and those ``leaf`` keeps whole, stay the same.
    """
    sig = _signature(model, leaf)
    hit = _cache.get(model)
    if hit is not None and hit[0] == sig:
        return hit[1]
    tracer = _Tracer(leaf)
    if tracer.is_leaf_module(model, ""):  # one layer: the composite's module checks cover it
        return []
    try:
        graph = tracer.trace(model)
    except Exception:  # any tracing failure: the model is not checked
        result = None
    else:
        result = _walk(graph, model)
    _cache[model] = (sig, result)
    return result


def _nodes(a: Any) -> list[fx.Node]:
    """The graph nodes inside an argument (nested lists, tuples and dicts included)."""
    found: list[fx.Node] = []
    fx.node.map_arg(a, lambda n: found.append(n) or n)  # type: ignore[func-returns-value]
    return found


def _carriers(node: fx.Node) -> list[fx.Node]:
    """The inputs of ``node`` that relevance flows back to."""
    if node.op not in ("call_function", "call_method"):
        return list(node.all_input_nodes)
    name = _name(node)
    if name in _CUT:
        return []
    if name == "where":
        return _nodes(node.args[1:])
    if name == "masked_fill":
        return _nodes(node.args[:1])
    return list(node.all_input_nodes)


def _walk(graph: fx.Graph, model: nn.Module) -> list[tuple[str, str, str]]:
    """The unseen calls: on the input's path (forward) and on the output's (backward)."""
    calls = {node: _name(node) for node in graph.nodes
             if node.op in ("call_function", "call_method")}
    live: set[fx.Node] = set()
    for node in graph.nodes:
        if node.op == "placeholder" or (
                (node.op == "call_module" or (node in calls and calls[node] not in _CUT))
                and any(n in live for n in node.all_input_nodes)):
            live.add(node)
    relevant: set[fx.Node] = set()
    stack = [n for n in graph.nodes if n.op == "output"]
    while stack:
        for n in _carriers(stack.pop()):
            if n not in relevant:
                relevant.add(n)
                stack.append(n)
    return [(*_where(node, model), name) for node, name in calls.items()
            if node in live and node in relevant and not _seen(node, name, live)]
