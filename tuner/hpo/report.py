"""The report of a hyperparameter search: best configuration, all trials, convergence, partial dependence.

:func:`write_report` turns a :func:`tuner.gp_minimize` result into files a physicist looks at:
``best.json``, ``trials.csv`` and ``trials.md`` (every trial: state, hyperparameters, score, seed,
pruned or failed and why), ``convergence.png`` and ``partial_dependence.png`` (scikit-optimize's
``plot_objective``: on the diagonal the surrogate's mean as one hyperparameter varies, averaged over
random values of the others; below it the same for pairs, with the evaluated points).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuner.checks import is_whole
from tuner.errors import TunerError
from tuner.plotting import save, styled

__all__ = [
    "SearchReport",
    "partial_dependence",
    "plot_convergence",
    "plot_objective",
    "surrogate_mean",
    "trials_table",
    "write_report",
]


def _require(res: Any, keys: tuple[str, ...], who: str, optimizer_ok: bool = False) -> None:
    """Refuse anything but a result of :func:`tuner.gp_minimize` (or, where ``optimizer_ok``,
    an optimiser) that has ``keys``, naming what it lacks."""
    missing = [k for k in keys if not hasattr(res, k)]
    if missing:
        alt = " (or a tuner.Optimizer)" if optimizer_ok else ""
        raise TunerError(f"{who} needs the result of tuner.gp_minimize{alt}; got "
                         f"{type(res).__name__}, which lacks {missing}")


def _check_counts(who: str, **counts: Any) -> None:
    for name, value in counts.items():
        if not is_whole(value) or value < 1:
            raise TunerError(f"{who}: {name} must be an int >= 1, got {value!r}")


def surrogate_mean(res: Any, points: list[list[Any]]) -> np.ndarray:
    """The surrogate's posterior mean of the objective (minimised scale) at ``points``.

    Raises:
        TunerError: the result holds no model.
    """
    if not res.models:
        raise TunerError("the result holds no surrogate model (fewer than 2 successful evaluations)")
    return np.asarray(res.models[-1].predict(res.space.transform(points)))


def _grid(dim: Any, n: int) -> list[Any]:
    if getattr(dim, "is_categorical", False):
        return list(dim.categories)
    lo, hi = dim.model_bounds
    vals = dim.from_unit(np.linspace(lo, hi, n))
    return list(dict.fromkeys(vals))  # integers: distinct values only


def partial_dependence(
    res: Any, i: int, j: int | None = None, n_points: int = 24, n_samples: int = 100, seed: int = 0
) -> tuple[list[Any], list[Any] | None, np.ndarray]:
    """Mean of the surrogate over random values of the other dimensions, as dimension ``i`` (and ``j``)
    varies over a grid. Returns ``(grid_i, grid_j or None, values)``.

    Raises:
        TunerError: not a result of :func:`tuner.gp_minimize`, counts below 1, or no model.
    """
    _require(res, ("space", "models"), "partial_dependence")
    _check_counts("partial_dependence", n_points=n_points, n_samples=n_samples)
    space = res.space
    base = space.rvs(n_samples, random_state=np.random.default_rng(seed))
    gi = _grid(space.dimensions[i], n_points)
    gj = _grid(space.dimensions[j], n_points) if j is not None else None
    cells = [(vi, vj) for vi in gi for vj in (gj if gj is not None else [None])]
    pts = []
    for vi, vj in cells:  # every cell's points in one posterior call, not one call per cell
        for p in base:
            q = list(p)
            q[i] = vi
            if j is not None:
                q[j] = vj
            pts.append(q)
    means = surrogate_mean(res, pts).reshape(len(cells), len(base)).mean(axis=1)
    vals = means.reshape(len(gi), len(gj) if gj is not None else 1)
    return gi, gj, vals[:, 0] if gj is None else vals


def _axis_values(dim: Any, values: list[Any]) -> tuple[np.ndarray, bool]:
    if getattr(dim, "is_categorical", False):
        return np.array([dim.index(v) for v in values], dtype=float), False
    return np.asarray(values, dtype=float), getattr(dim, "prior", "uniform") == "log-uniform"


def _diagonal_panel(ax: Any, res: Any, i: int, n_points: int, n_samples: int, maximize: bool) -> None:
    """The partial dependence on dimension ``i`` alone, the best point marked."""
    dim = res.space.dimensions[i]
    grid, _, vals = partial_dependence(res, i, None, n_points, n_samples)
    x, logx = _axis_values(dim, grid)
    ax.plot(x, (-1.0 if maximize else 1.0) * vals, "-o" if len(x) < 8 else "-", ms=3)
    if logx:
        ax.set_xscale("log")
    if res.x is not None:
        ax.axvline(_axis_values(dim, [res.x[i]])[0][0], color="r", ls="--", lw=1)


def _pair_panel(ax: Any, res: Any, ij: tuple[int, int], n_points: int, n_samples: int,
                maximize: bool) -> None:
    """The partial dependence on dimensions ``i`` (y) and ``j`` (x), with the evaluated points
    and the best one."""
    i, j = ij
    di, dj = res.space.dimensions[i], res.space.dimensions[j]
    gi, gj, vals = partial_dependence(res, i, j, n_points, n_samples)
    xv, logx = _axis_values(dj, gj or [])
    yv, logy = _axis_values(di, gi)
    sign = -1.0 if maximize else 1.0
    ax.contourf(xv, yv, sign * vals, levels=12, cmap="viridis_r" if not maximize else "viridis")
    if res.x_iters:
        ax.scatter(_axis_values(dj, [x[j] for x in res.x_iters])[0],
                   _axis_values(di, [x[i] for x in res.x_iters])[0], c="k", s=6)
        ax.scatter(_axis_values(dj, [res.x[j]])[0], _axis_values(di, [res.x[i]])[0],
                   c="r", s=30, marker="*")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")


def plot_objective(res: Any, n_points: int = 16, n_samples: int = 60, maximize: bool = False) -> Any:
    """scikit-optimize's ``plot_objective``: partial dependence on the diagonal and for every pair.

    Raises:
        TunerError: not a result of :func:`tuner.gp_minimize`, counts below 1, or no model.
    """
    import matplotlib.pyplot as plt

    _require(res, ("space", "models", "x_iters", "x"), "plot_objective")
    _check_counts("plot_objective", n_points=n_points, n_samples=n_samples)
    space = res.space
    names = space.dimension_names
    n = space.n_dims
    fig, axes = plt.subplots(n, n, figsize=(2.4 * n + 1, 2.4 * n + 1), squeeze=False)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            di, dj = space.dimensions[i], space.dimensions[j]
            if i == j:
                _diagonal_panel(ax, res, i, n_points, n_samples, maximize)
            else:
                _pair_panel(ax, res, (i, j), n_points // 2, n_samples // 2, maximize)
            for d, setter, axis in ((dj, ax.set_xticks, "x"), (di, ax.set_yticks, "y")):
                if getattr(d, "is_categorical", False) and (axis == "x" or i != j):
                    setter(range(len(d.categories)), [str(c) for c in d.categories], fontsize=7)
            ax.tick_params(labelsize=7)
            if i == n - 1:
                ax.set_xlabel(names[j], fontsize=9)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=9)
            elif i == j:
                ax.set_ylabel("score" if maximize else "objective", fontsize=8)
    fig.suptitle("partial dependence of the surrogate" + (" (score)" if maximize else ""), fontsize=11)
    fig.tight_layout()
    return fig


@styled
def plot_convergence(res: Any, maximize: bool = False, ylabel: str | None = None,
                     logy: bool = False) -> Any:
    """Each trial's score in order and the running best; failed and pruned trials marked.

    ``res`` is anything with the trial records in ``trials`` (a result or an optimiser).

    Raises:
        TunerError: ``res`` has no trial records.
    """
    import matplotlib.pyplot as plt

    _require(res, ("trials",), "plot_convergence", optimizer_ok=True)
    sign = -1.0 if maximize else 1.0
    fig, ax = plt.subplots(figsize=(7, 4.5))
    done = [t for t in res.trials if t.state == "complete"]
    ids = [t.id for t in done]
    ys = [sign * t.y for t in done]
    pruned = [t.info.get("pruned", False) for t in done]
    ax.scatter(
        [i for i, p in zip(ids, pruned, strict=True) if not p],
        [y for y, p in zip(ys, pruned, strict=True) if not p],
        s=14,
        label="trial",
    )
    if any(pruned):
        ax.scatter(
            [i for i, p in zip(ids, pruned, strict=True) if p],
            [y for y, p in zip(ys, pruned, strict=True) if p],
            s=14,
            marker="x",
            label="pruned",
        )
    run = np.maximum.accumulate(ys) if maximize else np.minimum.accumulate(ys)
    ax.step(ids, run, where="post", color="k", label="best so far")
    failed = [t.id for t in res.trials if t.state == "failed"]
    for k, f in enumerate(failed):
        ax.axvline(f, color="r", alpha=0.3, lw=1, label="failed" if k == 0 else None)
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel or ("score" if maximize else "objective"))
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def trials_table(res: Any, maximize: bool = False) -> list[dict[str, Any]]:
    """One row per trial: id, state, hyperparameters, score, seed, pruned, duration, error.

    Raises:
        TunerError: ``res`` has no trial records.
    """
    _require(res, ("space", "trials"), "trials_table", optimizer_ok=True)
    names = res.space.dimension_names
    rows = []
    for t in res.trials:
        row: dict[str, Any] = {"trial": t.id, "state": t.state}
        row.update(dict(zip(names, t.x, strict=True)))
        score = None if t.y is None else (-t.y if maximize else t.y)
        row.update(
            {
                "score": score,
                "seed": t.seed,
                "pruned": bool(t.info.get("pruned", False)),
                "seconds": None if t.told is None else round(t.told - t.asked, 2),
                "error": (t.error or "").strip().splitlines()[0] if t.error else "",
            }
        )
        rows.append(row)
    return rows


@dataclass
class SearchReport:
    """Where :func:`write_report` put things, and the best configuration."""

    best: dict[str, Any]
    best_score: float
    rows: list[dict[str, Any]]
    files: dict[str, Path]

    def markdown(self) -> str:
        """The trials as a markdown table."""
        cols = list(self.rows[0]) if self.rows else []
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in self.rows:
            lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def write_report(res: Any, out_dir: str | Path, maximize: bool = False, plots: bool = True) -> SearchReport:
    """Write ``best.json``, ``trials.csv``, ``trials.md`` and (``plots``) the two figures to ``out_dir``.

    Raises:
        TunerError: ``res`` is not a result of :func:`tuner.gp_minimize`, no trial completed, or
            ``out_dir`` cannot be made.
    """
    _require(res, ("x", "fun", "space", "trials", "failed", "x_recommended"), "write_report")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunerError(f"out_dir must be a folder that can be made or written, got {str(out_dir)!r}: "
                         f"{exc.strerror or exc}") from None
    if res.x is None:
        raise TunerError(
            f"no trial completed ({len(res.trials)} trials, {len(res.failed)} failed): nothing to report"
        )
    names = res.space.dimension_names
    best = dict(zip(names, res.x, strict=True))
    best_score = -res.fun if maximize else res.fun
    rows = trials_table(res, maximize)
    files = {"best": out / "best.json", "csv": out / "trials.csv", "markdown": out / "trials.md"}
    files["best"].write_text(
        json.dumps(
            {
                "best": best,
                "score": best_score,
                "n_trials": len(res.trials),
                "n_failed": len(res.failed),
                "recommended": dict(zip(names, res.x_recommended, strict=True)),
            },
            indent=2,
            default=str,
        )
    )
    with files["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = SearchReport(best, best_score, rows, files)
    files["markdown"].write_text(report.markdown() + "\n")
    if plots:
        files["convergence"] = out / "convergence.png"
        save(plot_convergence(res, maximize), files["convergence"], dpi=110)
        if res.models:
            files["partial_dependence"] = out / "partial_dependence.png"
            save(plot_objective(res, maximize=maximize), files["partial_dependence"])
    return report
