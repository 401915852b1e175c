"""What a tagger learned, in the language of physics observables.

* :func:`pixel_correlation`: per-pixel Pearson correlation of image intensity with the network output
  (de Oliveira et al., arXiv 1511.05190, Fig. 7).
* :func:`ado`: average decision ordering between two discriminants over signal-background pairs
  (Faucett, Thaler, Whiteson, arXiv 2010.11998): the fraction of pairs the two order the same way,
  computed exactly (every pair, ties counted half).
* :func:`correlation_table`: Pearson correlations of any number of network quantities (output, hidden
  units, relevance summaries) with each observable.
* :func:`windows`: the mean network output per class in narrow windows of an observable
  (output at fixed mass / tau21).
* :func:`physics_report`: all of it in one call, as a table plus plots (:mod:`explain.plots`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from explain.errors import ExplainError, check_count, check_labels
from explain.plots import report_figures

__all__ = [
    "PhysicsReport",
    "Window",
    "ado",
    "correlation_table",
    "pearson",
    "physics_report",
    "pixel_correlation",
    "prong_maxima",
    "relevance_summaries",
    "windows",
]


def _column(name: str, v: Any) -> np.ndarray:
    """``v`` as a 1-D float array (one value per event).

    Raises:
        ExplainError: values that are not numbers, or not one per event.
    """
    try:
        out = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ExplainError(f"{name} must hold numbers, one per event; got {str(v)[:80]}") from None
    if out.ndim != 1:
        raise ExplainError(f"{name} must be 1-D (one value per event); got shape {out.shape}")
    return out


def _same_length(**arrays: np.ndarray) -> None:
    if len({len(a) for a in arrays.values()}) > 1:
        got = ", ".join(f"{k} {len(a)}" for k, a in arrays.items())
        raise ExplainError(f"{', '.join(arrays)} must have equal lengths; got {got}")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two samples (0 when either is constant); NaN entries are dropped.

    Raises:
        ExplainError: not two 1-D samples of numbers of the same length.
    """
    a, b = _column("a", a), _column("b", b)
    _same_length(a=a, b=b)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / den) if den > 0 else 0.0


def pixel_correlation(images: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pixel's intensity with ``output``; shape of one image (0 if constant).

    Raises:
        ExplainError: lengths differ, or a NaN or infinite value.
    """
    x = np.asarray(images, float).reshape(len(images), -1)
    y = _column("output", output)
    if len(x) != len(y):
        raise ExplainError(f"images and outputs must have the same length; got {len(x)} and {len(y)}")
    bad = int((~np.isfinite(x)).sum() + (~np.isfinite(y)).sum())
    if bad:
        raise ExplainError(f"images and outputs must be finite; got {bad} NaN or infinite values")
    xc, yc = x - x.mean(0), y - y.mean()
    den = np.sqrt(np.sum(xc * xc, 0) * np.sum(yc * yc))
    corr = np.divide(xc.T @ yc, den, out=np.zeros(x.shape[1]), where=den > 0)
    return corr.reshape(np.asarray(images).shape[1:])


@numba.njit(cache=True)
def _concordance(fs: np.ndarray, gs: np.ndarray, fb: np.ndarray, gb: np.ndarray) -> float:
    """Fraction of (signal, background) pairs that ``f`` and ``g`` order alike. A pair tied in one
    discriminant only counts 1/2; a pair tied in both says nothing and is left out, so any two
    discriminants related by a strictly increasing map give exactly 1 (and 0 when decreasing)."""
    total = 0.0
    n = 0
    for i in range(fs.size):
        for j in range(fb.size):
            df = fs[i] - fb[j]
            dg = gs[i] - gb[j]
            if df == 0 and dg == 0:
                continue
            n += 1
            d = df * dg
            if d > 0:
                total += 1.0
            elif d == 0:
                total += 0.5
    return total / n if n else 1.0


def ado(
    f: np.ndarray, g: np.ndarray, label: np.ndarray, max_per_class: int | None = 20000, seed: int = 0
) -> float:
    """Average decision ordering of discriminants ``f`` and ``g`` over (signal, background) pairs.

    1 means ``g`` orders every pair as ``f`` does, 0 the reverse of it, 0.5 no relation. A pair tied
    in one discriminant counts 1/2, a pair tied in both is left out (so ``ado(f, h(f)) == 1`` for any
    strictly increasing ``h``, also for discrete ``f``). Non-finite entries are dropped.

    Args:
        f, g: Discriminants per event.
        label: 1 for signal, 0 for background.
        max_per_class: Random subsample per class above this size (exact pairs below).
        seed: For that subsample.

    Raises:
        ExplainError: not 1-D arrays of numbers, lengths differ, a class is missing or
            ``max_per_class`` is neither None nor an int >= 1.
    """
    f, g = _column("f", f), _column("g", g)
    _same_length(f=f, g=g)
    label = check_labels(label, len(f), both=False)  # both among the finite pairs: below
    ok = np.isfinite(f) & np.isfinite(g)
    sig, bkg = np.flatnonzero(ok & (label == 1)), np.flatnonzero(ok & (label == 0))
    if len(sig) == 0 or len(bkg) == 0:
        raise ExplainError(f"ADO needs both classes; got {len(sig)} signal and {len(bkg)} background events")
    if max_per_class is not None:
        max_per_class = check_count(max_per_class, "max_per_class (or None: every pair)")
        rng = np.random.default_rng(seed)
        sig = sig if len(sig) <= max_per_class else rng.choice(sig, max_per_class, replace=False)
        bkg = bkg if len(bkg) <= max_per_class else rng.choice(bkg, max_per_class, replace=False)
    return float(_concordance(f[sig], g[sig], f[bkg], g[bkg]))


def correlation_table(quantities: dict[str, np.ndarray], observables: dict[str, np.ndarray]) -> Any:
    """Pearson correlation of each quantity (rows) with each observable (columns), as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(
        {o: {q: pearson(v, ov) for q, v in quantities.items()} for o, ov in observables.items()}
    )


def relevance_summaries(relevance: np.ndarray, half_width: float = 1.25) -> dict[str, np.ndarray]:
    """Scalar summaries of relevance maps ``(n, 1, k, k)``: total, core (R < 0.3), periphery, positive
    fraction and relevance-weighted radius from the image centre.

    Raises:
        ExplainError: not a batch of square maps.
    """
    shape = np.shape(relevance)
    if len(shape) < 3 or shape[-1] != shape[-2] or int(np.prod(shape[1:-2], dtype=int)) != 1:
        raise ExplainError(f"relevance must be square maps shaped (n, 1, k, k) or (n, k, k); got "
                           f"shape {shape}")
    r = np.asarray(relevance, float).reshape(len(relevance), *np.asarray(relevance).shape[-2:])
    k = r.shape[-1]
    centres = (np.arange(k) + 0.5) / k * 2 * half_width - half_width
    radius = np.hypot(centres[:, None], centres[None, :])
    total = r.sum((1, 2))
    core = r[:, radius < 0.3].sum(1)
    absr = np.abs(r).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "R_total": total,
            "R_core": core,
            "R_periphery": total - core,
            "R_positive_fraction": np.clip(r, 0, None).sum((1, 2)) / absr,
            "R_radius": (np.abs(r) * radius).sum((1, 2)) / absr,
        }


@dataclass
class Window:
    """Mean output per class in one bin of an observable."""

    low: float
    high: float
    mean_signal: float
    mean_background: float
    n_signal: int
    n_background: int


def prong_maxima(mean_map: np.ndarray, half_width: float = 1.25, prominence: float = 0.05
                 ) -> list[tuple[float, float]]:
    """Maxima of the positive relevance of a mean relevance map (jet-image frame, principal axis
    vertical) along the axis through the jet centre: ``(y, height relative to the highest)``,
    highest first.

    The relevance of the three central columns is summed row by row; a maximum counts when its
    prominence is at least ``prominence`` times the largest ``|row sum|``, so that specks of
    positive relevance beside a map dominated by negative relevance are not taken for prongs. A
    two-prong decision shows two maxima about ``2 m / pT`` apart.

    Raises:
        ExplainError: not one square map of at least 3 x 3 pixels.
    """
    from scipy.signal import find_peaks

    mean_map = np.asarray(mean_map, dtype=float)
    if mean_map.ndim != 2 or mean_map.shape[0] != mean_map.shape[1] or mean_map.shape[0] < 3:
        raise ExplainError(f"mean_map must be one square map of at least 3 x 3 pixels; got shape "
                           f"{mean_map.shape}")
    k = mean_map.shape[0]
    centres = (np.arange(k) + 0.5) / k * 2 * half_width - half_width
    rows = mean_map[:, k // 2 - 1 : k // 2 + 2].sum(1)
    profile = np.clip(rows, 0, None)
    scale = float(np.abs(rows).max())
    if scale <= 0 or profile.max() <= 0:
        return []
    peaks, _ = find_peaks(np.concatenate([[0.0], profile, [0.0]]), prominence=prominence * scale)
    peaks = sorted(peaks - 1, key=lambda i: -profile[i])
    return [(float(centres[i]), float(profile[i] / profile[peaks[0]])) for i in peaks]


def windows(output: np.ndarray, observable: np.ndarray, label: np.ndarray, edges: np.ndarray) -> list[Window]:
    """The mean of ``output`` for signal and for background in each bin ``edges[i]..edges[i+1]``.

    Raises:
        ExplainError: arrays of other lengths or shapes, or edges that are not at least two
            increasing numbers.
    """
    output, observable = _column("output", output), _column("observable", observable)
    _same_length(output=output, observable=observable)
    label = check_labels(label, len(output), both=False)
    edges = _column("edges", edges)
    if len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ExplainError(f"edges must be at least two increasing numbers; got {edges.tolist()}")
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = (observable >= lo) & (observable < hi)
        s, b = sel & (label == 1), sel & (label == 0)
        out.append(
            Window(
                float(lo),
                float(hi),
                float(np.mean(output[s])) if s.any() else np.nan,
                float(np.mean(output[b])) if b.any() else np.nan,
                int(s.sum()),
                int(b.sum()),
            )
        )
    return out


@dataclass
class PhysicsReport:
    """Result of :func:`physics_report`.

    Attributes:
        table: One row per observable: Pearson correlation with the output, ADO, the direction in which the
            observable agrees with the network (+1: larger means more signal-like to both), the jets
            the ADO was computed on (those where the observable and the output are finite: tau21,
            for one, is undefined on a jet of one constituent) and the ADO rank.
        correlations: Network quantities (output, hidden units, relevance summaries) x observables.
        pixel_corr: Per-pixel correlation map of intensity with the output (images only).
        mean_relevance: Mean relevance map per class, ``{"signal": ..., "background": ...}`` (images only).
        windows: Mean output per class in narrow windows, per observable named in ``window_edges``.
    """

    table: Any
    correlations: Any
    pixel_corr: np.ndarray | None = None
    mean_relevance: dict[str, np.ndarray] = field(default_factory=dict)
    windows: dict[str, list[Window]] = field(default_factory=dict)

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` observables with the highest ADO."""
        rows = self.table.sort_values("ado", ascending=False).head(n)
        return list(zip(rows.index, rows["ado"], strict=True))

    def plot(self) -> dict[str, Any]:
        """The report's figures by name (see :func:`explain.plots.report_figures`)."""
        return report_figures(self)


def physics_report(
    output: np.ndarray,
    observables: dict[str, np.ndarray],
    label: np.ndarray,
    images: np.ndarray | None = None,
    relevance: np.ndarray | None = None,
    hidden: dict[str, np.ndarray] | None = None,
    window_edges: dict[str, np.ndarray] | None = None,
) -> PhysicsReport:
    """Map a tagger's output onto observables: correlations, ADO ranking, windows, pixel maps.

    Args:
        output: Network output per jet (logit or probability; only its ordering matters for ADO).
        observables: Named observables per jet (e.g. :func:`explain.observables.jet_observables` plus EFPs).
        label: 1 for signal, 0 for background.
        images: Jet images, for the pixel correlation map.
        relevance: Relevance maps (e.g. :func:`explain.attribution.lrp`), summarised and averaged per class.
        hidden: Named hidden-unit activations per jet (e.g. ``{"dense_3": a[:, 3]}``).
        window_edges: Bin edges per observable for :func:`windows` (default: mass 50-110 GeV in 10 GeV
            steps and tau21 in 0.1 steps when those observables are present).

    Raises:
        ExplainError: no observables, lengths differ, or labels other than 0 and 1.
    """
    import pandas as pd

    output = np.asarray(output, float)
    label = check_labels(label, len(output))
    if not observables:
        raise ExplainError("observables must name at least one observable per jet (e.g. "
                           "jet_observables(sample)); got none")
    for name, v in observables.items():
        if len(v) != len(output):
            raise ExplainError(f"observable {name!r} has {len(v)} entries, the output {len(output)}")
    rows = {}
    for name, v in observables.items():
        a = ado(output, v, label)
        used = int((np.isfinite(output) & np.isfinite(np.asarray(v, float))).sum())
        rows[name] = {"pearson": pearson(output, v), "ado": max(a, 1 - a), "direction": 1 if a >= 0.5 else -1,
                      "jets": used}
    table = pd.DataFrame(rows).T
    table["jets"] = table["jets"].astype(int)
    table["rank"] = table["ado"].rank(ascending=False, method="min").astype(int)
    table = table.sort_values("ado", ascending=False)
    quantities = {"output": output, **(hidden or {})}
    report = PhysicsReport(table=table, correlations=None)
    if relevance is not None:
        rel = np.asarray(relevance)
        quantities.update(relevance_summaries(rel))
        report.mean_relevance = {
            "signal": rel[label == 1].mean(0).squeeze(),
            "background": rel[label == 0].mean(0).squeeze(),
        }
    report.correlations = correlation_table(quantities, observables)
    if images is not None:
        report.pixel_corr = pixel_correlation(images, output).squeeze()
    if window_edges is None:
        window_edges = {}
        if "mass" in observables:
            window_edges["mass"] = np.arange(50.0, 111.0, 10.0)
        if "tau21" in observables:
            window_edges["tau21"] = np.arange(0.1, 0.91, 0.1)
    report.windows = {
        k: windows(output, np.asarray(observables[k]), label, e) for k, e in window_edges.items()
    }
    return report
