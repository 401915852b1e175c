"""Plots of a tune: data vs default vs tune with ratio panels, convergence, traces, surrogate slices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from tuner.hpo.report import plot_convergence
from tuner.mc.recommend import TuneResult
from tuner.mc.refdata import RefHisto, read_plot_info, shipped_files
from tuner.mc.setup import TuneSetup
from tuner.optimizer import Optimizer
from tuner.plotting import save, styled

__all__ = ["convergence", "correlation", "histogram_comparison", "profiles", "slices", "summary_plots",
           "traces", "tune_plots"]



@styled
def histogram_comparison(data: RefHisto, sims: dict[str, RefHisto], title: str = "",
                         xlabel: str = "", ylabel: str = "", logy: bool | None = None) -> plt.Figure:
    """Data points against simulated histograms, with a simulation / data ratio panel."""
    fig, (ax, rax) = plt.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    x = (data.xlow + data.xhigh) / 2
    ax.errorbar(x, data.values, yerr=data.errors, fmt="ko", ms=4, label="data")
    edges = np.append(data.xlow, data.xhigh[-1])
    for (label, h), c in zip(sims.items(), ["tab:blue", "tab:red", "tab:green"], strict=False):
        ax.stairs(h.values, edges, color=c, label=label, lw=1.8)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(data.values != 0, h.values / data.values, np.nan)
        rax.stairs(r, edges, color=c, lw=1.8)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(data.values != 0, data.errors / np.abs(data.values), np.nan)
    rax.fill_between(edges, np.append(1 - rel, 1 - rel[-1]), np.append(1 + rel, 1 + rel[-1]),
                     step="post", color="grey", alpha=0.3)
    rax.axhline(1, color="k", lw=0.8)
    rax.set_ylim(0.7, 1.3)
    rax.set_ylabel("MC / data")
    if logy is None:
        logy = bool(np.all(data.values > 0) and data.values.max() / max(data.values.min(), 1e-300) > 30)
    if logy and np.all(data.values > 0):
        ax.set_yscale("log")
    ax.set_title(f"{data.key}\n{title}" if title else data.key, fontsize=10)
    rax.set_xlabel(xlabel, fontsize=12)
    ax.set_ylabel(ylabel, fontsize=12)
    ax.legend(fontsize=11)
    return fig


def convergence(opt: Optimizer) -> plt.Figure:
    """Chi2 of each evaluation and the running best (the search report's convergence plot)."""
    return plot_convergence(opt, ylabel=r"$\chi^2$", logy=True)


@styled
def traces(opt: Optimizer, best: dict[str, float], truth: dict[str, float] | None) -> plt.Figure:
    """Each parameter against the evaluation number, with the tune (and the closure truth)."""
    names = opt.space.dimension_names
    fig, axes = plt.subplots(len(names), 1, sharex=True, figsize=(7, 2.2 * len(names) + 1),
                             squeeze=False)
    done = [t for t in opt.trials if t.state == "complete"]
    for i, (nm, ax) in enumerate(zip(names, axes[:, 0], strict=True)):
        ax.plot([t.id for t in done], [t.x[i] for t in done], "o", ms=3)
        ax.axhline(best[nm], color="tab:red", label="tune")
        if truth and nm in truth:
            ax.axhline(truth[nm], color="k", ls="--", label="truth")
        ax.set_ylabel(nm, fontsize=9)
    axes[0, 0].legend(fontsize=9)
    axes[-1, 0].set_xlabel("evaluation")
    return fig


@styled
def slices(opt: Optimizer, best: dict[str, float]) -> plt.Figure:
    """1-D slices of the surrogate chi2 through the tune, and a 2-D slice of the first pair."""
    names = opt.space.dimension_names
    dims = opt.space.dimensions
    n = len(names)
    fig, axes = plt.subplots(1, n + (1 if n >= 2 else 0), figsize=(4.5 * (n + 1), 4.2),
                             squeeze=False)
    x0 = [best[nm] for nm in names]
    for i, ax in enumerate(axes[0, :n]):
        grid = np.linspace(dims[i].low, dims[i].high, 80)  # type: ignore[attr-defined]
        pts = [[*x0[:i], g, *x0[i + 1:]] for g in grid]
        m, s = opt.predict(pts)
        ax.plot(grid, opt.unwarp(m), color="tab:blue")
        ax.fill_between(grid, opt.unwarp(m - s), opt.unwarp(m + s), alpha=0.3)
        ax.axvline(x0[i], color="tab:red")
        ax.set_xlabel(names[i], fontsize=10)
        ax.set_ylabel(r"surrogate $\chi^2$")
        ax.set_yscale("log" if opt.y_warp == "log" else "linear")
    if n >= 2:
        ax = axes[0, n]
        g0 = np.linspace(dims[0].low, dims[0].high, 40)  # type: ignore[attr-defined]
        g1 = np.linspace(dims[1].low, dims[1].high, 40)  # type: ignore[attr-defined]
        G0, G1 = np.meshgrid(g0, g1)
        pts = [[a, b, *x0[2:]] for a, b in zip(G0.ravel(), G1.ravel(), strict=True)]
        m, _ = opt.predict(pts)
        cs = ax.contourf(G0, G1, m.reshape(G0.shape), levels=20, cmap="viridis")
        fig.colorbar(cs, ax=ax, label=(r"log surrogate $\chi^2$" if opt.y_warp == "log"
                                        else r"surrogate $\chi^2$"))
        done = [t for t in opt.trials if t.state == "complete"]
        ax.plot([t.x[0] for t in done], [t.x[1] for t in done], "w.", ms=4)
        ax.plot(x0[0], x0[1], "r*", ms=14)
        ax.set_xlabel(names[0], fontsize=10)
        ax.set_ylabel(names[1], fontsize=10)
    fig.tight_layout()
    return fig


def _save(fig: plt.Figure, path: Path, dpi: int = 90) -> Path:
    """Write ``fig`` to ``path`` (:func:`tuner.plotting.save`) and return the path."""
    save(fig, path, dpi)
    return path


def summary_plots(folder: Path, opt: Optimizer, best: dict[str, float],
                  truth: dict[str, float] | None) -> list[Path]:
    """Write ``convergence.png``, ``traces.png`` and ``slices.png``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in (("convergence", convergence(opt)), ("traces", traces(opt, best, truth)),
                      ("slices", slices(opt, best))):
        written.append(_save(fig, folder / f"{name}.png"))
    return written


@styled
def correlation(result: TuneResult) -> plt.Figure:
    """The correlation matrix of the quoted covariance, with the numbers."""
    names = list(result.best)
    C = np.asarray(result.correlation)
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 4, 1.1 * len(names) + 3))
    im = ax.imshow(C, vmin=-1, vmax=1, cmap="RdBu_r")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{C[i, j]:.2f}", ha="center", va="center", fontsize=10,
                    color="white" if abs(C[i, j]) > 0.5 else "black")
    short = [n.split(":")[-1] for n in names]
    ax.set_xticks(range(len(names)), short, rotation=45, ha="right", fontsize=10)
    ax.set_yticks(range(len(names)), short, fontsize=10)
    fig.colorbar(im, ax=ax, label="correlation")
    fig.tight_layout()
    return fig


@styled
def profiles(result: TuneResult) -> plt.Figure:
    """The profile of the emulated chi2 per parameter, with the tune and its one-sigma interval."""
    names = list(result.profiles)
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.2), squeeze=False)
    for ax, nm in zip(axes[0], names, strict=True):
        p = result.profiles[nm]
        pts = sorted([*zip(p["x"], p["delta_chi2"], strict=True), (result.best[nm], 0.0)])
        ax.plot([a for a, _ in pts], [max(b, 0.0) for _, b in pts], "o-", ms=3)
        ax.axvline(result.best[nm], color="tab:red")
        ax.axvspan(result.best[nm] - result.uncertainties[nm], result.best[nm] + result.uncertainties[nm],
                   color="tab:red", alpha=0.15)
        ax.set_xlabel(nm, fontsize=10)
        ax.set_ylabel(r"$\Delta\chi^2$ (emulated, profiled)")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0.0)
        if nm in result.unconstrained:
            ax.set_title("unconstrained", fontsize=10)
    fig.tight_layout()
    return fig


def tune_plots(folder: Path, setup: TuneSetup, opt: Optimizer, result: TuneResult,
               sims: dict[str, dict[str, RefHisto]]) -> list[Path]:
    """Write every plot of a tune as PNG files; return their paths."""
    folder = Path(folder)
    (folder / "histograms").mkdir(parents=True, exist_ok=True)
    written = summary_plots(folder, opt, result.best, (setup.config.closure or {}).get("truth"))
    figs = [("correlation", correlation(result))]
    if result.profiles:
        figs.append(("profiles", profiles(result)))
    for name, fig in figs:
        written.append(_save(fig, folder / f"{name}.png"))

    info: dict[str, Any] = {}
    plot_files = [shipped_files(a).get("plot") for a in setup.config.analyses]
    plot_files += [Path(str(f).replace(".yoda.gz", ".plot").replace(".yoda", ".plot"))
                   for f in setup.config.refdata if isinstance(f, str)]
    for f in plot_files:
        if f is not None:
            info.update(read_plot_info(f))
    for key in setup.keys:
        pi = info.get(key)
        fig = histogram_comparison(setup.data[key], {lab: s[key] for lab, s in sims.items()
                                                     if key in s},
                                   title=pi.title if pi else "", xlabel=pi.xlabel if pi else "",
                                   ylabel=pi.ylabel if pi else "", logy=pi.logy if pi else None)
        written.append(_save(fig, folder / "histograms" / (key.replace("/", "_") + ".png"), dpi=80))
    return written
