"""LRP throughput on 25x25 jet images with the example CNN, side by side with captum and zennit.

    python benchmarks/lrp_throughput.py [--images 8192] [--threads 2] [--device cpu|cuda]

On the same weights (the example CNN with non-trivial batch-norm statistics), in one run:

* ours: :func:`explain.lrp` with ``EpsilonPlusFlat`` (batch norm folded) and with ``AllEpsilon(0)``;
* captum's ``InputXGradient`` (captum's own LRP rejects this network: ``Flatten``, in-place ReLU);
* zennit's ``EpsilonPlusFlat`` with ``SequentialMergeBatchNorm`` (install it with
  ``pip install --no-deps zennit``: it imports torchvision at start-up, which this script replaces by an
  empty stand-in since only the ResNet canonizers use it).

It prints images per second per method and batch size, and the largest absolute difference between our
relevance and the reference method's (relative to the largest relevance). Target: >= 5,000 images/s on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import types

import numpy as np
import torch
from torch import nn


def _zennit():
    """Import zennit without torchvision (only its ResNet canonizers need it)."""
    try:
        import torchvision  # noqa: F401
    except ModuleNotFoundError:
        tv = types.ModuleType("torchvision")
        models = types.ModuleType("torchvision.models")
        resnet = types.ModuleType("torchvision.models.resnet")
        resnet.Bottleneck = type("Bottleneck", (nn.Module,), {})
        resnet.BasicBlock = type("BasicBlock", (nn.Module,), {})
        tv.models, models.resnet = models, resnet
        sys.modules.update(
            {"torchvision": tv, "torchvision.models": models, "torchvision.models.resnet": resnet}
        )
    try:
        from zennit.attribution import Gradient
        from zennit.canonizers import SequentialMergeBatchNorm
        from zennit.composites import EpsilonPlusFlat
    except ModuleNotFoundError:
        return None
    return Gradient, SequentialMergeBatchNorm, EpsilonPlusFlat


def _model(device: str) -> nn.Module:
    from explain import JetImageCNN

    torch.manual_seed(0)
    model = JetImageCNN()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval().to(device)


def _once(fn, x: torch.Tensor, batch: int, device: str) -> tuple[float, torch.Tensor]:
    """Seconds for one pass of ``fn`` over ``x`` in batches, and its output."""
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = torch.cat([fn(x[i : i + batch]) for i in range(0, len(x), batch)])
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, out


def _interleaved(methods: dict, x: torch.Tensor, batches: list[int], device: str, repeat: int
                 ) -> tuple[dict[tuple[str, int], list[float]], dict[tuple[str, int], torch.Tensor]]:
    """Seconds per pass of every method and batch size, ``repeat`` rounds, each round timing
    every method once in turn: a machine whose speed drifts (a shared or throttled CPU) slows
    the methods of one round alike, so their ratio within a round is what compares them."""
    for fn in methods.values():
        for b in batches:
            fn(x[:b])  # warm-up
    secs: dict[tuple[str, int], list[float]] = {(n, b): [] for n in methods for b in batches}
    outs: dict[tuple[str, int], torch.Tensor] = {}
    for _ in range(repeat):
        for b in batches:
            for name, fn in methods.items():
                t, outs[(name, b)] = _once(fn, x, b, device)
                secs[(name, b)].append(t)
    return secs, outs


def _methods(model: nn.Module, x: torch.Tensor) -> tuple[dict, str]:
    """The attribution functions to compare, all on ``model``."""
    from captum.attr import InputXGradient

    import explain as ex

    methods = {
        "ours: LRP EpsilonPlusFlat": lambda xb: ex.lrp(model, xb, ex.EpsilonPlusFlat(), batch_size=None),
        "ours: LRP AllEpsilon(0)": lambda xb: ex.lrp(model, xb, ex.AllEpsilon(0.0), batch_size=None),
    }
    captum_ixg = InputXGradient(model)
    methods["captum InputXGradient"] = lambda xb: captum_ixg.attribute(
        xb.clone().requires_grad_(True)
    ).detach()
    z = _zennit()
    if z is None:
        return methods, "zennit not installed (pip install --no-deps zennit): skipped"
    Gradient, SequentialMergeBatchNorm, ZEpsilonPlusFlat = z
    zmodel, note = model, ""
    try:
        with Gradient(
            model=zmodel, composite=ZEpsilonPlusFlat(canonizers=[SequentialMergeBatchNorm()])
        ) as at:
            at(x[:4].clone().requires_grad_(True), lambda out: out)
    except RuntimeError as err:  # in-place ReLU
        note = (
            f"zennit failed on the CNN as written ({str(err)[:70]}...); timed on a copy without in-place ReLU"
        )
        zmodel = copy.deepcopy(model)
        for m in zmodel.modules():
            if getattr(m, "inplace", False):
                m.inplace = False

    def zennit_fn(xb: torch.Tensor) -> torch.Tensor:
        comp = ZEpsilonPlusFlat(canonizers=[SequentialMergeBatchNorm()])
        with Gradient(model=zmodel, composite=comp) as attributor:
            _, rel = attributor(xb.clone().requires_grad_(True), lambda out: out)
        return rel.detach()

    methods["zennit EpsilonPlusFlat"] = zennit_fn
    return methods, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="256,1024")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=5,
                    help="interleaved rounds (each times every method once); rates are the best round")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    model = _model(dev)
    x = torch.rand(args.images, 1, 25, 25, device=dev)
    x[:, :, :, :6] = 0  # empty regions, as in jet images
    x = x / x.sum((1, 2, 3), keepdim=True)
    refs = {
        "ours: LRP AllEpsilon(0)": "captum InputXGradient",
        "ours: LRP EpsilonPlusFlat": "zennit EpsilonPlusFlat",
    }
    methods, zennit_note = _methods(model, x)
    batches = [int(b) for b in args.batches.split(",")]
    secs, _ = _interleaved(methods, x, batches, dev, args.repeat)
    results = {k: (len(x) / min(v), None) for k, v in secs.items()}
    device_name = torch.cuda.get_device_name() if dev == "cuda" else f"CPU, {args.threads} threads"
    print(
        f"\n{args.images} images 25x25, example CNN "
        f"({sum(p.numel() for p in model.parameters())} parameters), {device_name}"
    )
    print("\n| method | " + " | ".join(f"img/s (batch {b})" for b in batches) + " | max diff to reference |")
    print("|---|" + "---:|" * (len(batches) + 1))
    # agreement in double precision (in float32, near-ties in max-pooling flip winners between methods)
    m64, x64 = copy.deepcopy(model).double(), x[:256].double()
    methods64, _ = _methods(m64, x64)
    for name in methods:
        diff = ""
        if name in refs and refs[name] in methods64:
            a, r = methods64[name](x64), methods64[refs[name]](x64)
            diff = f"{float((a - r).abs().max() / r.abs().max()):.1e} (vs {refs[name]})"
        rates = " | ".join(f"{results[(name, b)][0]:,.0f}" for b in batches)
        print(f"| {name} | {rates} | {diff} |")
    ours, zen = "ours: LRP EpsilonPlusFlat", "zennit EpsilonPlusFlat"
    if zen in methods:
        print(f"\nours / zennit EpsilonPlusFlat, round by round ({args.repeat} interleaved rounds):\n")
        print("| batch | per round | median | min |")
        print("|---:|---|---:|---:|")
        for b in batches:
            r = np.array(secs[(zen, b)]) / np.array(secs[(ours, b)])
            print(f"| {b} | {', '.join(f'{v:.2f}' for v in r)} | {np.median(r):.2f} | {r.min():.2f} |")
    best = max(results[(ours, b)][0] for b in batches)
    print(
        f"\nLRP EpsilonPlusFlat: {best:,.0f} images/s; target >= 5,000 on 2 CPU cores: "
        f"{'met' if best >= 5000 else 'missed'}"
    )
    if zennit_note:
        print(zennit_note)


if __name__ == "__main__":
    main()
