"""Synthetic test functions of the BO benchmark (minimisation, known optima)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
               [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def branin(x) -> float:
    x1, x2 = x
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


def hartmann6(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


def ackley(x) -> float:
    x = np.asarray(x, dtype=float)
    d = len(x)
    return float(-20 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / d))
                 - np.exp(np.sum(np.cos(2 * np.pi * x)) / d) + 20 + np.e)


@dataclass(frozen=True)
class Problem:
    name: str
    f: Callable[..., float]
    bounds: list[tuple[float, float]]
    fmin: float
    n_calls: int
    noise_sd: float = 0.0


PROBLEMS = {
    "branin": Problem("Branin", branin, [(-5.0, 10.0), (0.0, 15.0)], 0.397887, 40),
    "hartmann6": Problem("Hartmann6", hartmann6, [(0.0, 1.0)] * 6, -3.322368, 60),
    "ackley5": Problem("Ackley-5", ackley, [(-32.768, 32.768)] * 5, 0.0, 80),
    "noisy_hartmann6": Problem("noisy Hartmann6", hartmann6, [(0.0, 1.0)] * 6, -3.322368, 60, 0.1),
}
