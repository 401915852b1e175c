"""Output warps: monotone maps of objective values to the values the Gaussian process models.

A GP with a stationary kernel and Gaussian noise fits values whose spread is about the same
everywhere. Many objectives are not like that: a few evaluations far up a wall (six-hump camel at its
corners, Rosenbrock, Dixon-Price) set the scale, and the basin where the minimum lies is flattened to
a rounding error of it. A monotone warp keeps the order of the values (so the minimiser and the
improvement over the incumbent mean the same) and evens out their spread:

* ``"none"``: the values themselves.
* ``"log"``: ``log y`` (values must be positive), for objectives that vary over decades such as a
  chi2.
* ``"power"``: the power transform of HEBO (Cowen-Rivers et al., arXiv 2012.03826), refitted at each
  refit: the values divided by their standard deviation, then Box-Cox when they are all positive
  (log-like near zero: it resolves the basin of a loss whose minimum is near 0; the exponent that
  makes the normal probability plot straightest, scipy's default) and Yeo-Johnson otherwise (the
  maximum-likelihood exponent), within [-3, 3]. Exponent 1 is (up to a shift) the identity, so
  evenly spread values are left about as they are.
* ``"loo"`` (the default of :func:`tuner.gp_minimize` and :class:`tuner.Optimizer` on spaces without
  categorical dimensions; chosen by the optimiser from :meth:`OutputWarp.family`): at each fit,
  HEBO's fit or the knee warp (:meth:`OutputWarp.knee`, ``log(1 + (y - min y) / c)`` with ``c`` the
  median height above the best value told), whichever the Gaussian process predicts each told value
  better from the others under, on the objective's own scale (:func:`tuner.surrogate.mll.warp_loo`).
  HEBO's exponent makes the values' histogram normal, which says nothing about how they vary over
  the space: as a search crowds a bowl whose minimum value is near 0 the histogram turns log-normal,
  the exponent goes to 0, and the log of a quadratic is a cone whose tip the GP cannot model (an 8-D
  ellipsoid and a 10-D sum of squares 5x behind Optuna's GPSampler). The knee warp is linear at the
  best value (a smooth basin stays smooth) and logarithmic far up the walls; HEBO's fit wins where
  the basin itself is steep or quartic (Powell, Zakharov). Where no choice can be made (no GP fitted
  yet, known noise variances) it is HEBO's fit. BENCHMARKS.md section 1, session 37.

A warp maps the told values before the model sees them (known noise variances through its slope,
to first order) and maps predictions back (:meth:`OutputWarp.inverse`: the posterior median).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from tuner.errors import TunerError

__all__ = ["KNEE_PERCENTILE", "MIN_RELATIVE_SPREAD", "Y_WARPS", "OutputWarp", "yeo_johnson_llf"]

#: output warps a surrogate can model
Y_WARPS = ("none", "log", "power")
#: the knee of :meth:`OutputWarp.knee` is this percentile of the told values' heights above the
#: smallest
KNEE_PERCENTILE = 50.0
#: a power warp whose values spread over less than this fraction of their magnitude is the
#: identity instead: over so narrow a range every exponent is nearly linear (it bends by about
#: ``|lam - 1|`` times that fraction), and what is left is harm. Box-Cox with a negative exponent
#: of values a million above zero lost their differences to rounding (``(z^-3 - 1) / -3`` is 1/3
#: to the last digit); with exponent 3 it made them 1e18 apart from zero, and the noisy-EI
#: search on that posterior ended in a gradient of not-a-number (session 37)
MIN_RELATIVE_SPREAD = 1e-3


def _spread(y: np.ndarray) -> float | None:
    """The standard deviation the power warps divide by, or ``None`` where no exponent can be
    fitted: fewer than three distinct values, no spread, or values that are not finite."""
    sd = float(np.std(y)) if len(y) else 0.0
    if len(np.unique(y)) < 3 or not sd > 0 or not np.all(np.isfinite(y)):
        return None
    return sd


def yeo_johnson_llf(lam: float, z: np.ndarray, log_jacobian: float | None = None) -> float:
    """The Yeo-Johnson log-likelihood of the exponent ``lam`` for the values ``z`` (scipy's
    ``stats.yeojohnson_llf``: ``-n/2 log var(psi(z, lam)) + (lam - 1) sum sign(z) log(1 + |z|)``,
    ``-inf`` where the transformed values have no variance), without scipy's per-call overhead
    (a millisecond, 18% of an ask+tell at 100 observations when called by the exponent search).

    Args:
        lam: The exponent.
        z: The values (1-D).
        log_jacobian: ``sum(sign(z) * log1p(abs(z)))``, when the caller has it (it does not
            depend on ``lam``).
    """
    if log_jacobian is None:
        log_jacobian = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))
    pos = z >= 0
    out = np.empty_like(z, dtype=float)
    lp, ln = np.log1p(z[pos]), np.log1p(-z[~pos])
    out[pos] = lp if abs(lam) < np.spacing(1.0) else np.expm1(lam * lp) / lam
    out[~pos] = -ln if abs(lam - 2) < np.spacing(1.0) else -np.expm1((2 - lam) * ln) / (2 - lam)
    var = float(np.var(out))
    if not var >= np.finfo(float).tiny:
        return -np.inf
    return -len(z) / 2 * np.log(var) + (lam - 1) * log_jacobian


def _power_exponent(z: np.ndarray, method: str) -> float:
    """HEBO's exponent of ``method`` for the values ``z`` (within [-3, 3]; 1 where the search
    fails): for Box-Cox (``z`` positive) the one that makes the normal probability plot
    straightest, scipy's default; for Yeo-Johnson the maximum-likelihood one."""
    if method == "box-cox":
        zs = np.sort(z)  # Box-Cox keeps the order: the plot's normal quantiles are fixed
        osm = stats.probplot(zs, dist="norm", fit=False)[0]

        def loss(lam: float) -> float:
            return -float(np.corrcoef(osm, stats.boxcox(zs, lam))[0, 1])
    else:
        jac = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))

        def loss(lam: float) -> float:
            return -yeo_johnson_llf(lam, z, jac)
    with np.errstate(all="ignore"):  # a bounded search: scipy's own bracket search can fail
        res = optimize.minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return float(res.x) if np.isfinite(res.fun) else 1.0


def _resolves(warp: OutputWarp, y: np.ndarray) -> bool:
    """Whether ``warp`` does more than a nearly linear map of the values ``y`` could (finite
    warped values spread over at least :data:`MIN_RELATIVE_SPREAD` of their largest magnitude)."""
    with np.errstate(all="ignore"):
        w = warp(y)
    if not np.all(np.isfinite(w)):
        return False
    return bool(np.ptp(w) > MIN_RELATIVE_SPREAD * np.max(np.abs(w)))


@dataclass(frozen=True)
class OutputWarp:
    """One fitted output warp.

    Attributes:
        kind: One of :data:`Y_WARPS`.
        method: ``"box-cox"``, ``"yeo-johnson"`` or ``"identity"`` (``"power"`` only).
        scale: The values are divided by it before the transform (``"power"`` only).
        lam: The exponent (``"power"`` only).
        shift: Subtracted from the values before they are divided by ``scale`` (``"power"``
            only; 0 for the warps :meth:`fit` makes).
    """

    kind: str = "none"
    method: str = "identity"
    scale: float = 1.0
    lam: float = 1.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in Y_WARPS:
            raise TunerError(f"y_warp must be one of {Y_WARPS}, got {self.kind!r}")

    @classmethod
    def fit(cls, kind: str, y: np.ndarray) -> OutputWarp:
        """The warp of ``kind`` for the told values ``y`` (``"power"`` fits its exponent;
        fewer than three distinct values keep the identity; ``"loo"`` is fitted as ``"power"``,
        the optimiser's fallback where it cannot choose from :meth:`family`)."""
        if kind not in ("power", "loo"):
            return cls(kind)
        y = np.asarray(y, dtype=float)
        sd = _spread(y)
        if sd is None:
            return cls("power")
        z = y / sd
        method = "box-cox" if np.all(z > 0) else "yeo-johnson"
        lam = _power_exponent(z, method)
        warp = cls("power", method, sd, lam)
        # values far from zero against their spread (a loss a million above its floor): every
        # exponent is then nearly linear over them, and the fitted one may lose them to rounding
        # or blow them up
        return warp if _resolves(warp, y) else cls("power")

    @classmethod
    def knee(cls, y: np.ndarray, percentile: float = KNEE_PERCENTILE) -> OutputWarp:
        """The warp ``log(1 + (y - m) / c)`` for the told values ``y``, ``m`` their smallest and
        ``c`` the ``percentile``-th percentile of the heights above it (the median by default):
        about linear within ``c`` of the best value told, so a smooth basin stays smooth (a log
        of values whose minimum is near 0 makes a bowl a cone), and logarithmic above, so walls
        far up do not flatten the basin. As the search closes in, ``c`` falls with the heights it
        tells. Fewer than three distinct values keep the identity.

        Returns:
            A ``"power"`` warp: Yeo-Johnson with exponent 0 of ``(y - m) / c`` (its inverse and
            slope are Yeo-Johnson's, and values below ``m`` map as well).
        """
        y = np.asarray(y, dtype=float)
        if _spread(y) is None:
            return cls("power")
        low = float(np.min(y))
        heights = y - low
        c = float(np.percentile(heights[heights > 0], percentile))
        warp = cls("power", "yeo-johnson", c, 0.0, low)
        return warp if c > 0 and _resolves(warp, y) else cls("power")

    @classmethod
    def family(cls, y: np.ndarray) -> list[OutputWarp]:
        """The warps the ``"loo"`` choice compares for the told values ``y``: HEBO's fit
        (:meth:`fit`) and the knee warp (:meth:`knee`), the second left out where it cannot be
        made (it is then the identity)."""
        y = np.asarray(y, dtype=float)
        hebo, knee = cls.fit("power", y), cls.knee(y)
        return [hebo] if knee.method == "identity" else [hebo, knee]

    def __call__(self, y: Any) -> np.ndarray:
        """Warp objective values."""
        y = np.asarray(y, dtype=float)
        if self.kind == "log":
            return np.log(y)
        if self.kind == "none" or self.method == "identity":
            return y
        z = (y - self.shift) / self.scale
        if self.method == "box-cox":
            return np.log(z) if self.lam == 0 else (np.power(z, self.lam) - 1.0) / self.lam
        return np.asarray(stats.yeojohnson(z, self.lam))

    def slope(self, y: Any) -> np.ndarray:
        """``d warp / d y`` at ``y`` (for known noise variances, to first order)."""
        y = np.asarray(y, dtype=float)
        if self.kind == "log":
            return 1.0 / y
        if self.kind == "none" or self.method == "identity":
            return np.ones_like(y)
        z = (y - self.shift) / self.scale
        if self.method == "box-cox":
            return np.power(z, self.lam - 1.0) / self.scale
        pos = np.power(np.abs(z) + 1.0, self.lam - 1.0)
        neg = np.power(np.abs(z) + 1.0, 1.0 - self.lam)
        return np.where(z >= 0, pos, neg) / self.scale

    def inverse(self, w: Any) -> np.ndarray:
        """Map modelled values back to the objective's scale (beyond the warp's range, to its edge)."""
        w = np.asarray(w, dtype=float)
        if self.kind == "log":
            return np.exp(w)
        if self.kind == "none" or self.method == "identity":
            return w
        lam = self.lam
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.method == "box-cox":
                z = np.exp(w) if lam == 0 else np.power(np.maximum(lam * w + 1.0, 0.0), 1.0 / lam)
            else:
                zp = (np.expm1(np.maximum(w, 0.0)) if lam == 0 else
                      np.power(np.maximum(lam * np.maximum(w, 0.0) + 1.0, 0.0), 1.0 / lam) - 1.0)
                zn = (-np.expm1(-np.minimum(w, 0.0)) if lam == 2 else
                      1.0 - np.power(np.maximum(1.0 - (2.0 - lam) * np.minimum(w, 0.0), 0.0),
                                     1.0 / (2.0 - lam)))
                z = np.where(w >= 0, zp, zn)
        big = np.finfo(float).max / 4 / max(self.scale, 1.0)  # scale * big stays finite
        return self.shift + self.scale * np.nan_to_num(z, nan=0.0, posinf=big, neginf=-big)

    def std(self, mean_w: Any, std_w: Any) -> np.ndarray:
        """A standard deviation of the modelled scale mapped to the objective's, to first order
        about the posterior median."""
        return np.asarray(std_w, dtype=float) / np.maximum(self.slope(self.inverse(mean_w)), 1e-300)
