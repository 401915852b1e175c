"""What the example CNN learned on W vs QCD jets, in physics observables (issue 5, physics target).

    python benchmarks/explain_physics.py [--per-class 5000] [--epochs 30] [--out bench-out/explain]
    python benchmarks/explain_physics.py --sample paper --out bench-out/explain-trimmed

``--sample plain`` (default): anti-kt R = 0.8, no grooming. ``--sample paper``: the trimmed
anti-kt R = 1.0 jets of arXiv 1511.05190 (``explain.PAPER_1511_05190``), cached apart.
``--frame centroid`` (default) or ``subjets`` (that paper's image frame: the hardest kt subjet at
the centre, the second straight below it; ``explain.images``).

Generates (or reads from ``jet-cache/``) W and QCD jets, trains the example CNN on jet images and the
dense network on observables, and prints:

* the ROC AUC of both taggers on the held-out quarter;
* the observables (standard ones and every EFP up to degree 5) ranked by their ADO with the CNN, with the
  target: jet mass and tau21 (or D2) among the top three with ADO >= 0.8;
* the two-prong check of the mean LRP relevance map of W jets (three composites): the profile along
  the rotated axis through the leading prong, its secondary maximum and where it lies compared with
  the mean angular distance of the two exclusive-kt subjets.

The report's plots are written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from train_taggers import OBSERVABLES, train_both  # noqa: E402


def two_prong_line(w_map: np.ndarray, dr_w: float) -> str:
    """One line on the maxima of a mean W relevance map (:func:`explain.mapping.prong_maxima`)."""
    from explain.mapping import prong_maxima

    peaks = prong_maxima(w_map)
    if len(peaks) >= 2:
        (ya, _), (yb, hb) = peaks[:2]
        return (f"mean W relevance along the jet axis: two maxima, at y = {ya:+.2f} and {yb:+.2f} "
                f"(the second {hb:.2f} of the first), {abs(ya - yb):.2f} apart; mean W subjet dR {dr_w:.2f}")
    if peaks:
        return (f"mean W relevance along the jet axis: one maximum, at y = {peaks[0][0]:+.2f} "
                "(no second prong)")
    return ("mean W relevance along the jet axis: no maximum of positive relevance stands out (none "
            "reaches 5% of the largest row sum)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--efp-degree", type=int, default=5)
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--out", default="bench-out/explain")
    ap.add_argument("--sample", choices=["plain", "paper"], default="plain")
    ap.add_argument("--frame", choices=["centroid", "subjets"], default="centroid")
    args = ap.parse_args()

    import torch

    import explain as ex

    torch.manual_seed(0)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    options = ex.PAPER_1511_05190 if args.sample == "paper" else {}
    sample = ex.load_or_generate(args.per_class, cache_dir=args.cache, seed=1, n_jobs=2, **options)
    t_gen = time.perf_counter() - t0
    images = ex.jet_images(sample, frame=args.frame)
    tag = "" if args.sample == "plain" else f"-{args.sample}"
    obs_cache = Path(args.cache) / f"observables-{args.per_class}-efp{args.efp_degree}{tag}-v2.npz"
    if obs_cache.exists():
        with np.load(obs_cache) as f:
            obs = {k[4:]: f[k] for k in f.files if k.startswith("obs:")}
            efp = {k[4:]: f[k] for k in f.files if k.startswith("efp:")}
    else:
        obs = ex.jet_observables(sample, n_jobs=2)
        efp = ex.efp_table(sample, max_degree=args.efp_degree)
        np.savez(
            obs_cache, **{f"obs:{k}": v for k, v in obs.items()}, **{f"efp:{k}": v for k, v in efp.items()}
        )
    t_obs = time.perf_counter() - t0 - t_gen
    label = sample.label
    names = OBSERVABLES
    x_obs = np.nan_to_num(np.stack([obs[k] for k in names], 1)).astype(np.float32)
    n = len(sample)
    cnn, r_cnn, dnn, r_dnn, va = train_both(images, x_obs, label, args.epochs, seed=0, dnn_patience=5)
    cnn = cnn.cpu()
    t_train = time.perf_counter() - t0 - t_gen - t_obs
    out = ex.predict(cnn, images[va])
    rel = ex.lrp(cnn, images[va], ex.EpsilonPlusFlat()).numpy()
    lv = label[va]
    table_obs = {**{k: obs[k][va] for k in obs}, **{k: v[va] for k, v in efp.items()}}
    report = ex.physics_report(out, table_obs, lv, images=images[va], relevance=rel)

    print(
        f"\n{n} jets ({args.per_class} per class; generation {t_gen:.0f} s, observables+EFPs {t_obs:.0f} s, "
        f"training {t_train:.0f} s)"
    )
    print(
        f"ROC AUC (held-out {len(va)} jets): CNN {r_cnn.val_auc:.3f} (epoch {r_cnn.best_epoch}), "
        f"dense on {len(names)} observables {r_dnn.val_auc:.3f}"
    )
    print("\n| rank | observable | ADO with CNN | direction | Pearson r |")
    print("|---:|---|---:|---:|---:|")
    for name, row in report.table.head(10).iterrows():
        print(
            f"| {int(row['rank'])} | {name} | {row['ado']:.3f} | {int(row['direction']):+d} | "
            f"{row['pearson']:+.3f} |"
        )
    top3 = [k for k, _ in report.top(3)]
    ado = report.table["ado"]
    rank = report.table["rank"]
    masses = ("mass", "dm_W", "mass_sd", "dm_W_sd")
    mass_ok = any(k in top3 and ado[k] >= 0.8 for k in masses)
    shape_ok = any(k in top3 and ado[k] >= 0.8 for k in ("tau21", "D2"))
    met = mass_ok and shape_ok
    print(
        "\nstandard observables: "
        + ", ".join(f"{k} {ado[k]:.3f} (rank {int(rank[k])})" for k in (*masses, "tau21", "D2"))
    )
    print(
        f"target (jet mass (m or |m - m_W|, groomed or soft-drop) and tau21 or D2 in the top three, "
        f"ADO >= 0.8): "
        f"{'met' if met else 'missed'}"
    )
    # cross-check: the same ADOs for the dense network, which is given the mass, and single-observable AUCs
    out_dnn = ex.predict(dnn.cpu(), x_obs[va])
    dnn_ado = {k: ex.ado(out_dnn, obs[k][va], lv) for k in ("mass", "dm_W", "tau21", "D2")}
    print(
        "dense network (given the mass): ADO "
        + ", ".join(f"{k} {max(v, 1 - v):.3f}" for k, v in dnn_ado.items())
    )
    aucs = {k: ex.roc_auc(-np.nan_to_num(obs[k][va], nan=1e9), lv)
            for k in ("dm_W", "dm_W_sd", "tau21", "D2")}
    print("single observables, ROC AUC: " + ", ".join(f"{k} {max(v, 1 - v):.3f}" for k, v in aucs.items()))

    # two-prong structure: maxima of the mean W relevance along the rotated y axis through x = 0,
    # for the report's composite and for two whose first-layer rule reads the pixel values (the
    # flat rule spreads each first-layer unit's relevance evenly over its receptive field)
    dr_w = float(np.nanmean(obs["dR_subjets"][label == 1]))
    print(f"[EpsilonPlusFlat] {two_prong_line(report.mean_relevance['signal'], dr_w)}")
    for cname in ("EpsilonGammaBox", "AllEpsilon"):
        r = ex.lrp(cnn, images[va], getattr(ex, cname)()).numpy()
        print(f"[{cname}] {two_prong_line(r[lv == 1, 0].mean(axis=0), dr_w)}")
    # can the relevance be trusted? deletion / insertion against a random order, and the
    # randomisation check, on 400 held-out jets
    xt = torch.as_tensor(images[va][:400])
    quality = ex.attribution_quality(cnn, xt, {
        "LRP EpsilonPlusFlat": lambda m, t: ex.lrp(m, t, ex.EpsilonPlusFlat()),
        "gradient x input": ex.input_x_gradient,
        "integrated gradients (captum)": ex.integrated_gradients})
    print("\nattribution quality (CNN logit, 400 held-out jets):\n" + quality.table())
    for name, fig in report.plot().items():
        fig.savefig(out_dir / f"{name}.png", dpi=110)
    print(f"plots in {out_dir}/")


if __name__ == "__main__":
    main()
