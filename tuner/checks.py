"""The checks of what an :class:`~tuner.optimizer.Optimizer` is given: scikit-optimize's
arguments it cannot honour, seeds, and told values, noise variances and extras, each refused with
one error that states the rule and the value received, before anything is recorded.
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import numpy as np
import torch

from tuner.errors import EvaluationError, SpaceError, TunerError
from tuner.storage import plain_json

__all__ = ["check_device", "check_extras", "check_noise", "check_skopt_arguments", "check_value",
           "estimator_kind", "has_std_predict", "is_listlike", "is_real", "is_whole", "seed_of", "split_told"]


def is_listlike(v: Any) -> bool:
    """A list, tuple or numpy array (a point, or several)."""
    return isinstance(v, (list, tuple, np.ndarray))


def seed_of(random_state: Any) -> int:
    """The integer seed of every random choice from scikit-optimize's ``random_state``: ``None``
    (fresh entropy), an int >= 0, or a numpy ``RandomState`` / ``Generator``, from which one
    number is drawn (so a generator shared by several runs gives each its own seed).

    Raises:
        TunerError: anything else.
    """
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    whole = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    if random_state is None or (whole and random_state >= 0):
        return int(np.random.SeedSequence(None if random_state is None else int(random_state))
                   .generate_state(1)[0] % 2**31)
    raise TunerError(f"random_state must be None, an int >= 0 or a numpy RandomState / Generator, "
                     f"got {random_state!r}")


def check_device(device: Any) -> torch.device:
    """The torch device of the surrogate: ``None`` (the CPU), a name torch knows (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``, ...) or a ``torch.device``, present on this machine.

    Raises:
        TunerError: a name torch does not know, or a device this machine does not have.
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise TunerError(f"device must be None, a torch.device or a name such as 'cpu' or 'cuda', "
                         f"got {device!r}") from err
    if dev.type == "cuda" and (not torch.cuda.is_available()
                               or (dev.index or 0) >= torch.cuda.device_count()):
        raise TunerError(f"device {device!r} is not available: torch sees "
                         f"{torch.cuda.device_count()} CUDA device(s) on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise TunerError(f"device must be the CPU or a CUDA device, got {device!r}")
    return dev


def has_std_predict(estimator: Any) -> bool:
    """Whether ``estimator`` is a regressor an acquisition can use: ``fit`` and
    ``predict(X, return_std=...)``."""
    predict = getattr(estimator, "predict", None)
    if not (callable(getattr(estimator, "fit", None)) and callable(predict)):
        return False
    try:
        return "return_std" in inspect.signature(predict).parameters
    except (TypeError, ValueError):
        return False


def estimator_kind(base_estimator: Any) -> str:
    """``"GP"`` (this toolkit's GP: ``None``, ``"GP"`` or a ``GaussianProcessRegressor``),
    ``"DUMMY"`` (random search), or ``"regressor"`` (one of ``"RF"``, ``"ET"``, ``"GBRT"``, or a
    regressor object with ``predict(X, return_std=...)``), as scikit-optimize reads its
    ``base_estimator`` (names in any case).

    Raises:
        TunerError: anything else.
    """
    if isinstance(base_estimator, type):
        raise TunerError(f"base_estimator must be an instance, got the class {base_estimator.__name__}: "
                         f"pass {base_estimator.__name__}() (with its options)")
    spelled = base_estimator.upper() if isinstance(base_estimator, str) else None
    gp_object = type(base_estimator).__name__ == "GaussianProcessRegressor"
    if base_estimator is None or spelled == "GP" or gp_object:
        return "GP"
    if spelled == "DUMMY":
        return "DUMMY"
    if spelled in ("RF", "ET", "GBRT") or (spelled is None and has_std_predict(base_estimator)):
        return "regressor"
    raise TunerError(f"base_estimator must be one of 'RF', 'ET', 'GP', 'GBRT' or 'DUMMY' (any case), a "
                     f"GaussianProcessRegressor, or a regressor with fit(X, y) and predict(X, "
                     f"return_std=True), got {base_estimator!r}")


def check_skopt_arguments(base_estimator: Any, acq_optimizer: Any, acq_func_kwargs: Any,
                          acq_optimizer_kwargs: Any) -> str:
    """Refuse, with a ValueError as scikit-optimize raises, what this optimiser cannot honour;
    return :func:`estimator_kind` of ``base_estimator``."""
    kind = estimator_kind(base_estimator)
    if kind == "regressor" and acq_optimizer == "lbfgs":
        raise TunerError(f"a regressor without gradients as base_estimator ({base_estimator!r}) should "
                         f"run with acq_optimizer='sampling' (or 'auto'), got {acq_optimizer!r}")
    if acq_optimizer not in ("auto", "lbfgs", "sampling"):
        raise TunerError(f"acq_optimizer must be 'auto', 'lbfgs' or 'sampling', got {acq_optimizer!r}")
    for label, kw in (("acq_func_kwargs", acq_func_kwargs), ("acq_optimizer_kwargs", acq_optimizer_kwargs)):
        if kw is not None and not isinstance(kw, dict):
            raise TunerError(f"{label} must be a dict or None, got {kw!r}")
    if acq_func_kwargs:
        unknown = set(acq_func_kwargs) - {"xi", "kappa"}
        if unknown:
            raise TunerError(f"acq_func_kwargs takes 'xi' and 'kappa', got {sorted(unknown)}")
    if acq_optimizer_kwargs:
        unknown = set(acq_optimizer_kwargs) - {"n_points", "n_restarts_optimizer", "n_jobs"}
        if unknown:
            raise TunerError(f"acq_optimizer_kwargs takes 'n_points', 'n_restarts_optimizer' and "
                             f"'n_jobs' (as scikit-optimize), got {sorted(unknown)}")
        for key, value in acq_optimizer_kwargs.items():
            check_skopt_count(value, f"acq_optimizer_kwargs[{key!r}]", allow_all=key == "n_jobs")
    return kind


def check_skopt_count(value: Any, name: str, allow_all: bool = False) -> None:
    """Refuse a count of scikit-optimize's acquisition search (``n_points``,
    ``n_restarts_optimizer``, ``n_jobs``) that is not an int >= 1 (or -1, all cores, where
    ``allow_all``): accepted for compatibility, they have no effect here, but a value skopt
    could not use is still a mistake worth naming."""
    if not is_whole(value) or not (value >= 1 or (allow_all and value == -1)):
        rule = "an int >= 1 or -1 (all cores)" if allow_all else "an int >= 1"
        raise TunerError(f"{name} must be {rule}, got {value!r}")


def is_real(v: Any) -> bool:
    """A Python or numpy real number (not a bool)."""
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def is_whole(v: Any) -> bool:
    """A Python int (not a bool, which is one to Python): the rule of every count argument."""
    return isinstance(v, int) and not isinstance(v, bool)


def check_value(y: Any, pt: list[Any], y_warp: str = "none") -> float:
    """A told objective value as a float.

    Raises:
        EvaluationError: no real number (a str, list, bool), not finite (``tell(x, None)``
            records a failed evaluation), or not positive under ``y_warp="log"``.
    """
    if isinstance(y, np.ndarray) and y.size == 1:
        y = y.item()
    if not is_real(y):
        raise EvaluationError(f"objective values must be real numbers, got {y!r} at {pt!r}")
    y = float(y)
    if not math.isfinite(y):
        raise EvaluationError(
            f"objective value must be finite, got {y!r} at {pt!r}; tell(x, None) records a "
            "failed evaluation")
    if y_warp == "log" and y <= 0:
        raise EvaluationError(f"y_warp='log' needs objective values > 0, got {y!r} at {pt!r}")
    return y


def check_noise(noise: Any, pt: list[Any]) -> float | None:
    """A told noise variance as a float (``None`` stays ``None``).

    Raises:
        EvaluationError: no finite number >= 0.
    """
    if noise is None:
        return None
    if not (is_real(noise) and noise >= 0 and math.isfinite(noise)):
        raise EvaluationError(f"noise must be a finite variance >= 0, got {noise!r} at {pt!r}")
    return float(noise)


def check_extras(info: Any, artifact: Any, pt: list[Any]) -> dict[str, Any] | None:
    """Refuse, before anything is recorded, what the storage could not keep: an ``info`` that
    is not a JSON-able dict (numpy and torch numbers and arrays in it count as the plain ones
    they mean, :func:`~tuner.storage.plain_json`), an ``artifact`` that is not bytes.

    Returns:
        The info as it is stored.
    """
    if info is not None:
        info = plain_json(info)
        try:
            ok = isinstance(info, dict) and bool(json.dumps(info, allow_nan=True))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise EvaluationError(f"info must be a dict of JSON values (or None), got {info!r} "
                                  f"at {pt!r}")
    if artifact is not None and not isinstance(artifact, bytes):
        raise EvaluationError(f"artifact must be bytes (or None), got {type(artifact).__name__} "
                              f"at {pt!r}")
    return info


def split_told(n_dims: int, x: Any, y: Any, noise: Any, info: Any,
               artifact: Any) -> list[tuple[Any, Any, Any, Any, Any]]:
    """What ``tell`` was given, one ``(point, value, noise, info, artifact)`` row per point:
    ``tell(x, y)`` for one point, ``tell([x1, x2], [y1, y2])`` for several (then ``noise``,
    ``info`` and ``artifact`` are lists, one entry per point, or one entry for all). Only the
    shapes are checked here; the values are checked row by row.

    Raises:
        SpaceError: several points, not all of ``n_dims`` values.
        EvaluationError: several points and not as many values (or noise variances).
    """
    many = len(x) > 0 and is_listlike(x[0])
    xs = list(x) if many else [x]
    if many and any(not is_listlike(xi) or len(xi) != n_dims for xi in xs):
        raise SpaceError(f"Not all points have the same dimensions as the space: each of the "
                         f"{len(xs)} points told needs {n_dims} values, got lengths "
                         f"{[len(xi) if is_listlike(xi) else 1 for xi in xs]}")
    if many and not is_listlike(y):
        raise EvaluationError(f"telling {len(xs)} points needs a list of {len(xs)} values, got {y!r}")
    ys = list(y) if many else [y]
    ns = list(noise) if many and is_listlike(noise) else [noise] * len(xs)
    infos = list(info) if many and isinstance(info, list) else [info] * len(xs)
    arts = list(artifact) if many and isinstance(artifact, list) else [artifact] * len(xs)
    if not (len(xs) == len(ys) == len(ns)):
        raise EvaluationError(f"tell needs as many values as points, got {len(xs)} points and "
                              f"{len(ys)} values")
    if not (len(infos) == len(arts) == len(xs)):
        raise EvaluationError(f"tell needs one info and one artifact per point (or one for all), "
                              f"got {len(xs)} points, {len(infos)} infos and {len(arts)} artifacts")
    return list(zip(xs, ys, ns, infos, arts, strict=True))
