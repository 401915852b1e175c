"""Attributions of a tagger's output to its inputs: LRP and the plain gradient methods.

All functions take a model, a batch of inputs and an optional target (the output column; ``None`` for a
single-output tagger), work in batches, leave the model's mode and parameters untouched and return a
tensor shaped like the inputs. The relevance starts from the output value itself, so with conserving
rules ``relevance.sum(dims) == f(x)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from explain.composites import Composite, EpsilonPlusFlat
from explain.errors import ExplainError

__all__ = ["gradient", "input_x_gradient", "lrp", "select_output"]


def select_output(out: Tensor, target: int | None) -> Tensor:
    """One value per sample: column ``target`` of ``out``, or ``out`` itself for one output.

    Raises:
        ExplainError: several outputs and no target, or a target that is no int in range.
    """
    if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
        raise ExplainError(f"target must be an int (the output's index) or None, got {target!r}")
    if out.dim() == 1:
        if target not in (None, 0):
            raise ExplainError(f"target must lie in [0, 1) for a single-output model; got {target}")
        return out
    flat = out.reshape(out.shape[0], -1)
    if target is None:
        if flat.shape[1] != 1:
            raise ExplainError(f"the model has {flat.shape[1]} outputs; pass target= to pick one")
        return flat[:, 0]
    if not 0 <= target < flat.shape[1]:
        raise ExplainError(f"target must lie in [0, {flat.shape[1]}); got {target}")
    return flat[:, target]


@contextmanager
def _frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients for the block; both restored afterwards."""
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


def _batched(x: Tensor, batch_size: int | None, fn: Callable[[Tensor], Tensor]) -> Tensor:
    if x.dim() < 1 or x.shape[0] == 0:
        raise ExplainError(f"inputs must be a non-empty batch; got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ExplainError(f"inputs must be floating point (relevance is a gradient); got {x.dtype}: "
                           "convert them, e.g. x.float()")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ExplainError(f"batch_size must be an int >= 1 (or None: the whole batch at once), "
                           f"got {batch_size!r}")
    # one reduction first (a NaN or inf makes the sum so); the element-wise test, several times
    # dearer, only where the sum is not finite (a NaN or inf, or finite values overflowing it)
    if not bool(torch.isfinite(x.sum())):
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise ExplainError(f"inputs must be finite; got {int(bad.sum())} NaN or infinite values, "
                               f"the first at index {first}")
    size = batch_size or x.shape[0]
    return torch.cat([fn(x[i : i + size]) for i in range(0, x.shape[0], size)])


def _device(model: nn.Module, who: str) -> torch.device:
    """Where the model's parameters live (the CPU for one without).

    Raises:
        ExplainError: ``model`` is no ``nn.Module`` (``who``: the function that was called).
    """
    if not isinstance(model, nn.Module):
        raise ExplainError(f"{who} needs the model as a torch.nn.Module (its mode, parameters and "
                           f"layers are used), got {type(model).__name__} {model!r:.80}")
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def gradient(model: nn.Module, x: Tensor, target: int | None = None, batch_size: int | None = 256) -> Tensor:
    """``d f(x) / d x``."""
    dev = _device(model, "gradient")

    def one(xb: Tensor) -> Tensor:
        xb = xb.to(dev).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(select_output(model(xb), target).sum(), xb)
        return g.detach()

    with _frozen(model):
        return _batched(torch.as_tensor(x), batch_size, one)


def input_x_gradient(
    model: nn.Module, x: Tensor, target: int | None = None, batch_size: int | None = 256
) -> Tensor:
    """``x * d f(x) / d x`` (equal to LRP-0 on ReLU networks)."""
    x = torch.as_tensor(x)
    return x.to(_device(model, "input_x_gradient")) * gradient(model, x, target, batch_size)


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    """``model(x)``, with a mismatched dtype or shape reported as one :class:`ExplainError`."""
    p = next(model.parameters(), None)
    if p is not None and x.is_floating_point() and x.dtype != p.dtype:
        raise ExplainError(f"the inputs are {x.dtype} and the model's parameters {p.dtype}: convert one "
                           "of them (x.to(dtype) or model.to(dtype))")
    try:
        return model(x)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ExplainError(f"the model does not run on inputs of shape {tuple(x.shape)} ({first}); "
                           "inputs are batch first: one example needs x[None]") from exc


def lrp(
    model: nn.Module,
    x: Tensor,
    composite: Composite | None = None,
    target: int | None = None,
    batch_size: int | None = 256,
) -> Tensor:
    """Layer-wise relevance propagation of ``f(x)`` (or column ``target``) to the inputs.

    Args:
        model: Any ``nn.Module`` built from the layers listed in :mod:`explain.composites`.
        x: Inputs, batch first.
        composite: Rules to use (default :func:`explain.composites.EpsilonPlusFlat`).
        target: Output column for multi-output models.
        batch_size: Inputs per forward/backward pass.

    Returns:
        Relevance shaped like ``x``, on the model's device.

    Raises:
        ExplainError: a model that is no ``nn.Module``; bad target, composite or batch size; an
            empty input or one with NaN or infinite values.
    """
    dev = _device(model, "lrp")
    if composite is not None and not isinstance(composite, Composite):
        raise ExplainError(f"composite must be an explain Composite (e.g. EpsilonPlusFlat()), got "
                           f"{composite!r}")
    composite = composite or EpsilonPlusFlat()

    def one(xb: Tensor) -> Tensor:
        xb = xb.to(dev).detach().requires_grad_(True)
        out = _forward(model, xb)
        (g,) = torch.autograd.grad(select_output(out, target).sum(), xb, allow_unused=True,
                                   retain_graph=bool(composite.behind))
        rel = xb.detach() * g if g is not None else torch.zeros_like(xb)
        for a, zeros in composite.behind:  # a first layer behind others: relevance given to zeros
            if zeros and bool(zeros[0].any()):
                (back,) = torch.autograd.grad(a, xb, zeros[0], retain_graph=True, allow_unused=True)
                if back is not None:
                    rel = rel + back
        for r in composite.sink:  # a first layer on the input, element for element (same size)
            rel = rel + r.reshape(rel.shape)
        return rel.detach()

    with _frozen(model), composite.context(model):
        return _batched(torch.as_tensor(x), batch_size, one)
