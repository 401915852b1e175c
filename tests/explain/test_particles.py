"""The particle-level tagger: inputs, symmetries, and LRP through masked sum pooling."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explain import (
    AllEpsilon,
    EpsilonGammaBox,
    EpsilonPlusFlat,
    ExplainError,
    ParticleFlowNetwork,
    constituent_features,
    input_x_gradient,
    jet_images,
    lrp,
    particle_relevance,
    relevance_image,
    roc_auc,
    train_tagger,
)
from explain.taggers import predict


def _without_biases(model):
    for m in model.modules():
        if getattr(m, "bias", None) is not None:
            torch.nn.init.zeros_(m.bias)
    return model


def _inputs(n_jets: int = 6, n_max: int = 12, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros((n_jets, n_max, 4), dtype=torch.float64)
    for j in range(n_jets):
        k = 3 + j % (n_max - 3)
        x[j, :k, 0] = torch.rand(k, generator=g, dtype=torch.float64)
        x[j, :k, 1:3] = 0.4 * torch.randn((k, 2), generator=g, dtype=torch.float64)
        x[j, :k, 3] = 1.0
    return x


def test_constituent_features_follow_their_definition(jets):
    s = jets.sample
    x = constituent_features(s, n_max=40)
    assert x.shape == (len(s), 40, 4) and x.dtype == np.float32
    present = x[..., 3] == 1
    np.testing.assert_array_equal(present.sum(1), np.minimum(s.counts, 40))
    assert np.all(x[~present] == 0)
    assert np.all(np.diff(x[..., 0], axis=1) <= 1e-7)  # hardest first
    assert np.all(np.abs(x[..., 2]) <= np.pi)
    pt, eta, _, _ = s.constituents(0)
    k = int(np.argmax(pt))
    assert x[0, 0, 0] == pytest.approx(pt[k] / s.jet_pt[0], rel=1e-6)
    assert x[0, 0, 1] == pytest.approx(eta[k] - s.jet_eta[0], abs=1e-6)
    # the jet's pT is the vector sum: the scalar sum of the momentum fractions is at least one
    full = constituent_features(s, n_max=int(s.counts.max()))
    assert np.all(full[..., 0].sum(1) >= 1 - 1e-4)
    with pytest.raises(ExplainError, match=r"n_max must be >= 1 .* got n_max=0"):
        constituent_features(s, n_max=0)


def test_pfn_is_a_function_of_the_set_of_particles_present():
    torch.manual_seed(0)
    pfn = ParticleFlowNetwork(phi=(16, 8), f=(16,)).double()
    x = _inputs()
    f = pfn(x)
    perm = torch.randperm(x.shape[1])
    torch.testing.assert_close(pfn(x[:, perm]), f)
    junk = x.clone()
    junk[..., :3] += 7.0 * (junk[..., 3:4] == 0)  # garbage in the padding rows, mask still 0
    torch.testing.assert_close(pfn(junk), f)
    with pytest.raises(ExplainError, match=r"takes \(jets, particles, 4\) inputs .* got shape \(6, 12\)"):
        pfn(x[..., 0])
    with pytest.raises(ExplainError, match=r"phi must be a tuple of layer widths, ints >= 1 \(at least one"):
        ParticleFlowNetwork(phi=())
    with pytest.raises(ExplainError, match=r"f must be a tuple of layer widths, ints >= 1; got \(0,\)"):
        ParticleFlowNetwork(f=(0,))
    with pytest.raises(ExplainError, match="pool_scale must be a finite number > 0, got 0"):
        ParticleFlowNetwork(pool_scale=0)
    with pytest.raises(ExplainError, match=r"phi must be .* got \(8, True\)"):
        ParticleFlowNetwork(phi=(8, True))
    # widths drawn by a search space (numpy integers, as scikit-optimize's Integer gives) build it
    # the same as Python ints, as JetImageCNN's counts do
    drawn = ParticleFlowNetwork(phi=(np.int64(16), np.int64(8)), f=(np.int32(16),))
    assert [m.out_features for m in drawn.modules() if isinstance(m, torch.nn.Linear)] == [16, 8, 16, 1]


@pytest.mark.parametrize("composite", [EpsilonPlusFlat, EpsilonGammaBox, AllEpsilon],
                         ids=lambda c: c.__name__)
def test_lrp_through_masked_sum_pooling_conserves_relevance(composite):
    torch.manual_seed(1)
    pfn = _without_biases(ParticleFlowNetwork(phi=(16, 8), f=(16,)).double())
    x = _inputs()
    f = pfn(x).detach()
    kwargs = {"low": float(x.min()) * pfn.scale, "high": float(x.max()) * pfn.scale} \
        if composite is EpsilonGammaBox else {}
    rel = lrp(pfn, x, composite(eps=1e-12, **kwargs))
    total = rel.reshape(len(x), -1).sum(1)
    assert torch.all((total - f).abs() <= 1e-5 * f.abs()), float(((total - f).abs() / f.abs()).max())
    per_particle = particle_relevance(rel)
    assert np.all(per_particle[x[..., 3].numpy() == 0] == 0)  # padding gets exactly nothing
    perm = torch.randperm(x.shape[1])
    np.testing.assert_allclose(particle_relevance(lrp(pfn, x[:, perm], composite(eps=1e-12, **kwargs))),
                               per_particle[:, perm.numpy()], rtol=1e-9, atol=1e-12)


def test_trained_pfn_tags_and_its_lrp_is_input_times_gradient(jets):
    x = constituent_features(jets.sample, n_max=48)
    t, v = jets.train, jets.val
    pfn = ParticleFlowNetwork(phi=(32, 32, 16), f=(32,))
    res = train_tagger(pfn, x[t], jets.label[t], x[v], jets.label[v], epochs=10, lr=3e-3, seed=0,
                       device="cpu")
    assert res.val_auc > 0.65
    assert roc_auc(predict(pfn, x[v]), jets.label[v]) == pytest.approx(res.val_auc)
    m = copy.deepcopy(pfn).double()
    xv = torch.as_tensor(x[v][:32], dtype=torch.float64)
    torch.testing.assert_close(lrp(m, xv, AllEpsilon(eps=0.0)), input_x_gradient(m, xv), rtol=1e-9,
                               atol=1e-12)


def test_relevance_image_uses_the_jet_image_frame(jets):
    s = jets.sample
    x = constituent_features(s, n_max=int(s.counts.max()))
    # relevance = momentum fraction: the binned map is the jet image (which sums to one)
    img = relevance_image(s, x[..., 0])
    np.testing.assert_allclose(img / img.sum(axis=(1, 2), keepdims=True), jet_images(s)[:, 0],
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ExplainError, match="half_width must be a finite number > 0, got 0"):
        relevance_image(jets.sample, np.zeros((len(jets.sample), 8)), half_width=0)
    with pytest.raises(ExplainError, match=r"relevance must be \(jets, particles\) for the 600 jets"):
        relevance_image(s, x[:3, :, 0])


def test_particle_shapley_values_are_additive_and_exact_for_an_additive_model():
    from explain import shap_particles

    torch.manual_seed(2)
    pfn = ParticleFlowNetwork(phi=(16, 8), f=(16,)).double()
    x = _inputs(n_jets=4, n_max=9)
    phi = shap_particles(pfn, x, n_permutations=8, seed=1)
    empty = pfn(torch.zeros_like(x[:1])).item()
    np.testing.assert_allclose(phi.sum(1), pfn(x).detach().numpy() - empty, rtol=1e-9, atol=1e-12)
    assert np.all(phi[x[..., 3].numpy() == 0] == 0)

    class Additive(torch.nn.Module):  # f = sum_i m_i g(p_i): each particle's value is exactly g(p_i)
        def __init__(self):
            super().__init__()
            self.g = torch.nn.Linear(4, 1).double()

        def forward(self, t):
            return (self.g(t).squeeze(-1) * t[..., 3]).sum(1)

    add = Additive()
    want = (add.g(x).squeeze(-1) * x[..., 3]).detach().numpy()
    np.testing.assert_allclose(shap_particles(add, x, n_permutations=2), want, rtol=1e-9, atol=1e-12)
    with pytest.raises(ExplainError, match=r"n_permutations >= 1; got shape \(4, 9, 4\) and 0"):
        shap_particles(pfn, x, n_permutations=0)

    class Fails(torch.nn.Module):  # a model that raises inside the estimate
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(4, 1).double()

        def forward(self, t):
            raise RuntimeError("broken forward")

    broken = Fails().train()
    with pytest.raises(RuntimeError, match="broken forward"):
        shap_particles(broken, x, n_permutations=1)
    assert broken.training  # handed back in the mode it came in, also after an error
    pfn.train()
    shap_particles(pfn, x, n_permutations=1)
    assert pfn.training
