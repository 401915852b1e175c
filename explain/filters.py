"""Convolutional filters: first-layer kernels, mean activation maps per class, activation maximisation.

As in de Oliveira et al. (arXiv 1511.05190): the first-layer kernels of a jet-image CNN and the difference
between the average activations of W and QCD jets show which patterns (two prongs at a given distance,
diffuse radiation) each filter picks up; activation maximisation finds the input a channel likes most.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from explain.errors import ExplainError, check_count, check_labels, check_number, is_count

__all__ = [
    "activation_maximisation",
    "activations",
    "first_conv",
    "first_layer_kernels",
    "mean_activation_maps",
]


def first_conv(model: nn.Module) -> Any:
    """The first convolution of ``model`` in module order.

    Raises:
        ExplainError: there is none.
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return m
    raise ExplainError(f"{type(model).__name__} has no convolution layer")


def first_layer_kernels(model: nn.Module) -> np.ndarray:
    """Kernels of the first convolution, ``(out_channels, in_channels, k, k)``."""
    return first_conv(model).weight.detach().cpu().numpy()


@torch.no_grad()
def activations(
    model: nn.Module, x: np.ndarray | Tensor, module: nn.Module, batch_size: int = 1024
) -> np.ndarray:
    """The outputs of ``module`` for inputs ``x`` (before any later in-place op), model in eval mode.

    Raises:
        ExplainError: ``module`` is not one of ``model``'s, or ``batch_size`` not an int >= 1.
    """
    batch_size = check_count(batch_size, "batch_size")
    if not any(m is module for m in model.modules()):
        raise ExplainError(f"module must be one of the model's layers (e.g. model.features[0]); got "
                           f"{type(module).__name__}, which the model does not contain")
    dev = next(model.parameters()).device
    store: list[Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: store.append(out.clone()))
    was = model.training
    model.eval()
    try:
        xt = torch.as_tensor(x, dtype=torch.float32)
        chunks = []
        for i in range(0, len(xt), batch_size):
            store.clear()
            model(xt[i : i + batch_size].to(dev))
            chunks.append(store[0].detach().clone().cpu())
    finally:
        handle.remove()
        model.train(was)
    return torch.cat(chunks).numpy()


def _after_activation(model: nn.Module, conv: nn.Module) -> nn.Module:
    """The first ReLU after ``conv`` in module order (so maps are post-activation), else ``conv``."""
    seen = False
    for m in model.modules():
        if m is conv:
            seen = True
        elif seen and isinstance(m, nn.ReLU):
            return m
    return conv


def mean_activation_maps(
    model: nn.Module, x: np.ndarray, label: np.ndarray, module: nn.Module | None = None
) -> dict[str, np.ndarray]:
    """Mean activation map of every channel for signal and background jets.

    Args:
        model: The CNN.
        x: Images.
        label: 1 for signal, 0 for background.
        module: Where to read the activations (default: the ReLU after the first convolution).

    Returns:
        ``{"signal": (C, H, W), "background": (C, H, W), "difference": signal - background}``.

    Raises:
        ExplainError: labels other than 0 and 1, a class missing, or one label per image not given.
    """
    label = check_labels(label, len(x))
    module = module or _after_activation(model, first_conv(model))
    act = activations(model, x, module)
    sig, bkg = act[label == 1].mean(0), act[label == 0].mean(0)
    return {"signal": sig, "background": bkg, "difference": sig - bkg}


def activation_maximisation(
    model: nn.Module,
    shape: tuple[int, ...],
    module: nn.Module | None = None,
    channel: int = 0,
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 1e-6,
    seed: int = 0,
    unit: str = "centre",
) -> np.ndarray:
    """The non-negative, unit-sum input (like a jet image) that maximises one channel's activation.

    Gradient ascent on ``softmax``-parametrised pixel intensities (so the input stays a valid image), with
    an L2 penalty on the logits. The activation is the channel's unit at the centre of the feature map
    (``unit="centre"``, the usual choice) or its spatial mean (``"mean"``; for a unit-sum input the mean
    response of a convolution hardly depends on where the intensity sits, so this is flat for the first
    layers).

    Args:
        model: The network.
        shape: One input's shape, e.g. ``(1, 25, 25)``.
        module: Layer whose channel is maximised (``None``: the network output itself); pick a
            pre-activation layer (convolution or batch norm): a ReLU output starts dead at zero.
        channel: Channel index within that layer's output.
        steps, lr, l2: Optimisation settings.
        seed: Initial noise.
        unit: ``"centre"`` or ``"mean"``.

    Returns:
        The input, shaped ``shape``.

    Raises:
        ExplainError: channel out of range, unknown ``unit``, ``steps`` not an int >= 1, ``lr``
            not > 0, ``l2`` negative, or a ``shape`` the model does not take.
    """
    if unit not in ("centre", "mean"):
        raise ExplainError(f"unit must be 'centre' or 'mean'; got {unit!r}")
    steps = check_count(steps, "steps")
    check_number(lr, "lr", 0.0, low_open=True)
    check_number(l2, "l2", 0.0)
    if not isinstance(shape, (tuple, list)) or not all(is_count(n) for n in shape):
        raise ExplainError(f"shape must be one input's shape, positive ints without the batch "
                           f"dimension, e.g. (1, 25, 25); got {shape!r}")
    shape = tuple(int(n) for n in shape)
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    logits = (0.01 * torch.randn((1, int(np.prod(shape))), generator=gen)).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    store: list[Tensor] = []
    handle = (
        module.register_forward_hook(lambda _m, _i, out: store.append(out.clone()))  # before in-place ops
        if module is not None
        else None
    )
    was = model.training
    model.eval()
    try:
        for _ in range(steps):
            store.clear()
            img = torch.softmax(logits, dim=1).view((1, *shape))
            try:
                out = model(img)
            except (RuntimeError, ValueError) as err:
                raise ExplainError(f"the model does not run on one input of shape {tuple(shape)} "
                                   f"(shape excludes the batch dimension): {err}") from err
            if module is None:
                val = out.reshape(-1)[0]
            else:
                act = store[0]
                if not 0 <= channel < act.shape[1]:
                    raise ExplainError(f"channel must lie in [0, {act.shape[1]}); got {channel}")
                a = act[0, channel]
                val = a.mean() if unit == "mean" else a[tuple(n // 2 for n in a.shape)]
            (grad,) = torch.autograd.grad(-val + l2 * logits.pow(2).sum(), logits)  # no parameter grads
            logits.grad = grad
            opt.step()
    finally:
        if handle is not None:
            handle.remove()
        model.train(was)
    return torch.softmax(logits.detach(), dim=1).view(shape).cpu().numpy()
