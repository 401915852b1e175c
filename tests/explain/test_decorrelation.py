"""DisCo: distance correlation against its definition, and a decorrelated tagger that sculpts less."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explain import train_tagger
from explain.decorrelation import distance_correlation, sculpting
from explain.errors import ExplainError


def _dcor2_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Szekely's sample dCor^2, written out with explicit loops."""
    n = len(a)

    def centred(v):
        d = [[abs(v[i] - v[j]) for j in range(n)] for i in range(n)]
        row = [sum(r) / n for r in d]
        tot = sum(row) / n
        return [[d[i][j] - row[i] - row[j] + tot for j in range(n)] for i in range(n)]

    A, B = centred(a), centred(b)
    cov = sum(A[i][j] * B[i][j] for i in range(n) for j in range(n)) / n**2
    va = sum(A[i][j] ** 2 for i in range(n) for j in range(n)) / n**2
    vb = sum(B[i][j] ** 2 for i in range(n) for j in range(n)) / n**2
    return cov / np.sqrt(va * vb)


def test_distance_correlation_matches_its_definition_and_its_limits():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(size=40) + 0.5 * rng.normal(size=40) ** 2
    got = float(distance_correlation(torch.as_tensor(a), torch.as_tensor(b)))
    assert got == pytest.approx(_dcor2_reference(a, b), rel=1e-10)
    x = torch.as_tensor(rng.uniform(-1, 1, 600))
    assert float(distance_correlation(x, 2 * x + 1)) == pytest.approx(1.0)
    assert float(distance_correlation(x, torch.as_tensor(rng.normal(size=600)))) < 0.02
    # y = x^2 on a symmetric range: no linear correlation, a clear distance correlation
    assert abs(float(np.corrcoef(x, x**2)[0, 1])) < 0.1 and float(distance_correlation(x, x**2)) > 0.2
    t = x.clone().requires_grad_(True)
    distance_correlation(t, x**2).backward()
    assert t.grad is not None and torch.isfinite(t.grad).all()
    with pytest.raises(ExplainError, match=r"one length >= 2, got \(3,\) and \(2,\)"):
        distance_correlation(torch.ones(3), torch.ones(2))


def _toy(n: int, seed: int):
    """Signal: a mass peak at 80 and a shape variable near 1; background: flat mass, shape near 0."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(float)
    mass = np.where(y == 1, rng.normal(80, 8, n), rng.uniform(0, 200, n))
    shape = rng.normal(y * 1.0, 1.0)
    return np.stack([(mass - 100) / 50, shape], 1).astype(np.float32), y, mass


def test_disco_tagger_decorrelates_from_the_mass_and_sculpts_less():
    xt, yt, mt = _toy(4000, 0)
    xv, yv, mv = _toy(2000, 1)
    results = {}
    for lam in (0.0, 20.0):
        model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1),
                              nn.Flatten(0))
        res = train_tagger(model, xt, yt, xv, yv, epochs=12, lr=3e-3, patience=12, seed=0, device="cpu",
                           decorrelate=mt, disco_lambda=lam, decorrelate_val=mv)
        with torch.no_grad():
            out = torch.sigmoid(model(torch.as_tensor(xv))).numpy()
        bkg = yv == 0
        results[lam] = (res.val_auc, float(distance_correlation(torch.as_tensor(out[bkg]),
                                                                torch.as_tensor(mv[bkg]))),
                        sculpting(out, mv, yv).jensen_shannon)
        if lam > 0:  # the epoch kept is the one of lowest validation loss with the penalty
            losses = [h["val_loss"] for h in res.history]
            assert res.best_epoch == int(np.argmin(losses))
            assert res.val_auc == res.history[res.best_epoch]["val_auc"]
    (auc0, d0, js0), (auc1, d1, js1) = results[0.0], results[20.0]
    assert d1 < 0.3 * d0 and js1 < 0.5 * js0  # decorrelated: the background mass shape survives the cut
    assert auc1 > 0.6 and auc1 < auc0  # it still tags (on the shape variable), at a cost in AUC


def test_a_penalty_warm_up_trains_lighter_first_and_keeps_an_epoch_at_the_full_penalty():
    xt, yt, mt = _toy(2000, 0)
    xv, yv, mv = _toy(1000, 1)
    runs = {}
    for warmup in (0, 3):
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
        runs[warmup] = train_tagger(model, xt, yt, xv, yv, epochs=8, lr=3e-3, patience=8, seed=0,
                                    device="cpu", decorrelate=mt, disco_lambda=20.0, decorrelate_val=mv,
                                    disco_warmup=warmup)
    warm = runs[3]
    # the first epoch trains with a quarter of the penalty: its training loss is far below the full one's
    assert warm.history[0]["loss"] < runs[0].history[0]["loss"]
    # the epoch kept is the best at the full penalty, never one of the warm-up
    losses = [h["val_loss"] for h in warm.history]
    assert warm.best_epoch >= 3 and warm.best_epoch == 3 + int(np.argmin(losses[3:]))
    with pytest.raises(ExplainError, match=r"disco_warmup must be an int >= 0 below epochs \(8\).*got 8"):
        train_tagger(nn.Linear(2, 1), xt, yt, xv, yv, epochs=8, decorrelate=mt, disco_lambda=1.0,
                     decorrelate_val=mv, disco_warmup=8)


def test_sculpting_of_a_mass_cut_and_of_a_random_output():
    rng = np.random.default_rng(2)
    n = 4000
    label = (rng.random(n) < 0.5).astype(int)
    mass = np.where(label == 1, rng.normal(80, 8, n), rng.uniform(0, 200, n))
    assert sculpting(rng.random(n), mass, label).jensen_shannon < 0.02
    cut = sculpting(-np.abs(mass - 80), mass, label)
    assert cut.jensen_shannon > 0.3 and 0 < cut.background_efficiency < 0.3
    with pytest.raises(ExplainError, match="0 < signal_efficiency < 1"):
        sculpting(mass, mass, label, signal_efficiency=1.5)
    with pytest.raises(ExplainError, match=r"disco_lambda must be >= 0.* got 1.0 with None values"):
        train_tagger(nn.Linear(2, 1), np.zeros((4, 2), np.float32), np.zeros(4), np.zeros((2, 2), np.float32),
                     np.zeros(2), disco_lambda=1.0)
    with pytest.raises(ExplainError, match=r"disco_lambda > 0 needs decorrelate_val.* got None values for 2"):
        train_tagger(nn.Linear(2, 1), np.zeros((4, 2), np.float32), np.zeros(4), np.zeros((2, 2), np.float32),
                     np.zeros(2), disco_lambda=1.0, decorrelate=np.zeros(4))
