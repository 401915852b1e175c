"""LRP: every rule against a slow reference, conservation, LRP-0 == input x gradient, canonizers, hooks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from explain import (
    AllEpsilon,
    Composite,
    Epsilon,
    EpsilonGammaBox,
    EpsilonPlusFlat,
    ExplainError,
    Flat,
    Gamma,
    JetImageCNN,
    MergeBatchNorm,
    ObservableDNN,
    Pass,
    WSquare,
    ZBox,
    ZPlus,
    attribution,
    input_x_gradient,
    lrp,
)


@pytest.fixture(autouse=True)
def _float64():
    """Exact comparisons in double precision; restored after each test."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# ---------------------------------------------------------------- slow reference (dense matrices, loops)
def _dense(layer: nn.Module, in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The layer as ``y = W a + b`` on flattened tensors, found by probing with unit vectors."""
    n = int(np.prod(in_shape))
    with torch.no_grad():
        b = layer(torch.zeros((1, *in_shape))).reshape(-1).numpy()
        eye = torch.eye(n).reshape((n, *in_shape))
        w = (layer(eye).reshape(n, -1).numpy() - b).T
    return w, b


def _stab(z: float, eps: float) -> float:
    return z + eps * (1.0 if z >= 0 else -1.0)


def reference(rule, w, b, a, r_out):
    """R_j = sum_k q_jk / stab(sum_j q_jk + q_bias_k) R_k with q straight from the rule's definition."""
    n_out, n_in = w.shape
    eps, zb = rule.eps, rule.zero_bias
    r_in = np.zeros(n_in)
    for k in range(n_out):
        q = np.zeros(n_in)
        for j in range(n_in):
            wp, wm = max(w[k, j], 0.0), min(w[k, j], 0.0)
            ap, am = max(a[j], 0.0), min(a[j], 0.0)
            if isinstance(rule, Epsilon):
                q[j] = a[j] * w[k, j]
            elif isinstance(rule, ZPlus):
                q[j] = ap * wp + am * wm
            elif isinstance(rule, Gamma):  # the sign of the actual output picks the branch
                y_k = w[k] @ a + b[k]
                g = rule.gamma
                if y_k > 0:
                    q[j] = ap * (w[k, j] + g * wp) + am * (w[k, j] + g * wm)
                elif y_k < 0:
                    q[j] = ap * (w[k, j] + g * wm) + am * (w[k, j] + g * wp)
            elif isinstance(rule, WSquare):
                q[j] = w[k, j] ** 2
            elif isinstance(rule, Flat):
                q[j] = 1.0 if w[k, j] != 0 else 0.0
            elif isinstance(rule, ZBox):
                q[j] = a[j] * w[k, j] - rule.low * wp - rule.high * wm
        bias = (
            0.0
            if zb
            else {
                Epsilon: b[k],
                ZPlus: max(b[k], 0.0),
                Gamma: b[k] + getattr(rule, "gamma", 0) * (max(b[k], 0.0) if w[k] @ a + b[k] > 0
                                                           else min(b[k], 0.0)),
                WSquare: b[k] ** 2,
                Flat: 0.0,
                ZBox: 0.0,  # b - b^+ - b^- cancels
            }[type(rule)]
        )
        if isinstance(rule, Gamma) and w[k] @ a + b[k] == 0:
            continue  # a unit with zero output passes nothing
        z = _stab(q.sum() + bias, eps)
        for j in range(n_in):
            r_in[j] += q[j] / z * r_out[k]
    return r_in


def propagate(layer, rule, a, r_out):
    """Our implementation: one layer, the output relevance injected as ``y * grad``."""
    first = rule.produces_relevance
    comp = Composite([] if first else [(type(layer), rule)], first=rule if first else None, canonizers=[])
    a = a.clone().requires_grad_(True)
    with comp.context(layer):
        y = layer(a)
        (g,) = torch.autograd.grad(y, a, r_out / y.detach())
        return (comp.sink[0] if first else a.detach() * g).reshape(-1).numpy()


RULES = [
    Epsilon(1e-3),
    Epsilon(0.0, zero_bias=True),
    ZPlus(1e-6),
    Gamma(0.25),
    Gamma(0.5, zero_bias=True),
    WSquare(),
    Flat(),
    ZBox(-1.0, 1.0),
]
LAYERS = [
    lambda: nn.Linear(6, 4),
    lambda: nn.Conv1d(2, 3, 3, padding=1),
    lambda: nn.Conv2d(2, 2, 3, padding=1),
    lambda: nn.Conv2d(2, 4, 3, padding=1, groups=2),
    lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
    lambda: nn.ConvTranspose1d(3, 2, 3, padding=1, dilation=2),
]
SHAPES = [(6,), (2, 5), (2, 4, 4), (2, 4, 4), (2, 3, 3), (3, 4)]


@pytest.mark.parametrize("rule", RULES, ids=repr)
@pytest.mark.parametrize("which", range(6), ids=["Linear", "Conv1d", "Conv2d", "grouped Conv2d",
                                                  "strided grouped ConvTranspose2d",
                                                  "dilated ConvTranspose1d"])
def test_rule_matches_slow_reference(rule, which):
    """Each of a batch of three inputs against the reference computed for it alone."""
    torch.manual_seed(which)
    layer = LAYERS[which]()
    shape = SHAPES[which]
    a = torch.rand((3, *shape)) * 2 - (0.5 if isinstance(rule, ZBox) else 0.7)  # mixed signs
    with torch.no_grad():
        r_out = torch.randn_like(layer(a))
    w, b = _dense(layer, shape)
    ref = np.concatenate([reference(rule, w, b, a[i].reshape(-1).numpy(), r_out[i].reshape(-1).numpy())
                          for i in range(len(a))])
    ours = propagate(layer, rule, a, r_out)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)


def _held_spread(layer: nn.Module, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The normalisation at input ``a`` (one sample) as ``y = W a + b`` with its spread held
    constant, written out from the definitions: centring (not for RMSNorm) and division within
    each group of inputs normalised together, then the per-element (LayerNorm, RMSNorm) or
    per-channel (GroupNorm) scale."""
    shape, flat = a.shape, a.reshape(-1)
    n = flat.size
    if isinstance(layer, nn.GroupNorm):
        groups = np.repeat(np.arange(layer.num_groups), n // layer.num_groups)
        scale = np.repeat(layer.weight.detach().numpy(), n // shape[0])
        shift = np.repeat(layer.bias.detach().numpy(), n // shape[0])
    else:
        groups = np.zeros(n, dtype=int)
        scale = np.broadcast_to(layer.weight.detach().numpy(), shape).reshape(-1)
        bias = getattr(layer, "bias", None)
        shift = np.zeros(n) if bias is None else np.broadcast_to(bias.detach().numpy(), shape).reshape(-1)
    w = np.zeros((n, n))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        x = flat[idx]
        if isinstance(layer, nn.RMSNorm):
            centring, spread = np.eye(len(idx)), np.sqrt(np.mean(x**2) + torch.finfo(torch.float64).eps)
        else:
            centring, spread = np.eye(len(idx)) - 1.0 / len(idx), np.sqrt(np.var(x) + layer.eps)
        w[np.ix_(idx, idx)] = centring / spread
    return scale[:, None] * w, shift


NORM_LAYERS = {
    "LayerNorm": (lambda: nn.LayerNorm(6), (6,)),
    "LayerNorm over two dimensions": (lambda: nn.LayerNorm((3, 4)), (3, 4)),
    "RMSNorm": (lambda: nn.RMSNorm(5), (5,)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (4, 3)),
}


@pytest.mark.parametrize("rule", [Epsilon(1e-3), Epsilon(0.0, zero_bias=True), Pass(0.0)], ids=repr)
@pytest.mark.parametrize("which", NORM_LAYERS, ids=list(NORM_LAYERS))
def test_normalisations_follow_the_slow_reference_with_their_spread_held(rule, which):
    """LayerNorm, RMSNorm, GroupNorm: the epsilon rule on the map with the input's spread held
    constant (the LN rule of Ali et al. 2022), Pass as element-wise."""
    torch.manual_seed(5)
    make, shape = NORM_LAYERS[which]
    layer = make()
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_()
    a = torch.rand((3, *shape)) * 2 - 0.7
    with torch.no_grad():
        r_out = torch.randn_like(layer(a))
    ours = propagate(layer, rule, a, r_out)
    if isinstance(rule, Pass):
        ref = r_out.reshape(-1).numpy()  # each output's relevance to the input at its position
    else:
        ref = np.concatenate([reference(rule, *_held_spread(layer, a[i].numpy()), a[i].reshape(-1).numpy(),
                                        r_out[i].reshape(-1).numpy()) for i in range(len(a))])
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)


def test_a_rule_that_modifies_weights_is_refused_on_a_normalisation():
    model = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 1))
    with pytest.raises(ExplainError, match=r"ZPlus.* modifies weights, which a LayerNorm .* give it "
                                           r"Epsilon or Pass"):
        lrp(model, torch.rand((3, 4)), Composite([(nn.Linear, Epsilon()), (nn.LayerNorm, ZPlus())]))


@pytest.mark.parametrize("norm", ["LayerNorm", "RMSNorm", "GroupNorm"])
def test_every_preset_conserves_through_a_normalisation(norm):
    """A bias-free tagger with a normalisation layer (a particle network with LayerNorm, a CNN
    with GroupNorm) conserves relevance under every preset, which gives the layer epsilon."""
    torch.manual_seed(6)
    layer = {"LayerNorm": nn.LayerNorm(8, bias=False), "RMSNorm": nn.RMSNorm(8),
             "GroupNorm": nn.GroupNorm(2, 8)}[norm]
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        if getattr(layer, "bias", None) is not None:
            layer.bias.zero_()
    conv = isinstance(layer, nn.GroupNorm)
    first = nn.Conv1d(2, 8, 3, bias=False) if conv else nn.Linear(4, 8, bias=False)
    model = nn.Sequential(first, layer, nn.ReLU(), nn.Flatten(), nn.Linear(32 if conv else 8, 1, bias=False))
    x = torch.rand((5, 2, 6)) if conv else torch.rand((5, 4))
    f = model(x)[:, 0].detach()
    for composite in (AllEpsilon(eps=1e-12), EpsilonPlusFlat(eps=1e-12),
                      EpsilonGammaBox(float(x.min()), float(x.max()), eps=1e-12)):
        total = lrp(model, x, composite, batch_size=None).reshape(len(x), -1).sum(1)
        assert torch.all((total - f).abs() <= 1e-5 * f.abs()), (composite, total, f)


def test_pass_rule_hands_relevance_through_batchnorm():
    bn = nn.BatchNorm1d(5).eval()
    bn.running_mean.uniform_(-1, 1)
    a = torch.randn(1, 5)
    r_out = torch.randn(1, 5)
    np.testing.assert_allclose(propagate(bn, Pass(0.0), a, r_out), r_out.reshape(-1).numpy(), rtol=1e-10)


# ---------------------------------------------------------------- whole networks
def _randomise_bn(model):
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
    return model.eval()


class ResidualConv1d(nn.Module):
    """Conv1d, unfoldable BatchNorm after a ReLU, residual addition, average and adaptive pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 4, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.bn = nn.BatchNorm1d(4)
        self.conv2 = nn.Conv1d(4, 4, 3, padding=1)
        self.pool = nn.AvgPool1d(2)
        self.gap = nn.AdaptiveAvgPool1d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(8, 1))

    def forward(self, x):
        h = self.bn(self.act(self.conv1(x)))
        h = self.act(h + self.conv2(h))
        return self.head(self.gap(self.pool(h))).squeeze(-1)


@torch.no_grad()
def without_biases(model):
    """Zero every bias, batch-norm shifts included (``running_mean`` and ``bias``), in place."""
    for m in model.modules():
        if getattr(m, "bias", None) is not None:
            m.bias.zero_()
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.zero_()
        if hasattr(m, "affine_params"):
            m.mean.zero_()
    return model


def _networks(zero_biases=False):
    torch.manual_seed(0)  # the weights must not depend on which tests ran before in this process
    cnn = _randomise_bn(JetImageCNN(channels=4, dense=16))
    dnn = _randomise_bn(ObservableDNN(np.linspace(-1, 1, 7), np.linspace(0.5, 2, 7), hidden=(16, 8)))
    res = _randomise_bn(ResidualConv1d())
    if zero_biases:
        cnn, dnn, res = without_biases(cnn), without_biases(dnn), without_biases(res)
    g = torch.Generator().manual_seed(1)
    img = torch.rand((12, 1, 25, 25), generator=g)
    img[:, :, :, :8] = 0  # empty regions, as in jet images
    return [(cnn, img), (dnn, torch.randn((12, 7), generator=g)), (res, torch.rand((12, 2, 16), generator=g))]


# z+ keeps only the positive contributions: a unit fed only negatively (possible in the residual branch,
# which has no ReLU before the addition) cannot pass its relevance on, so z+ is not tested there.
CONSERVING = [
    (n, c)
    for n in range(3)
    for c in (EpsilonPlusFlat, EpsilonGammaBox, AllEpsilon)
    if not (n == 2 and c is EpsilonPlusFlat)
]


@pytest.mark.parametrize(("net", "composite"), CONSERVING, ids=lambda v: getattr(v, "__name__", str(v)))
def test_relevance_is_conserved_without_biases(composite, net):
    model, x = _networks(zero_biases=True)[net]
    f = model(x).detach()
    kwargs = {"low": float(x.min()), "high": float(x.max())} if composite is EpsilonGammaBox else {}
    rel = lrp(model, x, composite(eps=1e-12, **kwargs))
    total = rel.reshape(len(x), -1).sum(1)
    # relative to f (a sample whose output is exactly 0 must get exactly 0 relevance)
    assert torch.all((total - f).abs() <= 1e-5 * f.abs()), float(((total - f).abs() / f.abs()).max())


def test_relevance_is_conserved_on_the_trained_taggers(jets, trained_cnn, trained_dnn):
    for (model, _), x in ((trained_cnn, jets.images[:64]), (trained_dnn, jets.x_obs[:64])):
        m = without_biases(copy.deepcopy(model).double())
        xt = torch.as_tensor(x, dtype=torch.float64)
        f = m(xt).detach()
        rel = lrp(m, xt, EpsilonPlusFlat(eps=1e-12))
        assert torch.all((rel.reshape(len(xt), -1).sum(1) - f).abs() / f.abs() <= 1e-5)


@pytest.mark.parametrize("net", range(3), ids=["cnn", "dnn", "residual-conv1d"])
def test_all_epsilon_lrp_equals_input_times_gradient(net):
    model, x = _networks()[net]
    rel = lrp(model, x, AllEpsilon(eps=0.0))
    ixg = input_x_gradient(model, x)
    assert float(ixg.abs().max()) > 0
    torch.testing.assert_close(rel, ixg, rtol=1e-9, atol=1e-12)


class _SharedLayer(nn.Module):
    """A dense network that calls one Linear twice in a row (weight sharing, a recurrent step)."""

    def __init__(self, twin: _SharedLayer | None = None) -> None:
        super().__init__()
        self.first, self.mid, self.last = nn.Linear(5, 8), nn.Linear(8, 8), nn.Linear(8, 1)
        self.mid2 = None if twin is None else copy.deepcopy(twin.mid)  # the unshared twin's copy
        if twin is not None:
            self.first, self.mid, self.last = (copy.deepcopy(m) for m in (twin.first, twin.mid, twin.last))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.mid(torch.relu(self.first(x))))
        h = torch.relu((self.mid2 or self.mid)(h))
        return self.last(h).squeeze(-1)


@pytest.mark.parametrize("composite", [
    lambda: EpsilonPlusFlat(eps=1e-9), lambda: EpsilonGammaBox(-3.0, 3.0, eps=1e-9),
    lambda: AllEpsilon(eps=0.0),
    lambda: Composite([(nn.Linear, Gamma(0.25))]), lambda: Composite([(nn.Linear, ZPlus())]),
], ids=["EpsilonPlusFlat", "EpsilonGammaBox", "AllEpsilon", "Gamma", "ZPlus"])
def test_a_layer_called_twice_gets_its_rule_at_each_call(composite):
    # each call is its own layer of the graph: the relevance must equal that of a twin holding two
    # copies of the layer (a rule that kept one input per module would mix the two calls)
    torch.manual_seed(3)
    shared = _SharedLayer().eval()
    twin = _SharedLayer(twin=shared).eval()
    x = torch.randn((16, 5))
    torch.testing.assert_close(shared(x), twin(x), rtol=0, atol=0)
    rel, ref = lrp(shared, x, composite()), lrp(twin, x, composite())
    assert float(ref.abs().max()) > 0
    torch.testing.assert_close(rel, ref, rtol=1e-12, atol=1e-14)


def test_lrp_leaves_the_model_as_it_was():
    model, x = _networks()[0]
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    lrp(model, x, EpsilonPlusFlat())
    assert model.training and flags == [p.requires_grad for p in model.parameters()]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not any(m._forward_hooks for m in model.modules())


def test_merge_batchnorm_keeps_the_function_and_restores_weights():
    model, x = _networks()[0]
    before = model(x).detach()
    weights = [p.clone() for p in model.parameters()]
    canon = MergeBatchNorm()
    with canon(model) as m:
        assert len(canon.merged) == 2
        torch.testing.assert_close(m(x), before, rtol=1e-10, atol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    torch.testing.assert_close(model(x), before, rtol=0, atol=0)


def test_the_canonizer_finds_the_pairs_again_when_the_model_changes():
    """The foldable pairs are traced once per model (tracing cost more than LRP on a batch of 256
    jet images); a model whose submodules were replaced is traced again, so it gets what a fresh
    copy gets, not the pairs of its former self."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 1)).double().eval()
    model[1].running_mean.uniform_(-0.2, 0.2)
    x = torch.rand(5, 1, 6, 6, dtype=torch.float64)
    canon = MergeBatchNorm()
    with canon(model):
        assert len(canon.merged) == 1
    with canon(model):  # the second time from the cache: the same pair
        assert canon.merged == [(model[0], model[1])]
    model[1] = nn.Identity()  # the batch norm removed: nothing to fold, no stale pair
    with canon(model):
        assert canon.merged == []
    torch.testing.assert_close(lrp(model, x, EpsilonPlusFlat()),
                               lrp(copy.deepcopy(model), x, EpsilonPlusFlat()), rtol=0, atol=0)
    model[1] = nn.BatchNorm2d(3).double().eval()  # and back: a new batch norm is folded
    with canon(model):
        assert canon.merged == [(model[0], model[1])]


@pytest.mark.parametrize(("dims", "conv_kw", "boxed"), [
    (2, dict(kernel_size=5, padding=2), True),
    (2, dict(kernel_size=3, padding=0), True),
    (2, dict(kernel_size=(3, 5), padding=(2, 1)), True),
    (2, dict(kernel_size=3, padding="same"), True),
    (2, dict(kernel_size=4, padding="valid"), True),
    (1, dict(kernel_size=5, padding=1), True),
    (3, dict(kernel_size=3, padding=1), True),
    (2, dict(kernel_size=3, padding=1, stride=2), False),
    (2, dict(kernel_size=3, padding=2, dilation=2), False),
    (2, dict(kernel_size=3, padding=1, padding_mode="reflect"), False),
    (2, dict(kernel_size=2, padding="same"), False),
])
def test_the_flat_rules_box_sum_equals_the_transpose_convolution(monkeypatch, dims, conv_kw, boxed):
    """The flat rule hands relevance back through a kernel of ones; where that transpose is a
    box sum (stride 1, no dilation, zero padding) it is computed as one, without the convolution
    (4x faster on jet images). Both ways give the same relevance, in every geometry."""
    from explain import layers

    torch.manual_seed(1)
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](2, 3, **conv_kw).double()
    x = torch.rand((4, 2) + (7,) * dims, dtype=torch.float64)
    n_out = conv(x).flatten(1).shape[1]
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(n_out, 1)).double().eval()
    assert (layers.layer_params(conv).box_sum is not None) == boxed
    fast = lrp(model, x, EpsilonPlusFlat())
    monkeypatch.setattr(layers, "_box_sum", lambda conv: None)
    assert layers.layer_params(conv).box_sum is None
    torch.testing.assert_close(fast, lrp(model, x, EpsilonPlusFlat()), rtol=1e-12, atol=1e-15)


def test_huge_finite_inputs_are_not_taken_for_infinite_ones():
    """The finiteness check sums the inputs first; a sum that overflows on finite values must
    not be reported as an infinite input."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    x = torch.full((3, 4), 1e308, dtype=torch.float64)
    assert torch.isinf(x.sum())
    assert lrp(model, x, EpsilonPlusFlat()).shape == x.shape


def test_unfoldable_batchnorm_is_left_alone_by_the_canonizer():
    model, _ = _networks()[2]
    canon = MergeBatchNorm()
    with canon(model):
        assert canon.merged == []


def test_lrp_on_float32_cnn_is_finite_and_float32():
    model = JetImageCNN().float().eval()
    rel = lrp(model, torch.rand(512, 1, 25, 25, dtype=torch.float32))
    assert rel.dtype == torch.float32 and torch.isfinite(rel).all()


def test_errors_state_the_rule_and_value():
    model, x = _networks()[1]
    with pytest.raises(ExplainError, match="target must lie in"):
        lrp(model, x, target=3)
    with pytest.raises(ExplainError, match="eps must be a finite number >= 0; got -1"):
        Epsilon(-1)
    two = nn.Sequential(nn.Linear(7, 2))
    with pytest.raises(ExplainError, match="2 outputs; pass target="):
        lrp(two, x)


def test_zbox_conserves_after_batchnorm_folding_gave_the_first_layer_a_bias():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    with torch.no_grad():
        conv.bias.copy_(torch.tensor([0.7, -0.4, 0.2]))
    rule = ZBox(0.0, 1.0, eps=0.0)
    a = torch.rand((1, 1, 5, 5))
    with torch.no_grad():
        r_out = torch.randn_like(conv(a))
    r_in = propagate(conv, rule, a, r_out)
    np.testing.assert_allclose(r_in.sum(), r_out.sum().item(), rtol=1e-10)


def test_gamma_on_negative_outputs_stays_bounded():
    """An output of -0.5 whose plain ``w + gamma w^+`` denominator would be exactly 0: the negative
    branch keeps it at -1.125 and the relevance finite and of the output's size."""
    lin = nn.Linear(8, 1)
    with torch.no_grad():
        lin.weight.fill_(0.25)
        lin.bias.fill_(-2.5)
    a = torch.ones((1, 8))
    with torch.no_grad():
        y = lin(a)
    assert y.item() == -0.5
    r_in = propagate(lin, Gamma(0.25, eps=0.0), a, y)
    np.testing.assert_allclose(r_in, np.full(8, 0.25 * (-0.5) / (2.0 - 3.125)), rtol=1e-12)


class _Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


@pytest.mark.parametrize("make", [nn.Tanh, nn.GELU, nn.Softplus, nn.Sigmoid, lambda: nn.LeakyReLU(0.1),
                                  nn.ELU, nn.SiLU],
                         ids=["Tanh", "GELU", "Softplus", "Sigmoid", "LeakyReLU", "ELU", "SiLU"])
def test_element_wise_activations_pass_relevance_unchanged(make):
    """As zennit's presets do (Pass on its activations): against a hand-written LRP-0 of
    Linear -> activation -> Linear without biases, where relevance is conserved exactly."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6, bias=False), make(), nn.Linear(6, 1, bias=False)).double()
    x = torch.rand((5, 4), dtype=torch.float64)
    w1, w2 = model[0].weight.detach(), model[2].weight.detach()[0]
    h = x @ w1.T
    a = model[1](h)
    r_h = a * w2  # LRP-0 of the last layer (f = sum_j a_j w2_j), then Pass: unchanged
    ref = (x[:, None, :] * w1[None] / h[:, :, None] * r_h[:, :, None]).sum(1)
    rel = lrp(model, x, AllEpsilon(eps=0.0), batch_size=None)
    np.testing.assert_allclose(rel.numpy(), ref.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(rel.sum(1).numpy(), model(x)[:, 0].detach().numpy(), rtol=1e-10)
    assert torch.isfinite(lrp(model, x, EpsilonPlusFlat(), batch_size=None)).all()


STRUCTURAL = {
    "Upsample-nearest": lambda: nn.Upsample(scale_factor=2),
    "Upsample-bilinear": lambda: nn.Upsample(scale_factor=2, mode="bilinear"),
    "Upsample-bicubic": lambda: nn.Upsample(scale_factor=1.5, mode="bicubic", align_corners=True),
    "ZeroPad2d": lambda: nn.ZeroPad2d(1),
    "ConstantPad2d-0": lambda: nn.ConstantPad2d((1, 0, 2, 1), 0.0),
    "ReflectionPad2d": lambda: nn.ReflectionPad2d(1),
    "ReplicationPad2d": lambda: nn.ReplicationPad2d(2),
    "CircularPad2d": lambda: nn.CircularPad2d(1),
    "PixelShuffle": lambda: nn.PixelShuffle(2),
    "PixelUnshuffle": lambda: nn.PixelUnshuffle(2),
    "ChannelShuffle": lambda: nn.ChannelShuffle(2),
}


def _around(layer: nn.Module) -> tuple[nn.Module, torch.Tensor]:
    """A bias-free CNN with ``layer`` between its two convolutions, and positive inputs."""
    torch.manual_seed(4)
    x = torch.rand((6, 2, 10, 10), dtype=torch.float64)
    head = nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.ReLU(), layer).double()
    with torch.no_grad():
        c = head(x).shape[1]
        conv = nn.Conv2d(c, 3, 3, bias=False).double()
        n = conv(head(x)).numel() // len(x)
    return nn.Sequential(*head, conv, nn.ReLU(), nn.Flatten(), nn.Linear(n, 1, bias=False)).double(), x


@pytest.mark.parametrize("make", STRUCTURAL.values(), ids=STRUCTURAL.keys())
def test_linear_layers_without_a_constant_pass_their_gradient_and_conserve(make):
    """Upsampling, padding by zeros or by the input's own values, shuffles: linear maps without a
    constant term, so their plain gradient is LRP-0 and they need no rule (as pooling)."""
    model, x = _around(make())
    f = model(x)[:, 0].detach()
    x_req = x.clone().requires_grad_(True)
    model(x_req).sum().backward()
    rel0 = lrp(model, x, AllEpsilon(eps=0.0), batch_size=None)
    np.testing.assert_allclose(rel0.numpy(), (x * x_req.grad).numpy(), rtol=1e-10, atol=1e-14)
    for composite in (AllEpsilon(eps=1e-12), EpsilonPlusFlat(eps=1e-12)):
        total = lrp(model, x, composite, batch_size=None).reshape(len(x), -1).sum(1)
        assert torch.all((total - f).abs() <= 1e-5 * f.abs()), (composite, total, f)


def test_transposed_convolutions_take_the_convolution_rules_and_conserve():
    """A decoder's strided, grouped transposed convolution (zennit's presets give its
    ``Convolution`` types, transposed ones included, the convolution rule): LRP-0 is input x
    gradient, and every preset conserves on a bias-free model."""
    # a ReLU after it, as before every convolution here: z+ cannot pass on the relevance of a unit
    # fed only negatively (see CONSERVING)
    model, x = _around(nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False),
                                     nn.ReLU()))
    assert isinstance(model[2][0], nn.ConvTranspose2d)
    f = model(x)[:, 0].detach()
    x_req = x.clone().requires_grad_(True)
    model(x_req).sum().backward()
    rel0 = lrp(model, x, AllEpsilon(eps=0.0), batch_size=None)
    np.testing.assert_allclose(rel0.numpy(), (x * x_req.grad).numpy(), rtol=1e-10, atol=1e-14)
    for composite in (EpsilonPlusFlat(eps=1e-12), AllEpsilon(eps=1e-12),
                      EpsilonGammaBox(float(x.min()), float(x.max()), eps=1e-12)):
        total = lrp(model, x, composite, batch_size=None).reshape(len(x), -1).sum(1)
        assert torch.all((total - f).abs() <= 1e-5 * f.abs()), (composite, total, f)


def test_padding_by_a_constant_other_than_zero_is_refused_by_name():
    model, x = _around(nn.ConstantPad2d(1, 0.5))
    with pytest.raises(ExplainError, match=r"2 \(ConstantPad2d\)"):
        lrp(model, x, EpsilonPlusFlat())


@pytest.mark.parametrize("make", [lambda: nn.InstanceNorm1d(6), _Swish, lambda: nn.Softmax(dim=1)],
                         ids=["InstanceNorm1d", "Swish", "Softmax"])
def test_a_layer_no_rule_covers_is_refused_by_name(make):
    layer = make()
    model = nn.Sequential(nn.Linear(4, 6), layer, nn.Linear(6, 1))
    x = torch.rand((3, 4))
    with pytest.raises(ExplainError, match=rf"1 \({type(layer).__name__}\).*unsupported='gradient'") as err:
        lrp(model, x, EpsilonPlusFlat())
    assert ("without its final Softmax" in str(err.value)) == isinstance(layer, nn.Softmax)
    with pytest.warns(RuntimeWarning, match=type(layer).__name__):
        rel = lrp(model, x, EpsilonPlusFlat(unsupported="gradient"))
    assert torch.isfinite(torch.as_tensor(rel)).all()


class _Scaled(nn.Module):
    """A block with a child and a parameter of its own, applied outside any child."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 6)
        self.scale = nn.Parameter(torch.full((6,), 2.0))

    def forward(self, x):
        return torch.tanh(self.lin(x)) * self.scale


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.head = nn.Linear(4, 8), nn.Linear(8, 1)
        self.att = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        h = torch.relu(self.emb(x))
        return self.head(torch.relu(self.att(h, h, h)[0]).sum(1))[:, 0]


def _dense_map(unsupported: str = "error") -> Composite:
    """Epsilon on Linear layers only: no rule for attention."""
    return Composite([(nn.Linear, Epsilon(1e-6))], unsupported=unsupported)


@pytest.mark.parametrize(("make", "shape", "named", "composite"), [
    (_Attention, (3, 5, 4), r"att \(MultiheadAttention\)", _dense_map),
    (lambda: nn.Sequential(_Scaled(), nn.Linear(6, 1)), (3, 4), r"0 \(_Scaled\)",
     lambda unsupported="error": EpsilonPlusFlat(unsupported=unsupported)),
], ids=["MultiheadAttention", "custom block with its own parameter"])
def test_a_module_computing_with_its_own_parameters_is_refused_by_name(make, shape, named, composite):
    """Only leaf layers were checked: attention (its in_proj_weight on the module itself, its
    out_proj a Linear child) ran with no error, relevance 2.7x the output. (The presets give
    attention its rule: :func:`test_attention_holds_its_weights_and_conserves`.)"""
    model, x = make().eval(), torch.rand(shape)
    with pytest.raises(ExplainError, match=rf"no LRP rule covers the layer\(s\) {named}"):
        lrp(model, x, composite())
    with pytest.warns(RuntimeWarning, match=named):
        lrp(model, x, composite(unsupported="gradient"))


def _ah_reference(att: nn.MultiheadAttention, h: torch.Tensor, r_out: torch.Tensor) -> np.ndarray:
    """LRP-0 through attention with its weights held (the AH rule), written with loops from the
    definition on one sample (positions x features, self-attention): the map from the value input
    to the output, its Jacobian W, then R_j = sum_k h_j W_kj / y_k R_k."""
    e, heads = att.embed_dim, att.num_heads
    d = e // heads
    wq, wk, wv = (att.in_proj_weight[i * e:(i + 1) * e].detach().numpy() for i in range(3))
    wo = att.out_proj.weight.detach().numpy()
    x = h.detach().numpy()
    n = x.shape[0]
    q, k = x @ wq.T, x @ wk.T
    big = np.zeros((n * e, n * e))  # output (position, feature) <- value input (position, feature)
    for hd in range(heads):
        sl = slice(hd * d, (hd + 1) * d)
        s = q[:, sl] @ k[:, sl].T / np.sqrt(d)
        a = np.exp(s - s.max(1, keepdims=True))
        a /= a.sum(1, keepdims=True)
        for i in range(n):
            for j in range(n):  # out_i += a_ij W_o[:, head] W_v[head, :] x_j
                big[i * e:(i + 1) * e, j * e:(j + 1) * e] += a[i, j] * wo[:, sl] @ wv[sl, :]
    y = big @ x.reshape(-1)
    return x.reshape(-1) * (big.T @ (r_out.detach().numpy().reshape(-1) / y))


@pytest.mark.parametrize("batch_first", [True, False])
def test_attention_holds_its_weights_and_conserves(batch_first):
    """Attention takes epsilon on its value path with the softmax weights held constant (the AH
    rule of Ali et al. 2022): LRP-0 matches a reference written from the definition, and a
    bias-free attention tagger conserves relevance under every preset."""
    torch.manual_seed(7)
    att = nn.MultiheadAttention(6, 2, bias=False, batch_first=batch_first).eval()
    h = torch.rand((3, 4, 6)) if batch_first else torch.rand((4, 3, 6))
    with torch.no_grad():
        r_out = torch.randn_like(att(h, h, h)[0])
    h_req = h.clone().requires_grad_(True)
    with AllEpsilon(eps=0.0).context(att):
        y = att(h_req, h_req, h_req)[0]
        (g,) = torch.autograd.grad(y, h_req, r_out / y.detach())
    ours = (h * g).numpy()
    for b in range(3):
        sample = (slice(None), b) if not batch_first else (b,)
        ref = _ah_reference(att, h[sample], r_out[sample])
        np.testing.assert_allclose(ours[sample].reshape(-1), ref, rtol=1e-8, atol=1e-12)

    model = _Attention().eval()
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.MultiheadAttention)):
            for name, p in m.named_parameters(recurse=False):
                if "bias" in name:
                    p.data.zero_()
    x = torch.rand((5, 5, 4))
    f = model(x).detach()
    for composite in (AllEpsilon(eps=1e-12), EpsilonPlusFlat(eps=1e-12)):
        total = lrp(model, x, composite, batch_size=None).reshape(len(x), -1).sum(1)
        assert torch.all((total - f).abs() <= 1e-5 * f.abs()), (composite, total, f)


class _Encoder(nn.Module):
    """A bias-free particle transformer in miniature: embedding, one encoder layer (attention,
    LayerNorm, feed-forward), sum over particles, a linear head."""

    def __init__(self, activation):
        super().__init__()
        self.emb, self.head = nn.Linear(4, 8, bias=False), nn.Linear(8, 1, bias=False)
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation, bias=False,
                                              batch_first=True)

    def forward(self, x):
        return self.head(self.enc(torch.relu(self.emb(x))).sum(1))[:, 0]


@pytest.mark.parametrize("activation", ["relu", nn.GELU()], ids=["relu", "GELU module"])
def test_a_transformer_encoder_layer_conserves_under_every_preset(activation):
    torch.manual_seed(8)
    model, x = _Encoder(activation).eval(), torch.rand((4, 6, 4))
    f = model(x).detach()
    for composite in (AllEpsilon(eps=1e-12), EpsilonPlusFlat(eps=1e-12)):
        total = lrp(model, x, composite, batch_size=None).reshape(len(x), -1).sum(1)
        assert torch.all((total - f).abs() <= 1e-5 * f.abs()), (composite, total, f)


def test_a_transformer_layer_applying_a_function_activation_is_refused_by_name():
    """``activation="gelu"`` is a function inside the layer's forward, which no hook sees: its
    gradient missed the output by 2% in silence."""
    with pytest.raises(ExplainError, match=r"enc \(TransformerEncoderLayer applying its activation as "
                                           r"the function gelu; pass it as a module, e.g. "
                                           r"activation=nn.GELU\(\)\)"):
        lrp(_Encoder("gelu").eval(), torch.rand((2, 6, 4)), EpsilonPlusFlat())


def test_attention_refuses_other_rules_and_extra_keys_by_name():
    model = _Attention().eval()
    with pytest.raises(ExplainError, match=r"attention takes the epsilon rule .* got ZPlus"):
        lrp(model, torch.rand((2, 5, 4)),
            Composite([(nn.Linear, Epsilon()), (nn.MultiheadAttention, ZPlus())]))
    model.att = nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=True).eval()
    with pytest.raises(ExplainError, match=r"add_bias_kv or add_zero_attn is not supported"):
        lrp(model, torch.rand((2, 5, 4)), EpsilonPlusFlat())


def test_bad_inputs_and_batchnorm_without_statistics_are_clear_errors():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)).float()
    with pytest.raises(ExplainError, match=r"torch\.float64 and the model's parameters torch\.float32"):
        lrp(model, torch.rand((2, 4), dtype=torch.float64))
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 1))
    with pytest.raises(ExplainError, match="batch first"):
        lrp(conv, torch.rand((5, 5)))  # no batch and no channel dimension
    bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False), nn.ReLU(),
                       nn.Linear(3, 1)).eval()
    with pytest.raises(ExplainError, match="track_running_stats=False"):
        lrp(bn, torch.rand((4, 4)), EpsilonPlusFlat(), batch_size=None)


@pytest.mark.parametrize(("call", "match"), [
    (lambda m, x: lrp(m, x, batch_size=0), r"batch_size must be an int >= 1 \(or None: .*\), got 0"),
    (lambda m, x: lrp(m, x, batch_size=-1), r"batch_size must be an int >= 1 .* got -1"),
    (lambda m, x: attribution.gradient(m, x, batch_size=2.5), r"batch_size must be an int >= 1 .* got 2\.5"),
    (lambda m, x: lrp(m, x, composite="epsilon"), r"composite must be an explain Composite .* got 'epsilon'"),
    (lambda m, x: lrp(lambda t: m(t), x), r"lrp needs the model as a torch.nn.Module \(.*\), got function"),
    (lambda m, x: attribution.input_x_gradient(lambda t: m(t), x),
     r"input_x_gradient needs the model as a torch.nn.Module"),
    (lambda m, x: lrp(m, torch.where(torch.arange(4) == 2, float("nan"), x)),
     r"inputs must be finite; got 3 NaN or infinite values, the first at index \(0, 2\)"),
    (lambda m, x: lrp(m, torch.ones((3, 4), dtype=torch.int64)),
     r"inputs must be floating point \(relevance is a gradient\); got torch.int64"),
    (lambda m, x: lrp(m, x, target="a"), r"target must be an int \(the output's index\) or None, got 'a'"),
    (lambda m, x: Epsilon(float("nan")), r"eps must be a finite number >= 0; got nan"),
    (lambda m, x: Gamma(float("inf")), r"gamma must be a finite number >= 0; got inf"),
    (lambda m, x: ZBox(1.0, 0.0), r"ZBox needs low <= high \(the bounds of the input\); got low=1.0"),
])
def test_bad_arguments_of_an_attribution_are_one_clear_error(call, match):
    """A zero batch size ran the whole batch, a negative one ended in torch.cat's error, a
    string composite or a plain function as the model in an AttributeError, a NaN input gave
    NaN relevance in silence."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ExplainError, match=match):
        call(model, torch.rand((3, 4)))


@pytest.mark.parametrize("norm", ["weight_norm", "parametrized"])
def test_merge_batchnorm_leaves_weight_normalised_layers_alone(norm):
    torch.manual_seed(3)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    if norm == "weight_norm":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = nn.utils.weight_norm(conv)
    else:
        conv = nn.utils.parametrizations.weight_norm(conv)
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    model = nn.Sequential(conv, bn, nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 1)).eval()
    x = torch.rand((2, 1, 4, 4))
    with torch.no_grad():
        ref = model(x)
    comp = EpsilonPlusFlat()
    with comp.context(model) as m, torch.no_grad():
        during = m(x)
    torch.testing.assert_close(during, ref)  # the function is the same during LRP
    rel = lrp(model, x, EpsilonPlusFlat(zero_bias=True, eps=0.0))
    assert torch.isfinite(rel).all()


def test_epsilon_gamma_box_puts_the_box_rule_on_the_first_convolution_only():
    # zennit's namesake: z^B is for bounded pixel inputs; a network without convolutions gets epsilon
    torch.manual_seed(3)
    mlp = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    x = torch.randn((6, 5), dtype=torch.float64)
    box = lrp(mlp, x, EpsilonGammaBox(low=-3.0, high=3.0, eps=1e-9))
    eps = lrp(mlp, x, AllEpsilon(eps=1e-9))
    torch.testing.assert_close(box, eps, rtol=1e-12, atol=1e-15)
    cnn, img = _networks()[0]
    first = lrp(cnn, img, EpsilonGammaBox(low=0.0, high=1.0))
    no_box = lrp(cnn, img, Composite([((nn.Conv2d,), Gamma(0.25)), (nn.Linear, Epsilon()),
                                      ((nn.BatchNorm2d,), Pass())]))
    assert float((first - no_box).abs().max()) > 1e-3 * float(no_box.abs().max())  # the box rule acted


@pytest.mark.parametrize("first", [Flat(), WSquare(), ZBox(0.0, 1.0)], ids=repr)
def test_first_layer_rules_warn_nothing_and_restore_the_convolution_backend(first):
    """The first-layer rules run PyTorch's own convolutions (oneDNN's backward is slow on one-channel
    images) and must leave the backend as they found it, without a warning."""
    import warnings

    cnn = JetImageCNN(n_pixels=9, channels=2, depth=1, dense=4).eval()
    comp = Composite([((nn.Conv2d, nn.Linear), Epsilon()), ((nn.BatchNorm2d,), Pass())], first=first)
    before = torch.backends.mkldnn.enabled
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rel = lrp(cnn, torch.rand((3, 1, 9, 9)), comp)
    assert not [str(w.message) for w in seen] and rel.shape == (3, 1, 9, 9)
    assert torch.backends.mkldnn.enabled == before


class _Transposed(nn.Module):
    """A Linear over channels applied to the input transposed: the first layer sees a
    permutation of the input, not the input element for element."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.transpose(1, 2)).sum((1, 2))


@pytest.mark.parametrize("first", [Flat(), WSquare(), ZBox(0.0, 1.0)], ids=repr)
@pytest.mark.parametrize("before", ["avg", "max", "transpose"])
def test_a_first_layer_rule_behind_pooling_or_a_permutation_follows_the_slow_reference(first, before):
    """The first-layer rule's relevance went straight to the input: behind a pooling it was
    refused ("needs a first layer that sees the input element for element"), and behind a
    transposition it was added to the wrong elements. It now goes on through the layers
    between by their own rule: the z-rule of an average pooling, the winner of a max pooling;
    and what the rule gives to a pooled zero (an all-zero window: 0 / 0 for the z-rule) goes
    back through the pooling's Jacobian, as zennit's gradient does, instead of being lost."""
    torch.manual_seed(5)
    x = torch.rand((2, 3, 4, 4)) if before != "transpose" else torch.rand((2, 3, 5))
    if before != "transpose":
        x[:, 1, :2, 2:] = 0.0  # one all-zero window per example
    if before == "transpose":
        model = _Transposed().eval()
        a = x.transpose(1, 2)  # (2, 5, 3): one Linear(3, 1) per position
    else:
        pool = nn.AvgPool2d(2) if before == "avg" else nn.MaxPool2d(2)
        model = nn.Sequential(pool, nn.Flatten(), nn.Linear(12, 1), nn.Flatten(0)).eval()
        a = pool(x).flatten(1)
    lin = model.lin if before == "transpose" else model[2]
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    got = lrp(model, x, Composite([], first=first, canonizers=[]), batch_size=None)
    for i in range(2):
        rows = a[i].reshape(-1, w.shape[1]).numpy()  # one row per application of the layer
        r_a = np.stack([reference(first, w, b, r, w @ r + b) for r in rows])
        if before == "transpose":
            want = r_a.T  # (3, 5): back to the input's order
        else:
            want = np.zeros((3, 4, 4))
            r_a = r_a.reshape(3, 2, 2)
            for c, p, q in np.ndindex(3, 2, 2):
                win = x[i, c, 2 * p:2 * p + 2, 2 * q:2 * q + 2].numpy()
                if not win.any():  # the Jacobian: a quarter each, or all to max pooling's pick
                    share = np.full((2, 2), 0.25) if before == "avg" else None
                elif before == "avg":
                    share = win / win.sum()
                else:
                    share = (win == win.max()).astype(float)
                if share is None:
                    zero = got[i, c, 2 * p:2 * p + 2, 2 * q:2 * q + 2].numpy()
                    assert np.count_nonzero(zero) == 1 and zero.sum() == pytest.approx(r_a[c, p, q])
                    want[c, 2 * p:2 * p + 2, 2 * q:2 * q + 2] = zero
                else:
                    want[c, 2 * p:2 * p + 2, 2 * q:2 * q + 2] = share * r_a[c, p, q]
        assert want.sum() == pytest.approx(r_a.sum(), rel=1e-10)  # nothing lost on the way
        np.testing.assert_allclose(got[i].numpy(), want, rtol=1e-10, atol=1e-12)

