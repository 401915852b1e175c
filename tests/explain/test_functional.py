"""Functions called inside a forward: refused where their gradient is no relevance rule, let
through where it is (and then LRP equals the same model written with modules)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as fn

from explain import EpsilonPlusFlat, ExplainError, lrp
from explain.composites import gradient_ok
from explain.functional import unseen_functions

torch.manual_seed(0)


class ModuleNet(nn.Module):
    """A CNN written with modules only."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.pool, self.relu = nn.MaxPool2d(2), nn.ReLU()
        self.avg, self.flat, self.pad = nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.ZeroPad2d(1)
        self.drop, self.out = nn.Dropout(0.2), nn.Linear(8 * 4 + 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.relu(self.conv1(self.pad(x)[..., 1:-1, 1:-1])))
        h = self.relu(self.conv2(h)) + h  # residual
        a, b = self.flat(self.avg(h)), self.flat(self.pool(h)[..., :2, :2])
        return self.out(self.drop(torch.cat([a, a, b], 1)))[:, 0]


class FunctionalNet(ModuleNet):
    """The same network with its parameter-free layers written as functions, a constant scale,
    a detached mask and a division by a constant: every call a relevance rule."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = (x.abs() >= 0).float().detach()  # all ones: carries no relevance
        h = fn.pad(x * mask * 2.0, (1, 1, 1, 1))[..., 1:-1, 1:-1] / 2.0
        h = fn.max_pool2d(fn.relu(self.conv1(h)), 2)
        h = torch.relu(self.conv2(h)) + h
        a = fn.adaptive_avg_pool2d(h, 2).view(h.size(0), -1)
        b = torch.flatten(fn.max_pool2d(h, 2)[..., :2, :2], 1)
        return self.out(fn.dropout(torch.cat([a, a, b], 1), 0.2, self.training))[:, 0]


def test_functions_whose_gradient_is_a_rule_pass_and_give_the_module_network_s_relevance():
    m = ModuleNet().eval()
    f = FunctionalNet().eval()
    f.load_state_dict(m.state_dict())
    x = torch.randn(5, 1, 8, 8)
    assert unseen_functions(f, gradient_ok) == []
    torch.testing.assert_close(lrp(f, x), lrp(m, x), rtol=1e-6, atol=1e-8)


class Gated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.out = nn.Linear(4, 4), nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x)
        return self.out(torch.tanh(h) + h * torch.sigmoid(h))[:, 0]


class Outer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Gated()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fn.gelu(self.block(x))


def test_a_nonlinear_function_in_a_forward_is_refused_naming_its_module():
    with pytest.raises(ExplainError) as err:
        lrp(Outer(), torch.randn(3, 4))
    msg = str(err.value)
    assert "block (Gated calling tanh in its forward: write it as the module nn.Tanh()" in msg
    assert "block (Gated calling sigmoid" in msg and "block (Gated calling mul" in msg
    assert "a gate such as x * sigmoid(x)" in msg
    assert "Outer (Outer calling gelu in its forward: write it as the module nn.GELU()" in msg
    assert "unsupported='gradient'" in msg


def test_with_the_gradient_opt_in_it_warns_and_runs():
    with pytest.warns(RuntimeWarning, match="Gated .*tanh"):
        rel = lrp(Gated(), torch.randn(3, 4), EpsilonPlusFlat(unsupported="gradient"))
    assert rel.shape == (3, 4) and torch.isfinite(rel).all()


@pytest.mark.parametrize("forward, names", [
    (lambda m, x: m.lin(fn.pad(x, (1, 1), value=1.0)), ["pad"]),  # a constant other than 0: a bias
    (lambda m, x: m.lin(x / x.norm(dim=1, keepdim=True)), ["norm", "truediv"]),
    (lambda m, x: m.lin(torch.softmax(x, -1)), ["softmax"]),
    (lambda m, x: m.lin(x.exp()), ["exp"]),
])
def test_each_kind_of_unseen_call_is_named(forward, names):
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(6 if names == ["pad"] else 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(self, x)

    found = unseen_functions(Net(), gradient_ok)
    assert [name for _, _, name in found] == names
    assert all(path == "Net" for path, _, _ in found)  # the model's own forward


def test_an_untraceable_model_is_not_checked_and_a_changed_model_is_checked_again():
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # control flow on the input's values: torch.fx cannot trace it
                x = torch.tanh(x)
            return self.lin(x)[:, 0]

    assert unseen_functions(Branchy(), gradient_ok) is None
    net = Gated()
    assert [name for _, _, name in unseen_functions(net, gradient_ok)] == ["tanh", "sigmoid", "mul"]
    net.lin = nn.Sequential(nn.Linear(4, 4), nn.ReLU())  # the structure changed: traced afresh
    assert [name for _, _, name in unseen_functions(net, gradient_ok)] == ["tanh", "sigmoid", "mul"]
    assert unseen_functions(nn.Linear(4, 1), gradient_ok) == []  # one layer: nothing to trace


def test_the_cache_tells_composites_apart():
    class Act(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.act = nn.Linear(4, 4), Act()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.lin(x))

    net = Net()
    covered = lambda m: isinstance(m, Act) or gradient_ok(m)  # noqa: E731 - a rule on Act
    assert unseen_functions(net, covered) == []
    assert unseen_functions(net, gradient_ok) == [("act", "Act", "tanh")]  # not the cached []
    assert unseen_functions(net, covered) == []


def test_the_particle_flow_network_is_traced_and_checked():
    """Its input check is a call torch.fx keeps whole, so the network is traced: its mask product,
    sum pooling and scaling are seen, and a function added to its forward is named."""
    from explain.particles import ParticleFlowNetwork

    net = ParticleFlowNetwork(phi=(8, 4), f=(8,))
    assert unseen_functions(net, gradient_ok) == []

    class Squashed(ParticleFlowNetwork):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(super().forward(x))

    found = unseen_functions(Squashed(phi=(8, 4), f=(8,)), gradient_ok)
    assert found is not None and [name for _, _, name in found] == ["tanh"]
    with pytest.raises(ExplainError, match=r"takes \(jets, particles, 4\) inputs"):
        net(torch.zeros(2, 4))
