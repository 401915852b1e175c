"""Train the two example W taggers and report their ROC AUC.

    python examples/train_taggers.py [--per-class 5000] [--epochs 30] [--out taggers]

The CNN (``explain.JetImageCNN``: Conv2d, BatchNorm2d, in-place ReLU, MaxPool2d, Flatten, Dropout,
Linear) learns from 25x25 jet images, the dense network (``explain.ObservableDNN``: Standardize, Linear,
BatchNorm1d, ReLU) from seven jet observables. Jets come from the cache (``--cache``) or are generated
with Pythia; 75 % train, 25 % validation. The weights are saved to ``<out>/cnn.pt`` and
``<out>/dnn.pt`` (``torch.save`` of the whole module), the ROC curves to ``<out>/roc.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

OBSERVABLES = ["mass", "tau21", "tau32", "D2", "C2", "n_constituents", "dR_subjets"]


def train_both(
    images: np.ndarray, x_obs: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0, dnn_patience: int = 6
) -> tuple:
    """The example CNN on ``images`` and dense network on ``x_obs``, trained on the first 75 % of the
    jets and validated on the rest. Returns ``(cnn, cnn_result, dnn, dnn_result, validation_indices)``."""
    import explain as ex

    n = len(y)
    tr, va = np.arange(n)[: n * 3 // 4], np.arange(n)[n * 3 // 4 :]
    cnn = ex.JetImageCNN(channels=16, depth=3, dense=64)
    r_cnn = ex.train_tagger(
        cnn,
        images[tr],
        y[tr],
        images[va],
        y[va],
        epochs=epochs,
        lr=3e-3,
        batch_size=64,
        patience=6,
        seed=seed,
    )
    dnn = ex.ObservableDNN.for_data(x_obs[tr])
    r_dnn = ex.train_tagger(
        dnn, x_obs[tr], y[tr], x_obs[va], y[va], epochs=epochs, lr=3e-3, patience=dnn_patience, seed=seed
    )
    return cnn, r_cnn, dnn, r_dnn, va


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--out", default="taggers")
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import explain as ex

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample = ex.load_or_generate(args.per_class, cache_dir=args.cache, seed=1)
    images = ex.jet_images(sample)
    obs = ex.jet_observables(sample)
    x_obs = np.nan_to_num(np.stack([obs[k] for k in OBSERVABLES], 1)).astype(np.float32)
    y = sample.label
    n = len(y)
    cnn, r_cnn, dnn, r_dnn, va = train_both(images, x_obs, y, args.epochs, seed=args.seed)
    torch.save(cnn.cpu(), out / "cnn.pt")
    torch.save(dnn.cpu(), out / "dnn.pt")

    fig, ax = plt.subplots(figsize=(5, 5))
    aucs = {}
    for name, model, x in (("CNN on images", cnn, images), ("dense on observables", dnn, x_obs)):
        score = ex.predict(model, x[va])
        aucs[name] = ex.roc_auc(score, y[va])
        thr = np.quantile(score, np.linspace(0, 1, 201))
        ax.plot(
            [(score[y[va] == 0] >= t).mean() for t in thr],
            [(score[y[va] == 1] >= t).mean() for t in thr],
            label=f"{name}: AUC {aucs[name]:.3f}",
        )
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("QCD efficiency")
    ax.set_ylabel("W efficiency")
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=110)
    (out / "auc.json").write_text(
        json.dumps(
            {**aucs, "cnn_best_epoch": r_cnn.best_epoch, "dnn_best_epoch": r_dnn.best_epoch, "n_jets": n},
            indent=2,
        )
    )
    for name, auc in aucs.items():
        print(f"{name}: validation ROC AUC {auc:.4f}")
    print(f"weights and ROC curves in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
