"""Attribution quality: deletion and insertion curves, captum's integrated gradients, randomisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explain import input_x_gradient
from explain.errors import ExplainError
from explain.metrics import (
    attribution_quality,
    deletion_curve,
    insertion_curve,
    integrated_gradients,
    randomisation_check,
)


def _linear(d: int = 16, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, 1))
    with torch.no_grad():
        model[1].bias.zero_()
    return model


def test_integrated_gradients_of_a_linear_model_is_input_times_weight():
    model = _linear()
    x = torch.rand(5, 16)
    w = model[1].weight.detach()[0]
    np.testing.assert_allclose(integrated_gradients(model, x).numpy(), (x * w).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(input_x_gradient(model, x).numpy(), (x * w).numpy(), rtol=1e-5, atol=1e-6)


def test_faithful_relevance_beats_a_random_order_on_deletion_and_insertion():
    model = _linear()
    x = torch.rand(64, 16)
    rel = x * model[1].weight.detach()[0]  # the exact contributions of a linear model
    rnd = torch.rand(x.shape, generator=torch.Generator().manual_seed(1))
    d_true, d_rand = deletion_curve(model, x, rel), deletion_curve(model, x, rnd)
    i_true, i_rand = insertion_curve(model, x, rel), insertion_curve(model, x, rnd)
    assert d_true.auc < d_rand.auc - 0.1 and i_true.auc > i_rand.auc + 0.1
    # the curves start and end where they must: nothing removed is the model's output, all
    # removed is the baseline's (0 for a bias-free linear model)
    full = float(model(x).mean())
    assert d_true.output[0] == pytest.approx(full, abs=1e-5)
    assert d_true.output[-1] == pytest.approx(0, abs=1e-6)
    assert i_true.output[0] == pytest.approx(0, abs=1e-6)
    assert i_true.output[-1] == pytest.approx(full, abs=1e-5)


def test_randomisation_check_separates_model_dependent_from_model_free_attributions():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 8),
                          nn.ReLU(), nn.Linear(8, 1))
    x = torch.rand(8, 1, 8, 8)
    rho = randomisation_check(model, x, input_x_gradient, n_layers=3)
    assert rho < 0.5  # gradient x input changes with the weights

    def model_free(m: nn.Module, t: torch.Tensor) -> torch.Tensor:
        return t  # the input itself: the same whatever the network

    assert randomisation_check(model, x, model_free) == pytest.approx(1.0)


def test_attribution_quality_in_one_call_with_a_random_row():
    model = _linear()
    x = torch.rand(32, 16)
    q = attribution_quality(model, x, {"input x gradient": input_x_gradient,
                                       "integrated gradients": integrated_gradients}, steps=8)
    assert q.methods == ["input x gradient", "integrated gradients", "random"]
    assert q.deletion_auc[0] < q.deletion_auc[2] and q.insertion_auc[0] > q.insertion_auc[2]
    assert np.isnan(q.randomisation_rho[2]) and "| random |" in q.table()
    with pytest.raises(ExplainError, match=r"methods must be a non-empty mapping \{name: fn\(model, x\)\}, "
                                           r"got \{\}"):
        attribution_quality(model, x, {})
    with pytest.raises(ExplainError, match=r"names to functions fn\(model, x\) -> relevance; "
                                           r"got \{'ig': 'str'\}"):
        attribution_quality(model, x, {"ig": "integrated_gradients"})  # was TypeError: not callable
    with pytest.raises(ExplainError, match=r"shaped like the inputs \(32, 16\), got \(32, 15\)"):
        deletion_curve(model, x, torch.rand(32, 15))


def test_bad_arguments_of_the_metrics_are_one_clear_error():
    """Each was another library's error (an AssertionError from captum, numpy's IndexError and
    ValueError) or a silent answer (bins=0 accepted; a NaN distance correlation reported as 0)."""
    from explain import distance_correlation, roc_auc, sculpting

    rng = np.random.default_rng(0)
    s, y = rng.random(50), np.arange(50) % 2
    with pytest.raises(ExplainError, match=r"n_steps must be an int >= 1, got 0"):
        integrated_gradients(nn.Linear(4, 1), torch.rand(3, 4), n_steps=0)
    with pytest.raises(ExplainError, match=r"score and label must have one length; got 25 and 50"):
        roc_auc(s[:25], y)
    with pytest.raises(ExplainError, match=r"bins must be an int >= 1, got 0"):
        sculpting(s, 200 * s, y, bins=0)
    with pytest.raises(ExplainError, match=r"mass_range must be \(low, high\) with finite low < high"):
        sculpting(s, 200 * s, y, mass_range=(200.0, 0.0))
    nan = torch.tensor(np.r_[s[:49], np.nan])
    assert torch.isnan(distance_correlation(nan, torch.tensor(s)))
    assert float(distance_correlation(s, 2 * s + 1)) == pytest.approx(1.0)  # arrays are taken
    assert float(distance_correlation(torch.ones(50), torch.tensor(s))) == 0.0  # a constant
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ExplainError, match=r"n_layers must be an int >= 1, got 0"):  # was self vs self
        attribution_quality(model, torch.rand(3, 4), {"ixg": input_x_gradient}, n_layers=0)
