"""Example jet taggers and their training: the architectures physicists actually write.

:class:`JetImageCNN` (Conv2d, BatchNorm2d, in-place ReLU, MaxPool2d, Flatten, Dropout, Linear) tags jet
images; :class:`ObservableDNN` (Standardize, Linear, BatchNorm1d, ReLU) tags vectors of jet observables.
Both return one logit per jet (W > 0). :func:`train_tagger` fits either with Adam/SGD and early stopping
on the validation ROC AUC, on CUDA when available, reproducibly for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from explain.decorrelation import distance_correlation
from explain.errors import ExplainError, check_count, check_finite, check_labels, check_number

__all__ = ["JetImageCNN", "ObservableDNN", "Standardize", "TrainResult", "predict", "roc_auc", "train_tagger"]


class Standardize(nn.Module):
    """``(x - mean) / std`` per feature with fixed statistics (an element-wise affine layer for LRP)."""

    mean: Tensor
    std: Tensor

    def __init__(self, mean: np.ndarray | Tensor, std: np.ndarray | Tensor) -> None:
        super().__init__()
        std_t = torch.as_tensor(np.asarray(std), dtype=torch.float32)
        if torch.any(std_t <= 0):
            raise ExplainError(f"standard deviations must be > 0; got {std_t.tolist()}")
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32))
        self.register_buffer("std", std_t)

    def affine_params(self) -> tuple[Tensor, Tensor]:
        """Scale and shift: ``x * scale + shift``."""
        return 1.0 / self.std, -self.mean / self.std

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class JetImageCNN(nn.Module):
    """CNN on ``(1, n, n)`` jet images.

    Args:
        n_pixels: Image side.
        channels: Output channels of the first convolution; each further block doubles them.
        depth: Convolution blocks (conv, batch norm, ReLU, 2x2 max-pool).
        dense: Width of the hidden dense layer.
        dropout: Dropout probability before the output layer.
        kernel: Size of the first convolution kernel, odd (later ones are 3).

    Raises:
        ExplainError: a size that is not an int >= 1, an even kernel, ``2**depth`` above
            ``n_pixels`` or a dropout probability outside [0, 1).
    """

    def __init__(
        self,
        n_pixels: int = 25,
        channels: int = 8,
        depth: int = 2,
        dense: int = 32,
        dropout: float = 0.2,
        kernel: int = 5,
    ) -> None:
        super().__init__()
        n_pixels, channels, depth, dense, kernel = (
            check_count(value, name) for name, value in (
                ("n_pixels", n_pixels), ("channels", channels), ("depth", depth), ("dense", dense),
                ("kernel", kernel)))
        if kernel % 2 == 0:
            raise ExplainError(f"kernel must be odd (the convolution keeps the image size with "
                               f"padding kernel // 2); got {kernel}")
        check_number(dropout, "dropout", 0.0, 1.0)
        if 2**depth > n_pixels:
            raise ExplainError(
                f"depth must lie in [1, log2(n_pixels)] = [1, {int(math.log2(n_pixels))}]; got {depth}"
            )
        layers: list[nn.Module] = []
        c_in, side = 1, n_pixels
        for i in range(depth):
            c_out = channels * 2**i
            k = kernel if i == 0 else 3
            layers += [
                nn.Conv2d(c_in, c_out, k, padding=k // 2),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in, side = c_out, side // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * side * side, dense),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(dense, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x)).squeeze(-1)


class ObservableDNN(nn.Module):
    """Dense network on standardised observables.

    Args:
        mean, std: Feature statistics of the training set (for :class:`Standardize`).
        hidden: Widths of the hidden layers (Linear, BatchNorm1d, ReLU each).
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, hidden: tuple[int, ...] = (64, 32)) -> None:
        super().__init__()
        layers: list[nn.Module] = [Standardize(mean, std)]
        n_in = len(mean)
        for width in hidden:
            layers += [nn.Linear(n_in, width), nn.BatchNorm1d(width), nn.ReLU()]
            n_in = width
        layers.append(nn.Linear(n_in, 1))
        self.net = nn.Sequential(*layers)

    @classmethod
    def for_data(cls, x: np.ndarray, hidden: tuple[int, ...] = (64, 32)) -> ObservableDNN:
        """A network whose standardisation uses the statistics of ``x``."""
        return cls(x.mean(0), x.std(0) + 1e-12, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half).

    Raises:
        ExplainError: lengths differ, labels not both present, or scores not finite.
    """
    score, label = np.asarray(score, dtype=float).reshape(-1), np.asarray(label).reshape(-1)
    if len(score) != len(label):
        raise ExplainError(f"score and label must have one length; got {len(score)} and {len(label)}")
    if not np.all(np.isfinite(score)):
        raise ExplainError("scores must be finite to compute a ROC AUC; got NaN or inf")
    label = check_labels(label)
    n1, n0 = int(np.sum(label == 1)), int(np.sum(label == 0))
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[label == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _device(device: Any) -> torch.device:
    """``device`` as a torch device (``None``: CUDA when there is one), refusing a name torch does
    not know or CUDA where there is none."""
    try:
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except (RuntimeError, TypeError):
        raise ExplainError(f"device must be None, a torch.device or a name such as 'cpu' or 'cuda', "
                           f"got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ExplainError(f"device {device!r} asks for CUDA, which this machine does not have")
    return dev


@torch.no_grad()
def _check_logits(model: nn.Module, x: np.ndarray, dev: torch.device) -> None:
    """Refuse, before any training step, inputs the model cannot take and a model that does not
    return one logit per input (the loss would broadcast ``(n, 1)`` against ``(n,)``)."""
    was = model.training
    model.eval()
    try:
        out = model(torch.as_tensor(x[:2], dtype=torch.float32).to(dev))
    except RuntimeError as exc:
        raise ExplainError(f"the model cannot take inputs of shape {tuple(np.shape(x))}: {exc}") from None
    finally:
        model.train(was)
    if tuple(out.shape) != (min(2, len(x)),):
        raise ExplainError(f"the model must return one logit per input, shape (batch,); got "
                           f"{tuple(out.shape)} for a batch of {min(2, len(x))} (end it with "
                           "nn.Flatten(0) for an output of shape (batch, 1))")


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray | Tensor, batch_size: int = 4096) -> np.ndarray:
    """Logits of ``model`` (eval mode) for every input, as a numpy array.

    Raises:
        ExplainError: inputs of a shape the model cannot take, or ``batch_size`` not an int >= 1.
    """
    batch_size = check_count(batch_size, "batch_size")
    par = next(model.parameters())
    dev = par.device
    was = model.training
    model.eval()
    xt = torch.as_tensor(x, dtype=par.dtype)  # the model's precision (float64 models too)
    try:
        out = torch.cat(
            [model(xt[i : i + batch_size].to(dev)).float().cpu() for i in range(0, len(xt), batch_size)]
        )
    except RuntimeError as exc:  # shapes the model cannot take
        raise ExplainError(f"the model cannot take inputs of shape {tuple(xt.shape)}: {exc}") from None
    finally:
        model.train(was)
    return out.numpy()


@dataclass
class TrainResult:
    """Outcome of :func:`train_tagger`: the best validation AUC, its epoch, and per-epoch history."""

    val_auc: float
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False


def _disco_validation(y_val: np.ndarray, decorrelate_val: np.ndarray, disco_lambda: float,
                      seed: int) -> Callable[[np.ndarray], float]:
    """The validation loss of a DisCo tagger as a function of its validation logits: binary
    cross-entropy plus ``disco_lambda`` dCor^2 over at most 2048 label-0 inputs (a seeded subset:
    the distance matrices grow as its square)."""
    y = torch.as_tensor(np.asarray(y_val, dtype=np.float32))
    bkg = np.flatnonzero(np.asarray(y_val) == 0)
    if len(bkg) > 2048:
        bkg = np.sort(np.random.default_rng(seed).choice(bkg, 2048, replace=False))
    m = torch.as_tensor(np.asarray(decorrelate_val, dtype=np.float64)[bkg])

    def loss(score: np.ndarray) -> float:
        if not np.all(np.isfinite(score)):
            return float("inf")
        logits = torch.as_tensor(np.asarray(score, dtype=np.float32))
        bce = float(nn.functional.binary_cross_entropy_with_logits(logits, y))
        if len(bkg) < 2:
            return bce
        out = torch.sigmoid(logits[torch.as_tensor(bkg)].double())
        return bce + disco_lambda * float(distance_correlation(out, m))

    return loss


def _check_training(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                    y_val: np.ndarray, epochs: Any, lr: Any, batch_size: Any, weight_decay: Any,
                    patience: Any, decorrelate: np.ndarray | None, disco_lambda: float,
                    decorrelate_val: np.ndarray | None, disco_warmup: Any) -> tuple[int, int]:
    """The rules of :func:`train_tagger`'s data and numbers; returns ``(epochs, patience)``."""
    if disco_lambda < 0 or (disco_lambda > 0 and (decorrelate is None or len(decorrelate) != len(x_train))):
        raise ExplainError(f"disco_lambda must be >= 0, and > 0 needs one decorrelate value per "
                           f"training input; got {disco_lambda!r} with "
                           f"{None if decorrelate is None else len(decorrelate)} values for "
                           f"{len(x_train)} inputs")
    if disco_lambda > 0 and (decorrelate_val is None or len(decorrelate_val) != len(x_val)):
        raise ExplainError(f"disco_lambda > 0 needs decorrelate_val, one value per validation input (the "
                           f"epoch kept is the one of lowest validation loss with the penalty); got "
                           f"{None if decorrelate_val is None else len(decorrelate_val)} values for "
                           f"{len(x_val)} inputs")
    epochs = check_count(epochs, "epochs")
    patience = check_count(patience, "patience")
    check_number(lr, "lr", 0.0, low_open=True)
    check_number(weight_decay, "weight_decay", 0.0)
    check_finite(x_train, "x_train")
    check_finite(x_val, "x_val")
    if isinstance(disco_warmup, bool) or not isinstance(disco_warmup, int) or not 0 <= disco_warmup < epochs:
        raise ExplainError(f"disco_warmup must be an int >= 0 below epochs ({epochs}), so that some "
                           f"epoch trains at the full penalty; got {disco_warmup!r}")
    for name, y in (("y_train", y_train), ("y_val", y_val)):
        check_labels(y, name=name, both=False)
    if len(x_train) < 2 or len(x_val) < 1:  # batches of one input are skipped: nothing would train
        raise ExplainError(f"train_tagger needs at least 2 training and 1 validation inputs; got "
                           f"{len(x_train)} and {len(x_val)}")
    if len(x_train) != len(y_train) or len(x_val) != len(y_val) or batch_size < 1:
        raise ExplainError(
            f"inputs and labels must have equal lengths and batch_size >= 1; got "
            f"{len(x_train)}/{len(y_train)}, {len(x_val)}/{len(y_val)}, {batch_size}"
        )
    return epochs, patience


def _train_epoch(model: nn.Module, opt: torch.optim.Optimizer,
                 data: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None], order: torch.Tensor,
                 batch_size: int, weight: float, dev: torch.device) -> float | None:
    """One pass over the training inputs in ``order`` (batches of one input skipped): binary
    cross-entropy, plus ``weight`` times the DisCo penalty over each batch's label-0 inputs where
    ``data`` holds the decorrelated variable. Returns the summed loss, or ``None`` once a batch's
    loss is not finite (nothing of that batch is applied)."""
    xt, yt, dt = data
    loss_fn = nn.BCEWithLogitsLoss()
    total = 0.0
    for i in range(0, len(xt), batch_size):
        idx = order[i : i + batch_size]
        if len(idx) < 2:
            continue
        opt.zero_grad()
        logits = model(xt[idx].to(dev))
        loss = loss_fn(logits, yt[idx].to(dev))
        if dt is not None:
            bkg = yt[idx] == 0
            if int(bkg.sum()) >= 2:
                out = torch.sigmoid(logits.reshape(-1)[bkg.to(dev)])
                loss = loss + weight * distance_correlation(out, dt[idx][bkg].to(dev))
        if not torch.isfinite(loss):
            return None
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return total


def train_tagger(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 128,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    patience: int = 3,
    seed: int = 0,
    device: str | None = None,
    report: Callable[[int, float], bool] | None = None,
    reinit: bool = True,
    progress: bool = False,
    decorrelate: np.ndarray | None = None,
    disco_lambda: float = 0.0,
    decorrelate_val: np.ndarray | None = None,
    disco_warmup: int = 0,
) -> TrainResult:
    """Train with binary cross-entropy; keep the weights of the epoch with the best validation AUC
    (with a DisCo penalty: of the lowest validation loss, penalty included).

    Args:
        model: A tagger returning one logit per input.
        x_train, y_train, x_val, y_val: Data and 0/1 labels.
        epochs, lr, batch_size, weight_decay: The usual.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (momentum 0.9).
        patience: Stop after this many epochs without improvement.
        seed: Fixes the initial weights (with ``reinit``), the batch order and dropout.
        device: ``"cuda"``/``"cpu"``; default CUDA when available.
        report: Called as ``report(epoch, val_auc)`` after each epoch; returning ``True`` stops training
            (pruning by a hyperparameter search).
        reinit: Draw fresh initial weights from ``seed`` (``False`` continues from the current ones).
        progress: Show a progress bar over epochs (validation AUC as it goes).
        decorrelate: A variable per training input (the jet mass) the output should not depend on
            for the background (DisCo, arXiv 2001.05310: the loss gains ``disco_lambda`` times the
            squared distance correlation of sigmoid(output) and this variable over the label-0
            inputs of each batch; :mod:`explain.decorrelation`).
        disco_lambda: Weight of that penalty (0: none).
        decorrelate_val: The same variable for the validation inputs, needed when
            ``disco_lambda > 0``: the epoch kept (and early stopping) then follows the validation
            loss with the penalty (cross-entropy plus ``disco_lambda`` times dCor^2 over at most
            2048 label-0 validation inputs), not the AUC; ``val_auc`` is that epoch's AUC. Kept
            by AUC, the decorrelated tagger of the example CNN was its least decorrelated epoch
            (dCor^2 0.42 at lambda 10, as without the penalty; BENCHMARKS.md section 4).
        disco_warmup: Epochs over which the penalty's weight rises linearly to ``disco_lambda``
            (epoch ``e`` trains with ``disco_lambda * min(1, (e + 1) / (disco_warmup + 1))``), so
            that the classifier forms before the penalty dominates; the epoch kept, and the
            patience, count only from the first epoch at the full weight. 0: the full weight
            from the start.

    Returns:
        The :class:`TrainResult`; ``diverged`` is set when the loss became NaN (training stops there).

    Raises:
        ExplainError: unknown optimiser, bad sizes, labels other than 0 and 1, inputs that are not
            finite, ``epochs`` or ``patience`` not an int >= 1, ``lr`` not > 0 or ``weight_decay``
            negative.
    """
    opts = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if optimizer not in opts:
        raise ExplainError(f"optimizer must be one of {sorted(opts)}; got {optimizer!r}")
    epochs, patience = _check_training(x_train, y_train, x_val, y_val, epochs, lr, batch_size,
                                       weight_decay, patience, decorrelate, disco_lambda,
                                       decorrelate_val, disco_warmup)
    dev = _device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if reinit:
        for m in model.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
    model.to(dev)
    _check_logits(model, x_train, dev)
    kwargs = {"momentum": 0.9} if optimizer == "sgd" else {}
    opt = opts[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay, **kwargs)
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32)
    dt = torch.as_tensor(decorrelate, dtype=torch.float32) if disco_lambda > 0 else None
    result = TrainResult(val_auc=float("nan"), best_epoch=-1)
    best_merit = -np.inf
    val_penalty = (_disco_validation(y_val, decorrelate_val, disco_lambda, seed)
                   if disco_lambda > 0 and decorrelate_val is not None else None)
    best_state = None
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, desc="training", unit="epoch", disable=not progress, dynamic_ncols=True)
    for epoch in range(epochs):
        bar.update(1)
        model.train()
        weight = disco_lambda * min(1.0, (epoch + 1) / (disco_warmup + 1))
        order = torch.randperm(len(xt), generator=gen)
        total = _train_epoch(model, opt, (xt, yt, dt), order, batch_size, weight, dev)
        if total is None:
            result.diverged = True
            break
        score = predict(model, x_val)
        auc = roc_auc(score, y_val) if np.all(np.isfinite(score)) else float("nan")
        entry = {"epoch": epoch, "loss": total / len(xt), "val_auc": auc}
        if val_penalty is not None:
            entry["val_loss"] = val_penalty(score)
        result.history.append(entry)
        bar.set_postfix(val_auc=f"{auc:.4f}")
        # the figure of merit: the AUC, or minus the validation loss with the DisCo penalty
        merit = auc if val_penalty is None else -entry["val_loss"]
        if epoch >= disco_warmup and np.isfinite(merit) and not merit <= best_merit:
            best_merit, result.val_auc, result.best_epoch = merit, auc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if report is not None and report(epoch, auc):
            break
        if epoch - max(result.best_epoch, disco_warmup - 1) >= patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
