"""A mass-decorrelated W tagger beside the nominal one (issue 14, scope 6: DisCo, arXiv 2001.05310).

    python benchmarks/explain_decorrelation.py [--per-class 1500] [--epochs 20] [--lambdas 0,3,10,30]
        [--seeds 0,1] [--lr 3e-3] [--disco-warmup 0] [--sample plain|paper] [--device cpu|cuda] [--jobs 2]
        [--out bench-out/decorrelation]

The example CNN (as ``examples/train_taggers.py``) is trained on the same W and QCD jets with the
DisCo penalty ``lambda * dCor^2(sigmoid(output), mass)`` over the QCD jets of each batch
(``explain.train_tagger(..., decorrelate=mass, disco_lambda=lambda, decorrelate_val=...)``: the
epoch kept is the one of lowest validation loss with the penalty; lambda = 0 is the nominal
tagger), one tagger per lambda and seed. On the held-out quarter it prints, per lambda (mean over
seeds, and the spread):

* ROC AUC, and the QCD rejection 1 / eps_B at 50% W efficiency;
* the sculpting of the QCD mass by a cut at 50% W efficiency: Jensen-Shannon divergence of the
  QCD mass distribution after the cut from the one before (``explain.sculpting``; 0: shape kept),
  its statistical floor (the JSD of as many QCD jets drawn at random: no sculpting), and its
  inverse, the figure of merit of arXiv 2001.05310 beside the rejection;
* dCor^2 of the output and the mass over the held-out QCD jets;
* the average decision ordering (ADO) of the tagger with the mass, |m - m_W| and tau21, each in
  the direction it orders the jets best;
* the QCD efficiency of the same cut in mass windows (flat when decorrelated).

Plots (QCD mass before and after the cut per lambda; rejection against 1 / JSD) go to ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from tuner.plotting import styled

WINDOWS = (0.0, 50.0, 65.0, 95.0, 130.0, np.inf)


def rejection_at(score: np.ndarray, label: np.ndarray, signal_efficiency: float = 0.5) -> float:
    """1 / (QCD efficiency) of the cut keeping ``signal_efficiency`` of the W jets."""
    thr = np.quantile(score[label == 1], 1 - signal_efficiency)
    eff = float(np.mean(score[label == 0] >= thr))
    return 1.0 / eff if eff > 0 else float("inf")


def jsd_floor(mass: np.ndarray, n_pass: int, edges: np.ndarray, seed: int = 0, draws: int = 200) -> float:
    """The Jensen-Shannon divergence (base 2) of ``n_pass`` QCD jets drawn at random (no sculpting)
    from all of them: the statistical floor of the JSD of a cut passing that many jets."""
    rng = np.random.default_rng(seed)
    p = np.histogram(mass, edges)[0].astype(float)
    p /= max(p.sum(), 1)
    out = []
    for _ in range(draws):
        q = np.histogram(rng.choice(mass, n_pass, replace=False), edges)[0].astype(float)
        q /= max(q.sum(), 1)
        m = 0.5 * (p + q)
        out.append(sum(0.5 * float(np.sum(x[x > 0] * np.log2(x[x > 0] / m[x > 0]))) for x in (p, q)))
    return float(np.mean(out))


def window_efficiencies(score: np.ndarray, mass: np.ndarray, label: np.ndarray) -> list[float]:
    """QCD efficiency of the 50%-W cut in each mass window of :data:`WINDOWS`."""
    thr = np.quantile(score[label == 1], 0.5)
    bkg = label == 0
    out = []
    for lo, hi in itertools.pairwise(WINDOWS):
        sel = bkg & (mass >= lo) & (mass < hi)
        out.append(float(np.mean(score[sel] >= thr)) if sel.any() else float("nan"))
    return out


@styled
def plot(rows: dict[float, list[dict[str, object]]], lambdas: list[float], out_dir: Path) -> None:
    """The QCD mass before and after the 50%-W cut per lambda; rejection against 1 / JSD."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6))
    first = rows[lambdas[0]][0]
    ax.stairs(first["before"], first["edges"], color="k", ls=":", label="QCD, no cut")  # type: ignore[arg-type]
    for lam in lambdas:
        r = rows[lam][0]
        ax.stairs(r["after"], r["edges"], label=f"after the 50% W cut, lambda = {lam:g}")  # type: ignore[arg-type]
    ax.set_xlabel("jet mass [GeV]")
    ax.set_ylabel("fraction of QCD jets")
    ax.legend(fontsize=12)
    fig.savefig(out_dir / "sculpting.png", dpi=110)
    fig, ax = plt.subplots(figsize=(7, 6))
    for lam in lambdas:
        ax.scatter([1 / max(float(r["jsd"]), 1e-9) for r in rows[lam]],  # type: ignore[arg-type]
                   [r["rejection"] for r in rows[lam]], label=f"lambda = {lam:g}")
    ax.set_xscale("log")
    ax.set_xlabel("1 / JSD at 50% W efficiency (mass decorrelation)")
    ax.set_ylabel("QCD rejection at 50% W efficiency")
    ax.legend(fontsize=12)
    fig.savefig(out_dir / "rejection_vs_jsd.png", dpi=110)
    plt.close("all")


def either(a: float) -> float:
    """ADO in the direction the observable orders the jets best (0.5: no relation)."""
    return max(a, 1.0 - a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=1500)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lambdas", default="0,3,10,30")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (every lambda)")
    ap.add_argument("--disco-warmup", type=int, default=0,
                    help="epochs over which the penalty rises to lambda (train_tagger's disco_warmup)")
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--sample", choices=["plain", "paper"], default="plain")
    ap.add_argument("--device", default="cpu", help="torch device of the training (cpu, cuda)")
    ap.add_argument("--jobs", type=int, default=2, help="processes generating the jets and their observables")
    ap.add_argument("--out", default="bench-out/decorrelation")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import torch

    import explain as ex

    lambdas = [float(v) for v in args.lambdas.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = ex.PAPER_1511_05190 if args.sample == "paper" else {}
    t_start = time.perf_counter()
    sample = ex.load_or_generate(args.per_class, cache_dir=args.cache, seed=1, n_jobs=args.jobs,
                                **options)
    print(f"{len(sample.label)} jets ready ({time.perf_counter() - t_start:.0f} s)", flush=True)
    images = ex.jet_images(sample)
    obs = ex.jet_observables(sample, n_jobs=args.jobs)
    label = sample.label
    n = len(label)
    tr, va = np.arange(n)[: n * 3 // 4], np.arange(n)[n * 3 // 4:]
    mass, lv = obs["mass"], label[va]
    rows: dict[float, list[dict[str, object]]] = {lam: [] for lam in lambdas}
    t0 = time.perf_counter()
    for lam in lambdas:
        for seed in seeds:
            cnn = ex.JetImageCNN(channels=16, depth=3, dense=64)
            res = ex.train_tagger(cnn, images[tr], label[tr], images[va], lv, epochs=args.epochs, lr=args.lr,
                                  batch_size=64, patience=6, seed=seed, device=args.device,
                                  decorrelate=mass[tr] if lam > 0 else None, disco_lambda=lam,
                                  decorrelate_val=mass[va] if lam > 0 else None,
                                  disco_warmup=args.disco_warmup if lam > 0 else 0)
            score = ex.predict(cnn, images[va])
            s = ex.sculpting(score, mass[va], lv)
            bkg = lv == 0
            dcor = float(ex.distance_correlation(torch.as_tensor(1 / (1 + np.exp(-score[bkg]))),
                                                 torch.as_tensor(mass[va][bkg])))
            rows[lam].append({
                "auc": ex.roc_auc(score, lv), "rejection": rejection_at(score, lv),
                "jsd": s.jensen_shannon, "dcor2": dcor, "epoch": res.best_epoch,
                "jsd_floor": jsd_floor(mass[va][bkg], max(round(s.background_efficiency * bkg.sum()), 1),
                                       s.edges, seed),
                **{f"ado_{k}": either(ex.ado(score, obs[k][va], lv)) for k in ("mass", "dm_W", "tau21")},
                "windows": window_efficiencies(score, mass[va], lv), "after": s.after, "edges": s.edges,
                "before": s.before})
            print(f"lambda {lam:g} seed {seed}: AUC {rows[lam][-1]['auc']:.3f}, JSD {s.jensen_shannon:.4f}, "
                  f"dCor^2 {dcor:.4f} (epoch {res.best_epoch}; {time.perf_counter() - t0:.0f} s)", flush=True)

    def mean_sd(lam: float, key: str) -> str:
        v = np.array([r[key] for r in rows[lam]], dtype=float)
        return f"{v.mean():.3f} +- {v.std():.3f}" if len(v) > 1 else f"{v[0]:.3f}"

    print(f"\n{n} jets ({args.sample} sample), {len(va)} held out; CNN per lambda x seeds {seeds}; "
          "mean +- spread over seeds\n")
    print("| lambda | ROC AUC | QCD rejection at 50% W | JSD at 50% W | its floor | 1 / JSD | "
          "dCor^2(out, m), QCD | ADO mass | ADO abs(m - m_W) | ADO tau21 | epoch kept |")
    print("|---:|---|---|---|---|---:|---|---|---|---|---|")
    for lam in lambdas:
        inv = np.mean([1 / max(float(r["jsd"]), 1e-9) for r in rows[lam]])  # type: ignore[arg-type]
        print(f"| {lam:g} | {mean_sd(lam, 'auc')} | {mean_sd(lam, 'rejection')} | {mean_sd(lam, 'jsd')} | "
              f"{mean_sd(lam, 'jsd_floor')} | {inv:.0f} | {mean_sd(lam, 'dcor2')} | "
              f"{mean_sd(lam, 'ado_mass')} | {mean_sd(lam, 'ado_dm_W')} | {mean_sd(lam, 'ado_tau21')} | "
              f"{', '.join(str(r['epoch']) for r in rows[lam])} |")
    heads = [f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">= {lo:g}" for lo, hi in itertools.pairwise(WINDOWS)]
    bkg_mass = mass[va][lv == 0]
    counts = [int(np.sum((bkg_mass >= lo) & (bkg_mass < hi))) for lo, hi in itertools.pairwise(WINDOWS)]
    print("\nQCD efficiency of the 50%-W cut per jet-mass window [GeV] (QCD jets in the window: "
          + ", ".join(map(str, counts)) + ")\n")
    print("| lambda | " + " | ".join(heads) + " |\n|---:|" + "---|" * len(heads))
    for lam in lambdas:
        w = np.nanmean(np.array([r["windows"] for r in rows[lam]], dtype=float), axis=0)
        print(f"| {lam:g} | " + " | ".join(f"{v:.2f}" for v in w) + " |")

    plot(rows, lambdas, out_dir)
    print(f"\nplots in {out_dir}/ ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
