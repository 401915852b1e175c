"""Plots for notebooks: image grids (relevance, filters, SHAP), ADO ranking, correlation maps, windows.

Every function returns a matplotlib ``Figure`` (shown inline by notebooks) and uses the mplhep style.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tuner.plotting import styled

__all__ = ["ado_ranking", "correlation_heatmap", "image_grid", "particle_scatter", "report_figures",
           "window_plot"]


@styled
def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    symmetric: bool = True,
    cols: int = 4,
    half_width: float = 1.25,
    cmap: str | None = None,
    label: str = "",
) -> Any:
    """A row-major grid of 2D maps on the jet-image axes; ``symmetric`` centres the colour scale on 0."""
    import matplotlib.pyplot as plt

    n = len(images)
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.3 * rows), squeeze=False)
    ext = (-half_width, half_width, -half_width, half_width)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        img = np.asarray(images[i]).squeeze()
        if symmetric:
            v = float(np.max(np.abs(img))) or 1.0
            im = ax.imshow(img, origin="lower", extent=ext, cmap=cmap or "RdBu_r", vmin=-v, vmax=v)
        else:
            im = ax.imshow(img, origin="lower", extent=ext, cmap=cmap or "viridis")
        cb = fig.colorbar(im, ax=ax, fraction=0.046)
        cb.ax.tick_params(labelsize=8)
        cb.set_label(label, fontsize=9)
        if titles is not None:
            ax.set_title(titles[i], fontsize=11)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("x (rotated $\\eta$)", fontsize=9)
        ax.set_ylabel("y (rotated $\\phi$)", fontsize=9)
    fig.tight_layout()
    return fig


@styled
def ado_ranking(table: Any, n: int = 15) -> Any:
    """Horizontal bars of the ``n`` highest ADOs (hatched where the observable is anti-ordered)."""
    import matplotlib.pyplot as plt

    top = table.sort_values("ado", ascending=False).head(n)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(top) + 1.5))
    colors = ["tab:blue" if d > 0 else "tab:orange" for d in top["direction"]]
    ax.barh(list(top.index), top["ado"], color=colors)
    ax.axvline(0.5, color="grey", ls=":")
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel("ADO with the network (blue: same direction, orange: reversed)", fontsize=11)
    ax.tick_params(axis="y", labelsize=9)
    ax.tick_params(axis="x", labelsize=11)
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.12, top=0.97)
    return fig


@styled
def correlation_heatmap(corr: Any) -> Any:
    """Pearson correlations of network quantities (rows) with observables (columns)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.45 * corr.shape[1] + 3, 0.4 * corr.shape[0] + 2))
    im = ax.imshow(corr.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(corr.shape[1]), corr.columns, rotation=90, fontsize=8)
    ax.set_yticks(range(corr.shape[0]), corr.index, fontsize=8)
    fig.colorbar(im, ax=ax, label="Pearson correlation")
    fig.tight_layout()
    return fig


@styled
def window_plot(name: str, wins: Sequence[Any]) -> Any:
    """Mean network output per class across narrow windows of one observable."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    mid = [0.5 * (w.low + w.high) for w in wins]
    ax.plot(mid, [w.mean_signal for w in wins], "o-", label="W jets")
    ax.plot(mid, [w.mean_background for w in wins], "s-", label="QCD jets")
    ax.set_xlabel(name)
    ax.set_ylabel("mean network output in window")
    ax.legend()
    fig.tight_layout()
    return fig


@styled
def particle_scatter(features: np.ndarray, relevance: np.ndarray, jets: Sequence[int],
                     titles: Sequence[str] | None = None) -> Any:
    """The particles of a few jets on the (d_eta, d_phi) plane about the jet axis: area by momentum
    fraction, colour by relevance (centred on 0).

    Args:
        features: :func:`explain.particles.constituent_features` inputs (``(jets, particles, 4)``).
        relevance: Per-particle relevance (``(jets, particles)``,
            :func:`explain.particles.particle_relevance`).
        jets: Indices of the jets to draw, one panel each.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(jets), figsize=(4.2 * len(jets), 3.8), squeeze=False)
    for k, (i, ax) in enumerate(zip(jets, axes.flat, strict=True)):
        present = features[i, :, 3] > 0
        z, deta, dphi = (features[i, present, c] for c in range(3))
        r = relevance[i, present]
        v = float(np.max(np.abs(r))) or 1.0
        sc = ax.scatter(deta, dphi, s=2000 * z, c=r, cmap="RdBu_r", vmin=-v, vmax=v, edgecolors="k",
                        linewidths=0.3)
        fig.colorbar(sc, ax=ax, fraction=0.046).set_label("relevance", fontsize=9)
        ax.set_xlim(-1.0, 1.0)
        ax.set_ylim(-1.0, 1.0)
        ax.set_xlabel("$\\Delta\\eta$", fontsize=10)
        ax.set_ylabel("$\\Delta\\phi$", fontsize=10)
        ax.set_title(titles[k] if titles is not None else f"jet {i}", fontsize=11)
    fig.tight_layout()
    return fig


def report_figures(report: Any) -> dict[str, Any]:
    """All figures of a :class:`explain.mapping.PhysicsReport`, by name (duck-typed: this module
    sits below :mod:`explain.mapping`)."""
    figs = {
        "ado_ranking": ado_ranking(report.table),
        "correlations": correlation_heatmap(report.correlations),
    }
    if report.pixel_corr is not None:
        figs["pixel_correlation"] = image_grid(
            [report.pixel_corr], ["pixel intensity vs output"], label="Pearson r"
        )
    if report.mean_relevance:
        s, b = report.mean_relevance["signal"], report.mean_relevance["background"]
        figs["mean_relevance"] = image_grid(
            [s, b, s - b], ["mean relevance, W", "mean relevance, QCD", "difference"], cols=3
        )
    for name, wins in report.windows.items():
        figs[f"windows_{name}"] = window_plot(name, wins)
    return figs
