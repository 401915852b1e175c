"""Example taggers trained on real W vs QCD jets; SHAP values; filter visualisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explain import (
    ExplainError,
    JetImageCNN,
    activation_maximisation,
    activations,
    first_layer_kernels,
    mean_activation_maps,
    predict,
    roc_auc,
    shap_images,
    shap_observables,
    train_tagger,
)
from explain.shapley import bar_plot, beeswarm_plot, shap_image_maps


def test_roc_auc_matches_the_pair_count():
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=300), rng.integers(0, 2, 300)
    s[:20] = s[20:40]  # ties
    pairs = [(a > b) + 0.5 * (a == b) for a in s[y == 1] for b in s[y == 0]]
    assert roc_auc(s, y) == pytest.approx(np.mean(pairs), abs=1e-12)
    with pytest.raises(ExplainError, match="label must hold both classes; got 0 signal"):
        roc_auc(s, np.zeros(300))
    # a label other than 0 and 1 dropped out of both classes and the AUC came out as 2.0
    with pytest.raises(ExplainError, match=r"label must be 0 \(background\) or 1 \(signal\) per event; "
                                           r"got 3 other values, e.g. \[2.0, 3.0, 4.0\]"):
        roc_auc(np.zeros(5), np.arange(5))


def test_both_taggers_separate_w_from_qcd(jets, trained_cnn, trained_dnn):
    for (model, res), x in ((trained_cnn, jets.images), (trained_dnn, jets.x_obs)):
        assert res.val_auc > 0.75, res
        assert roc_auc(predict(model, x[jets.val]), jets.label[jets.val]) == pytest.approx(
            res.val_auc, abs=1e-6
        )
        assert [h["epoch"] for h in res.history] == list(range(len(res.history)))


def test_training_is_reproducible_and_reports_divergence(jets):
    x, y = jets.images[:200], jets.label[:200]
    runs = [
        train_tagger(JetImageCNN(channels=4, dense=8), x, y, x, y, epochs=2, seed=7, device="cpu")
        for _ in range(2)
    ]
    assert runs[0].history == runs[1].history
    stopped = []
    res = train_tagger(
        JetImageCNN(channels=4, dense=8),
        x,
        y,
        x,
        y,
        epochs=5,
        seed=7,
        device="cpu",
        report=lambda epoch, auc: stopped.append(epoch) or True,
    )
    assert stopped == [0] and len(res.history) == 1
    bad = train_tagger(
        JetImageCNN(channels=4, dense=8, dropout=0.0),
        x,
        y,
        x,
        y,
        epochs=3,
        lr=1e30,
        optimizer="sgd",
        seed=0,
        device="cpu",
    )
    assert bad.diverged
    with pytest.raises(ExplainError, match="optimizer must be one of"):
        train_tagger(JetImageCNN(), x, y, x, y, optimizer="lbfgs")
    with pytest.raises(ExplainError, match="at least 2 training and 1 validation inputs; got 0 and"):
        train_tagger(JetImageCNN(), x[:0], y[:0], x, y)  # was ZeroDivisionError


def test_deep_shap_handles_inplace_relu_and_is_additive(jets, trained_cnn):
    model, _ = trained_cnn
    assert any(getattr(m, "inplace", False) for m in model.modules())
    x, bg = jets.images[:16], jets.images[100:164]
    values = shap_images(model, x, bg, method="deep")
    assert values.shape == x.shape
    f, f0 = predict(model, x), predict(model, bg).mean()
    np.testing.assert_allclose(values.reshape(16, -1).sum(1), f - f0, atol=2e-3 * np.abs(f - f0).max())
    assert any(getattr(m, "inplace", False) for m in model.modules())  # the user's model is untouched
    grad = shap_images(model, x, bg, method="gradient")
    assert grad.shape == x.shape and np.isfinite(grad).all()
    with pytest.raises(ExplainError, match=r"background must be a non-empty batch of inputs shaped like "
                                           r"x's \(1, 25, 25\); got shape \(4, 1, 5, 5\)"):
        shap_images(model, x, bg[:4, :, :5, :5])  # was torch's matrix-shape RuntimeError
    shap_image_maps(values, jets.label[:16])


def test_permutation_shap_on_observables_is_additive(jets, trained_dnn):
    model, _ = trained_dnn
    expl = shap_observables(model, jets.x_obs[:10], jets.x_obs[200:300], jets.names)
    f = predict(model, jets.x_obs[:10])
    np.testing.assert_allclose(expl.values.sum(1) + expl.base_values, f, rtol=1e-4, atol=1e-4)
    assert list(expl.feature_names) == jets.names
    beeswarm_plot(expl)
    bar_plot(expl)
    with pytest.raises(ExplainError, match="one name per feature"):
        shap_observables(model, jets.x_obs[:10], jets.x_obs[:10], jets.names[:3])


def test_filters_kernels_maps_and_activation_maximisation(jets, trained_cnn):
    model, _ = trained_cnn
    kernels = first_layer_kernels(model)
    assert kernels.shape == (8, 1, 5, 5)
    maps = mean_activation_maps(model, jets.images, jets.label)
    assert maps["signal"].shape == (8, 25, 25)
    np.testing.assert_allclose(maps["difference"], maps["signal"] - maps["background"])
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))  # pre-activation
    best = activation_maximisation(model, (1, 25, 25), module=bn, channel=3, steps=150, lr=0.1, seed=0)
    assert best.shape == (1, 25, 25) and best.min() >= 0 and best.sum() == pytest.approx(1, rel=1e-4)
    act_best = activations(model, best[None], bn)[0, 3, 12, 12]  # the centre unit of channel 3
    act_jets = activations(model, jets.images[:200], bn)[:, 3, 12, 12]
    assert act_best > act_jets.max()
    with pytest.raises(ExplainError, match="channel must lie in"):
        activation_maximisation(model, (1, 25, 25), module=bn, channel=99, steps=1)
    with pytest.raises(ExplainError, match="steps must be an int >= 1, got 0"):
        activation_maximisation(model, (1, 25, 25), module=bn, steps=0)
    with pytest.raises(ExplainError, match=r"shape must be one input's shape, positive ints .* got 25"):
        activation_maximisation(model, 25, module=bn, steps=1)  # type: ignore[arg-type]
    with pytest.raises(ExplainError, match=r"module must be one of the model's layers .* got Linear"):
        activations(model, jets.images[:4], nn.Linear(2, 2))
    with pytest.raises(ExplainError, match=r"label must be 0 \(background\) or 1 \(signal\) .* e.g. \[2.0\]"):
        mean_activation_maps(model, jets.images[:4], np.array([0, 2, 0, 2]))  # was NaN maps
    with pytest.raises(ExplainError, match="batch_size must be an int >= 1, got 0"):
        predict(model, jets.images[:4], batch_size=0)
    with pytest.raises(ExplainError, match=r"one input of shape \(1, 1, 25, 25\) \(shape excludes the batch"):
        activation_maximisation(model, (1, 1, 25, 25), module=bn, steps=1)


def test_taggers_reject_bad_settings():
    with pytest.raises(ExplainError, match="depth must lie in"):
        JetImageCNN(depth=6)
    with pytest.raises(ExplainError, match="n_pixels must be an int >= 1, got 0"):
        JetImageCNN(n_pixels=0)
    with pytest.raises(ExplainError, match=r"kernel must be odd .* got 4"):
        JetImageCNN(kernel=4)
    with pytest.raises(ExplainError, match=r"dropout must be a finite number in \[0, 1\), got 2.0"):
        JetImageCNN(dropout=2.0)
    # numpy integers (as scikit-optimize's Integer hands them out) are counts too
    assert JetImageCNN(n_pixels=np.int64(25), channels=np.int64(4))(torch.zeros(2, 1, 25, 25)).shape == (2,)
    assert JetImageCNN(depth=3)(torch.zeros(2, 1, 25, 25)).shape == (2,)


def test_training_script_saves_weights_and_reports_auc(jets, tmp_path, examples):
    import json

    r = examples.run(
        "train_taggers.py",
        "--per-class",
        300,
        "--epochs",
        3,
        "--cache",
        jets.cache,
        "--out",
        tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    aucs = json.loads((tmp_path / "auc.json").read_text())
    assert 0.6 < aucs["CNN on images"] <= 1 and 0.6 < aucs["dense on observables"] <= 1
    model = torch.load(tmp_path / "cnn.pt", weights_only=False)
    assert model(torch.as_tensor(jets.images[:4])).shape == (4,)
    assert (tmp_path / "roc.png").stat().st_size > 0 and "validation ROC AUC" in r.stdout


def test_training_and_sample_arguments_are_refused_with_the_rule():
    """Refused before any event or epoch: they ended in a KeyError, a torch shape error or an
    empty result in silence."""
    from explain import ExplainError, generate_jets, load_or_generate, train_tagger

    model = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Flatten(0))
    x, y = np.random.default_rng(0).random((10, 4)).astype("float32"), np.r_[np.zeros(5), np.ones(5)]
    with pytest.raises(ExplainError, match=r"y_train must be 0 \(background\) or 1 \(signal\) per event; "
                                           r"got 10 other values, e.g. \[3\.0\]"):
        train_tagger(model, x, np.full(10, 3.0), x, y)
    # torch's own errors, or a device error after the model had moved
    with pytest.raises(ExplainError, match=r"the model cannot take inputs of shape \(10, 3\): mat1"):
        train_tagger(model, x[:, :3], y, x[:, :3], y)
    with pytest.raises(ExplainError, match=r"one logit per input, shape \(batch,\); got \(2, 1\) .* "
                                           r"nn.Flatten\(0\)"):
        train_tagger(torch.nn.Linear(4, 1), x, y, x, y)
    with pytest.raises(ExplainError, match=r"device must be None, a torch.device or a name .* got 'tpu'"):
        train_tagger(model, x, y, x, y, device="tpu")
    with pytest.raises(ExplainError, match="epochs must be an int >= 1, got 0"):
        train_tagger(model, x, y, x, y, epochs=0)
    with pytest.raises(ExplainError, match="patience must be an int >= 1, got 0"):
        train_tagger(model, x, y, x, y, patience=0)
    with pytest.raises(ExplainError, match="lr must be a finite number > 0, got -1"):
        train_tagger(model, x, y, x, y, lr=-1)
    with pytest.raises(ExplainError, match="weight_decay must be a finite number >= 0, got nan"):
        train_tagger(model, x, y, x, y, weight_decay=float("nan"))
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ExplainError, match=r"x_val must be finite; got 1 NaN .* at index \(3, 2\)"):
        train_tagger(model, x, y, bad, y)
    with pytest.raises(ExplainError, match="n_jets must be an int >= 1, got 0"):
        generate_jets(0, True, progress=False)
    with pytest.raises(ExplainError, match=r"with 0 <= low < high, got \(300, 250\)"):
        generate_jets(5, True, pt_window=(300, 250), progress=False)
    with pytest.raises(ExplainError, match="radius must be a number > 0, got 0"):
        generate_jets(5, True, radius=0, progress=False)
    with pytest.raises(ExplainError, match="n_per_class must be an int >= 1, got -1"):
        load_or_generate(-1, cache_dir="unused")
    # grooming options were checked only by the groomer, at the first jet, after events were made
    with pytest.raises(ExplainError, match=r"grooming_options of 'trim' must be a dict of \['r_sub', "
                                           r"'f_cut'\], got \{'zcut': 0.1\}"):
        generate_jets(5, True, grooming="trim", grooming_options={"zcut": 0.1}, progress=False)
    with pytest.raises(ExplainError, match=r"grooming_options need a groomer .* with grooming=None"):
        load_or_generate(5, cache_dir="unused", grooming_options={"r_sub": 0.2})
    with pytest.raises(ExplainError, match=r"soft drop needs finite z_cut >= 0, .* got z_cut=-1"):
        generate_jets(5, True, grooming="soft_drop", grooming_options={"z_cut": -1}, progress=False)
    with pytest.raises(ExplainError, match=r"seed must be an int in \[0, 900000000\] .* got -1"):
        generate_jets(5, True, seed=-1, progress=False)
    with pytest.raises(ExplainError, match=r"seed must be an int in \[0, 899999999\] .* got 900000000"):
        load_or_generate(5, cache_dir="unused", seed=900_000_000)
