"""Every LRP rule of ``explain`` against zennit on the same weights (issue 14, item 3).

    pip install --no-deps zennit==0.5.1     # it imports torchvision, which is stubbed here
    python benchmarks/lrp_zennit.py [--eps 1e-6] [--random K]

Models (float64, random weights, batch-norm statistics randomised so that folding matters):
the example CNN (Conv2d, BatchNorm2d, in-place ReLU, MaxPool2d, Dropout, Linear), a CNN that
max-pools its input before the first convolution (the first-layer rule's relevance then goes on
to the input through the pooling: before session 45 ``explain`` refused it), a CNN of strided,
dilated and grouped convolutions with average pooling (zennit's presets give its ``AvgPool`` the
``Norm`` rule, the z-rule of a layer of positive weights: ``explain`` passes the gradient through
pooling, the same rule in its formulation), a residual Conv1d
network (BatchNorm1d, a functional residual addition: convolutions whose outputs go negative), an
encoder-decoder CNN (strided and grouped transposed convolutions, which take each composite's
convolution rule in both, as zennit's presets give its ``Convolution`` types), a
dense network with BatchNorm1d, a CNN that resamples (bilinear upsampling, reflection and zero
padding, pixel unshuffle: ``explain`` passes their gradient, LRP-0 in its formulation; zennit's
backward signal is the relevance itself, so its plain gradient through a bilinear upsampling
would share each output's relevance by the interpolation weights alone, not by the inputs'
contributions, and its upsampling gets zennit's ``Norm`` rule here, as its presets give
``AvgPool``; padding and shuffles only copy or move values, the same in both), the particle
flow network (Linear on particles, masked sum), and a
dense network of other element-wise activations (LeakyReLU, ELU, GELU, Tanh, Sigmoid: Pass in both,
as zennit's presets give its ``Activation`` types).
Composites (every epsilon and stabiliser ``--eps``): zennit's ``EpsilonPlusFlat`` and
``EpsilonGammaBox``, and one composite per rule (the rule on every Linear/Conv layer, or as the
first-layer rule with epsilon elsewhere). Printed: the
largest ``|ours - zennit|`` over the largest ``|zennit|``, per model and composite, as built and
with every batch norm's ``eps`` set to 0: zennit's batch-norm canonizer leaves the folded layer
computing ``x / sqrt(1 + eps)`` instead of the identity, a relative change of about ``eps / 2``
per layer (1e-5 with PyTorch's default), while ``explain.MergeBatchNorm`` keeps the function exact.
``--random K``: K sequential CNNs drawn at random (:func:`random_cnn`), each on inputs without
zeros and with zero pixels. Where an average pooling comes before the first layer and a window
of zeros gives the first layer a zero input, the z-rule of the pooling is 0 / 0 for the relevance
a first-layer rule (Flat, WSquare, ZBox) gave that input: ``explain`` spreads it over the window
by the pooling's weights (it conserves), zennit's ``Norm`` drops it; those models have a column
of their own.
Models zennit cannot take as written get a twin with the same function (checked): its ``Sum``
module for a residual addition or a sum over particles, since zennit's backward signal is the
relevance itself, which a plain ``+`` would copy into both terms.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from lrp_throughput import _zennit  # noqa: E402  (imports zennit with torchvision stubbed)

#: the stabiliser of zennit's ``Norm`` rule on average pooling in the one-rule composites: ``explain``
#: passes the gradient through pooling, with no stabiliser; with zennit's ``eps`` there (as in its
#: presets, ``EpsilonPlusFlat`` and ``EpsilonGammaBox`` below) a window whose summed input is ~1e-4
#: loses ~1% of its relevance at ``--eps 1e-6``. Not 0: zennit divides by the window's sum.
POOL_EPS = 1e-30


class Residual1d(nn.Module):
    """Conv1d -> BN -> ReLU -> Conv1d -> BN -> ReLU -> Conv1d -> BN, plus the first block's output,
    -> ReLU -> Linear. ``add`` is how the two branches are added: ``None`` for ``+`` (what users
    write; ``explain`` handles it), or zennit's ``Sum`` module (what zennit needs: its backward
    signal is relevance itself, which a plain ``+`` would copy into both branches)."""

    def __init__(self, add: nn.Module | None = None) -> None:
        super().__init__()
        self.conv0 = nn.Conv1d(2, 6, 3, padding=1)
        self.bn0 = nn.BatchNorm1d(6)
        self.conv1 = nn.Conv1d(6, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm1d(6)
        self.conv2 = nn.Conv1d(6, 6, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(6)
        self.relu0, self.relu1, self.relu2 = nn.ReLU(inplace=True), nn.ReLU(inplace=True), nn.ReLU()
        self.add = add
        self.head = nn.Linear(6 * 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu0(self.bn0(self.conv0(x)))
        r = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(h)))))
        s = h + r if self.add is None else self.add(torch.stack([h, r], dim=-1))
        return self.head(self.relu2(s).flatten(1)).squeeze(-1)


class ZennitPFN(nn.Module):
    """The same function as a :class:`explain.ParticleFlowNetwork` built with ``scale=1``, written
    as zennit needs it: the pooling a zennit ``Sum`` module (Norm rule), the pooling scale folded
    into F's first layer (which leaves every contribution ``a_i w_ij`` as it was)."""

    def __init__(self, pfn: nn.Module, sum_module: nn.Module) -> None:
        super().__init__()
        self.phi, self.f = copy.deepcopy(pfn.phi), copy.deepcopy(pfn.f)
        assert pfn.scale == 1.0, "a scale before the first layer would change the first-layer rules"
        with torch.no_grad():
            self.f[0].weight.div_(pfn.pool_scale)
        self.pool = sum_module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.phi(x) * x[..., 3:4].detach()
        return self.f(self.pool(h.transpose(1, 2))).squeeze(-1)


def _randomise(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(0.3 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(n, generator=g))
    return model.double().eval()


def models() -> dict[str, tuple[nn.Module, nn.Module, torch.Tensor, list[tuple[list[str], str]] | None]]:
    """name -> (model, the same function as zennit needs it, inputs, batch-norm pairs for
    zennit's NamedMergeBatchNorm or None for its SequentialMergeBatchNorm)."""
    from zennit.layer import Sum

    import explain as ex

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    img = torch.rand((16, 1, 25, 25), generator=g, dtype=torch.float64)
    img[:, :, :, :8] = 0
    cnn = _randomise(ex.JetImageCNN(channels=4, dense=16), 1)
    mlp = _randomise(nn.Sequential(nn.Linear(7, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8),
                                   nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0)), 3)
    res = _randomise(Residual1d(), 4)
    res_z = Residual1d(Sum()).double().eval()
    res_z.load_state_dict(res.state_dict())
    pfn = ex.ParticleFlowNetwork(phi=(16, 8), f=(16,), scale=1.0).double().eval()
    parts = torch.zeros((16, 12, 4), dtype=torch.float64)
    parts[:, :8, 0] = torch.rand((16, 8), generator=g, dtype=torch.float64)
    parts[:, :8, 1:3] = 0.3 * torch.randn((16, 8, 2), generator=g, dtype=torch.float64)
    parts[:, :8, 3] = 1.0
    pairs = [(["conv0"], "bn0"), (["conv1"], "bn1"), (["conv2"], "bn2")]
    act = _randomise(nn.Sequential(nn.Linear(7, 16), nn.LeakyReLU(0.1), nn.Linear(16, 16), nn.ELU(),
                                   nn.Linear(16, 12), nn.GELU(), nn.Linear(12, 8), nn.Tanh(),
                                   nn.Linear(8, 1), nn.Sigmoid(), nn.Flatten(0)), 5)
    pool = _randomise(nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(8, 8, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Identity(),
        nn.Dropout(0.3), nn.Linear(32, 1, bias=False), nn.Flatten(0)), 6)
    resample = _randomise(nn.Sequential(  # 25 -> 13 -> 26 -> 28 -> 26 -> 28 -> 14 x 14 of 32
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.ReflectionPad2d(1), nn.Conv2d(4, 8, 3),
        nn.ReLU(), nn.ZeroPad2d(1), nn.PixelUnshuffle(2), nn.Conv2d(32, 8, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 1), nn.Flatten(0)), 7)
    decoder = _randomise(nn.Sequential(  # 25 -> 13 -> 7 -> 13 (transposed, strided, grouped) -> 13
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, groups=2), nn.ReLU(),
        nn.ConvTranspose2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 1), nn.Flatten(0)), 8)
    pool_first = _randomise(nn.Sequential(  # 25 -> 12 (pooled input) -> 12 -> 6 -> 4 x 4 of 4
        nn.MaxPool2d(2), nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AvgPool2d(2), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 1),
        nn.Flatten(0)), 9)
    return {
        "CNN (Conv2d, BN2d, MaxPool, Dropout)": (cnn, cnn, img, None),
        "CNN pooling its input before the first convolution": (pool_first, pool_first, img, None),
        "encoder-decoder CNN (strided, grouped ConvTranspose2d)": (decoder, decoder, img, None),
        "CNN (strided, dilated, grouped Conv2d, AvgPool, AdaptiveAvgPool)": (pool, pool, img, None),
        "CNN (bilinear Upsample, ReflectionPad2d, ZeroPad2d, PixelUnshuffle)":
            (resample, resample, img, None),
        "dense (Linear, BN1d)": (mlp, mlp, torch.randn((16, 7), generator=g, dtype=torch.float64), None),
        "residual Conv1d (BN1d, residual add)": (res, res_z, torch.rand((16, 2, 16), generator=g,
                                                                        dtype=torch.float64), pairs),
        "particle flow network (masked sum)": (pfn, ZennitPFN(pfn, Sum()).double().eval(), parts, None),
        "dense (LeakyReLU, ELU, GELU, Tanh, Sigmoid)": (act, act, torch.randn((16, 7), generator=g,
                                                                              dtype=torch.float64), None),
    }


def composites(low: float, high: float, eps: float) -> dict[str, tuple[Callable, Callable]]:
    """name -> (ours, zennit's), each a function of the zennit canonizers."""
    from zennit import composites as zc
    from zennit import rules as zr
    from zennit.types import Activation, AvgPool, Linear

    import explain as ex
    from explain.rules import ACTIVATIONS

    lin = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)

    from zennit.layer import Sum

    up = [(nn.Upsample, zr.Norm(POOL_EPS))]  # LRP-0 through upsampling (the module doc)

    def z_all(rule: Callable[[], object]) -> Callable:
        return lambda c: zc.LayerMapComposite([(Sum, zr.Norm(eps)), (Activation, zr.Pass()),
                                                (AvgPool, zr.Norm(POOL_EPS)), *up, (Linear, rule())],
                                               canonizers=c)

    def z_first(rule: Callable[[], object]) -> Callable:
        return lambda c: zc.SpecialFirstLayerMapComposite(
            [(Sum, zr.Norm(eps)), (Activation, zr.Pass()), (AvgPool, zr.Norm(POOL_EPS)), *up,
             (Linear, zr.Epsilon(eps))],
            [(Linear, rule())], canonizers=c)

    bn = (nn.BatchNorm1d, nn.BatchNorm2d)  # folded by the canonizer; Pass where it cannot be

    def ours_all(rule: object) -> Callable:
        return lambda: ex.Composite([(lin, rule), (bn, ex.Pass(eps)), (ACTIVATIONS, ex.Pass(0.0))])

    def ours_first(rule: object) -> Callable:
        return lambda: ex.Composite([(lin, ex.Epsilon(eps)), (bn, ex.Pass(eps)),
                                     (ACTIVATIONS, ex.Pass(0.0))], first=rule)

    return {
        "EpsilonPlusFlat": (lambda: ex.EpsilonPlusFlat(eps=eps),
                            lambda c: zc.EpsilonPlusFlat(epsilon=eps, stabilizer=eps, layer_map=up,
                                                         canonizers=c)),
        "EpsilonGammaBox": (lambda: ex.EpsilonGammaBox(low, high, gamma=0.25, eps=eps),
                            lambda c: zc.EpsilonGammaBox(low=low, high=high, epsilon=eps, gamma=0.25,
                                                         stabilizer=eps, layer_map=up, canonizers=c)),
        "Epsilon everywhere": (ours_all(ex.Epsilon(eps)), z_all(lambda: zr.Epsilon(eps))),
        "ZPlus everywhere": (ours_all(ex.ZPlus(eps)), z_all(lambda: zr.ZPlus(eps))),
        "Gamma(0.25) everywhere": (ours_all(ex.Gamma(0.25, eps)), z_all(lambda: zr.Gamma(0.25, eps))),
        "Flat first": (ours_first(ex.Flat(eps)), z_first(lambda: zr.Flat(eps))),
        "WSquare first": (ours_first(ex.WSquare(eps)), z_first(lambda: zr.WSquare(eps))),
        "ZBox first": (ours_first(ex.ZBox(low, high, eps)), z_first(lambda: zr.ZBox(low, high, eps))),
    }


def random_cnn(seed: int) -> nn.Module:
    """A sequential CNN drawn at random (``--random``): two to four blocks of a convolution
    (kernel 1-5, stride 1-2, dilation 1-2, zero/reflect/circular/replicate padding or "same",
    grouped, with or without bias), then maybe a batch norm and a ReLU or LeakyReLU, or a max or
    average pooling (also before any convolution), then two Linear layers; batch-norm eps 0."""
    import random

    rng = random.Random(seed)
    c, size, layers = 1, 16, []
    for _ in range(rng.choice([2, 3, 4])):
        kind = rng.choice(["conv", "conv", "conv", "max", "avg"])
        if kind == "conv":
            k, s, d = rng.choice([1, 2, 3, 5]), rng.choice([1, 1, 2]), rng.choice([1, 1, 2])
            pad = rng.choice([0, 1, 2, "same"]) if s == 1 else rng.choice([0, 1])
            mode = rng.choice(["zeros", "zeros", "reflect", "circular", "replicate"])
            out = rng.choice([2, 4, 6])
            groups = rng.choice([1, 2]) if c % 2 == 0 and out % 2 == 0 else 1
            new = size if pad == "same" else (size + 2 * int(pad) - d * (k - 1) - 1) // s + 1
            if new < 2:
                continue
            if (d * (k - 1) + 1) // 2 + 1 >= size if pad == "same" else int(pad) >= size:
                mode = "zeros"  # reflection and its kin need the padding inside the input
            layers.append(nn.Conv2d(c, out, k, stride=s, padding=pad, dilation=d, groups=groups,
                                    bias=rng.random() < 0.7, padding_mode=mode))
            if rng.random() < 0.6:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.1) if rng.random() < 0.3 else nn.ReLU())
            c, size = out, new
        elif size >= 4:
            layers.append(nn.MaxPool2d(2) if kind == "max" else nn.AvgPool2d(2))
            size //= 2
    layers += [nn.Flatten(), nn.Linear(c * size * size, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0)]
    model = _randomise(nn.Sequential(*layers), seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eps = 0.0
    return model


def compare(model: nn.Module, twin: nn.Module, x: torch.Tensor, pairs: list | None,
            eps: float) -> dict[str, float]:
    """composite -> max abs(ours - zennit) / max abs(zennit) on ``x``."""
    from zennit.attribution import Gradient
    from zennit.canonizers import NamedMergeBatchNorm, SequentialMergeBatchNorm

    import explain as ex

    out = {}
    for cname, (ours, theirs) in composites(float(x.min()), float(x.max()), eps).items():
        canon = [NamedMergeBatchNorm(pairs)] if pairs else [SequentialMergeBatchNorm()]
        mine = ex.lrp(model, x, ours(), batch_size=None)
        assert torch.allclose(model(x), twin(x), rtol=1e-12, atol=1e-12)
        xz = x.clone().requires_grad_(True)
        with Gradient(model=twin, composite=theirs(canon)) as attributor:
            _, ref = attributor(xz, attr_output=lambda out: out.detach())  # relevance f(x)
        out[cname] = float((mine - ref).abs().max()) / max(float(ref.abs().max()), 1e-300)
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--eps", type=float, default=1e-6, help="epsilon and stabiliser of every rule")
    ap.add_argument("--random", type=int, default=0, metavar="K",
                    help="instead: K random sequential CNNs (seeds 0..K-1, random_cnn), the largest "
                         "difference per composite over them")
    a = ap.parse_args()
    eps = a.eps
    if _zennit() is None:
        print("zennit not installed (pip install --no-deps zennit==0.5.1): nothing to compare")
        return
    if a.random:
        # three columns: inputs without zeros; with zero pixels (as in jet images) where no average
        # pooling comes before the first layer; and where one does (see the module doc)
        worst: dict[str, list[tuple[float, int]]] = {}
        for seed in range(a.random):
            model = random_cnn(seed)
            x = torch.rand((6, 1, 16, 16), generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64) + 0.01
            first = next(i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear)))
            avg_first = any(isinstance(m, nn.AvgPool2d) for m in list(model)[:first])
            zeros = x.clone()
            zeros[:, :, :, :4] = 0
            for col, inputs in ((0, x), (2 if avg_first else 1, zeros)):
                for cname, d in compare(model, model, inputs, None, eps).items():
                    cell = worst.setdefault(cname, [(-1.0, -1)] * 3)
                    if d > cell[col][0]:
                        cell[col] = (d, seed)
        print(f"\n{a.random} random CNNs (random_cnn), epsilon and stabiliser {eps:g}, batch-norm eps 0;"
              f" largest max abs(ours - zennit) / max abs(zennit) (at seed)\n")
        print("| composite | inputs without zeros | zero pixels | zero pixels, average pooling before "
              "the first layer |")
        print("|---|---:|---:|---:|")
        for cname, cells in worst.items():
            print(f"| {cname} | " + " | ".join("-" if s_ < 0 else f"{d:.1e} ({s_})" for d, s_ in cells)
                  + " |")
        return
    rows = []
    for mname, (model, twin, x, pairs) in models().items():
        diffs: list[dict[str, float]] = []
        for bn_eps in (None, 0.0):  # as built, and with batch-norm eps 0 (see the module doc)
            for m in (*model.modules(), *twin.modules()):
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eps = 1e-5 if bn_eps is None else bn_eps
            diffs.append(compare(model, twin, x, pairs, eps))
        rows += [(mname, cname, diffs[0][cname], diffs[1][cname]) for cname in diffs[0]]
    print(f"\nepsilon and stabiliser {eps:g}\n")
    print("| model | composite | max abs(ours - zennit) / max abs(zennit) | the same, batch-norm eps 0 |")
    print("|---|---|---:|---:|")
    for m, c, d, d0 in rows:
        print(f"| {m} | {c} | {d:.1e} | {d0:.1e} |")
    worst_row = max(rows, key=lambda r: r[3])
    print(f"\nworst with batch-norm eps 0: {worst_row[0]}, {worst_row[1]}: {worst_row[3]:.1e}")


if __name__ == "__main__":
    main()
