"""LRP through ``nn.MultiheadAttention``: the attention weights held constant.

With its softmax weights ``A`` fixed, attention is a linear map of its *value* input,
``out = W_o concat_h(A_h (value W_v,h + b_v,h)) + b_o``; the AH rule of Ali et al. ("XAI for
Transformers: Better Explanations through Conservative Propagation", arXiv 2202.07304) propagates
relevance through that map (here with the epsilon rule) and none through the queries and keys,
which only chose the weights. Relevance is then conserved through the layer (exactly without
biases), where the plain gradient, which also runs through the softmax, is not.

:func:`attention_hook` is the forward hook :class:`explain.composites.Composite` attaches to each
attention layer its map gives :class:`explain.rules.Epsilon`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from explain.errors import ExplainError
from explain.layers import LayerParams
from explain.rules import Epsilon, Rule

__all__ = ["attention_hook", "value_path"]


def _value_weights(m: nn.MultiheadAttention) -> tuple[Tensor, Tensor | None]:
    e = m.embed_dim
    w = m.in_proj_weight[2 * e:] if m._qkv_same_embed_dim else m.v_proj_weight
    b = None if m.in_proj_bias is None else m.in_proj_bias[2 * e:]
    return w.detach(), None if b is None else b.detach()


def value_path(m: nn.MultiheadAttention, value: Tensor, weights: Tensor, biases: bool = True) -> Tensor:
    """The attention output recomputed from ``value`` with the per-head ``weights`` (``(N, H, L,
    S)``, batched inputs in the module's layout) held fixed: linear in ``value`` (affine with
    ``biases``)."""
    v = value.transpose(0, 1) if not m.batch_first else value  # (N, S, E_v)
    w_v, b_v = _value_weights(m)
    proj = v @ w_v.T + (b_v if biases and b_v is not None else 0)
    n, s, _ = proj.shape
    h = m.num_heads
    heads = proj.reshape(n, s, h, -1).transpose(1, 2)  # (N, H, S, D)
    mixed = (weights.detach() @ heads).transpose(1, 2).reshape(n, weights.shape[2], -1)  # (N, L, E)
    out = mixed @ m.out_proj.weight.detach().T
    if biases and m.out_proj.bias is not None:
        out = out + m.out_proj.bias.detach()
    return out if m.batch_first else out.transpose(0, 1)


def _call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, dict[str, Any]]:
    """query, key, value and the other keyword arguments of one call, however they were passed."""
    names = ("query", "key", "value")
    given = dict(zip(names, args, strict=False))
    rest = {k: v for k, v in kwargs.items() if k not in names}
    for k in names:
        if k in kwargs:
            given[k] = kwargs[k]
    for i, k in enumerate(("key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
                           "is_causal"), start=3):
        if len(args) > i:
            rest[k] = args[i]
    return given["query"], given["key"], given["value"], rest


def attention_hook(rule: Rule) -> Callable[..., Any]:
    """A forward hook (``with_kwargs=True``) that gives an attention layer's output the gradient of
    ``rule`` on :func:`value_path`, its value unchanged.

    Raises:
        ExplainError: a rule other than epsilon, an attention with ``add_bias_kv`` or
            ``add_zero_attn`` (keys and values that are no input's), or unbatched inputs.
    """
    if not isinstance(rule, Epsilon):
        raise ExplainError(f"attention takes the epsilon rule on its value path (the AH rule); got {rule!r}")

    def hook(m: nn.MultiheadAttention, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> Any:
        if m.bias_k is not None or m.add_zero_attn:
            raise ExplainError("LRP through attention with add_bias_kv or add_zero_attn is not supported: "
                               "their extra keys and values belong to no input")
        query, key, value, rest = _call(args, kwargs)
        if value.dim() != 3:
            raise ExplainError(f"LRP through attention needs batched inputs (3-D), got value of shape "
                               f"{tuple(value.shape)}")
        rest.update(need_weights=True, average_attn_weights=False)
        with torch.no_grad():
            _, weights = m.forward(query, key, value, **rest)  # forward, not __call__: no hooks
        assert weights is not None  # need_weights=True
        y = output[0]
        has_bias = m.in_proj_bias is not None or m.out_proj.bias is not None
        p = LayerParams(torch.ones(()), torch.ones(()) if has_bias else None,
                        lambda a, w, b: value_path(m, a, weights, biases=b is not None), linearised=True)
        return (rule.wrap(p, value, y), *output[1:])

    return hook
