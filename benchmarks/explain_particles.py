"""The particle-level tagger beside the image CNN and the dense network (issue 14, item 4).

    python benchmarks/explain_particles.py [--per-class 5000] [--epochs 30] [--sample plain|paper]

On the same jets and the same split (75 % train, 25 % held out), trains the example CNN on jet
images, the dense network on seven observables and the particle flow network
(``explain.ParticleFlowNetwork``) on the 64 hardest constituents, and prints:

* the ROC AUC of the three;
* the observables ranked by their ADO with the PFN (and the CNN's ranks beside them);
* the maxima of the PFN's mean per-particle LRP relevance of W jets, binned in the jet-image frame
  (``explain.relevance_image``), against the mean subjet separation;
* conservation of the PFN's LRP on the held-out jets (float64 copy with its biases zeroed);
* particle SHAP values (``explain.shap_particles``) and their rank correlation with LRP per jet.

Plots (``--out``): mean per-particle relevance maps of W and QCD jets, and four jets drawn particle
by particle.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from explain_physics import two_prong_line  # noqa: E402
from train_taggers import OBSERVABLES, train_both  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-class", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--n-max", type=int, default=64)
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--out", default="bench-out/explain-particles")
    ap.add_argument("--sample", choices=["plain", "paper"], default="plain")
    a = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import torch

    import explain as ex

    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = ex.PAPER_1511_05190 if a.sample == "paper" else {}
    t0 = time.perf_counter()
    sample = ex.load_or_generate(a.per_class, cache_dir=a.cache, seed=1, n_jobs=2, **options)
    images = ex.jet_images(sample)
    obs = ex.jet_observables(sample, n_jobs=2)
    x_obs = np.nan_to_num(np.stack([obs[k] for k in OBSERVABLES], 1)).astype(np.float32)
    parts = ex.constituent_features(sample, n_max=a.n_max)
    label = sample.label
    cnn, r_cnn, _, r_dnn, va = train_both(images, x_obs, label, a.epochs, seed=0, dnn_patience=5)
    tr = np.setdiff1d(np.arange(len(label)), va)
    pfn = ex.ParticleFlowNetwork()
    r_pfn = ex.train_tagger(pfn, parts[tr], label[tr], parts[va], label[va], epochs=a.epochs, lr=3e-3,
                            patience=6, seed=0)
    pfn = pfn.cpu()
    lv = label[va]
    print(f"\n{len(label)} jets ({a.per_class} per class, sample {a.sample}), {len(va)} held out; "
          f"{time.perf_counter() - t0:.0f} s\n")
    print("| tagger | inputs | ROC AUC | best epoch |\n|---|---|---:|---:|")
    for name, inputs, r in (("CNN", "25x25 jet images", r_cnn),
                            ("dense", f"{len(OBSERVABLES)} observables", r_dnn),
                            ("particle flow network", f"{a.n_max} hardest constituents", r_pfn)):
        print(f"| {name} | {inputs} | {r.val_auc:.3f} | {r.best_epoch} |")

    out_pfn = ex.predict(pfn, parts[va])
    out_cnn = ex.predict(cnn.cpu(), images[va])
    table_obs = {k: v[va] for k, v in obs.items()}
    rep = ex.physics_report(out_pfn, table_obs, lv)
    rep_cnn = ex.physics_report(out_cnn, table_obs, lv)
    print("\n| rank | observable | ADO with PFN | rank with CNN |\n|---:|---|---:|---:|")
    for name, row in rep.table.head(8).iterrows():
        print(f"| {int(row['rank'])} | {name} | {row['ado']:.3f} | {int(rep_cnn.table['rank'][name])} |")

    rel = ex.lrp(pfn, torch.as_tensor(parts[va]), ex.EpsilonPlusFlat())
    per_particle = ex.particle_relevance(rel)
    sub = sample.subset(va)
    sv = ex.shap_particles(pfn, parts[va][:200], n_permutations=16)
    present = parts[va][:200, :, 3] > 0
    from scipy.stats import spearmanr

    rho = np.nanmedian([spearmanr(sv[j][present[j]], per_particle[j][present[j]]).statistic
                        for j in range(len(sv)) if present[j].sum() > 2])
    f200 = ex.predict(pfn, parts[va][:200])
    f0 = float(ex.predict(pfn, np.zeros_like(parts[:1]))[0])
    print(f"\nparticle SHAP (200 jets, 16 antithetic permutation pairs): values sum to f - f(empty) "
          f"within {float(np.abs(sv.sum(1) - (f200 - f0)).max()):.1e}; median rank correlation with "
          f"the LRP of each particle {rho:.2f}")
    maps = ex.relevance_image(sub, per_particle)
    w_map, q_map = maps[lv == 1].mean(0), maps[lv == 0].mean(0)
    print("\nPFN " + two_prong_line(w_map, float(np.nanmean(obs["dR_subjets"][label == 1]))))

    m = pfn.double()
    for mod in m.modules():
        if getattr(mod, "bias", None) is not None:
            torch.nn.init.zeros_(mod.bias)
    x64 = torch.as_tensor(parts[va], dtype=torch.float64)
    f = m(x64).detach()
    tot = ex.lrp(m, x64, ex.EpsilonPlusFlat(eps=1e-12)).reshape(len(x64), -1).sum(1)
    ok = f.abs() > 1e-6
    print(f"LRP conservation (float64, biases zeroed, EpsilonPlusFlat eps 1e-12): max relative "
          f"deviation {float(((tot - f).abs() / f.abs())[ok].max()):.1e} over {int(ok.sum())} jets")

    from explain.plots import image_grid, particle_scatter

    titles = ["PFN mean relevance, W", "PFN mean relevance, QCD", "difference"]
    fig = image_grid([w_map, q_map, w_map - q_map], titles, cols=3)
    fig.savefig(out_dir / "pfn_mean_relevance.png", dpi=110)
    idx = [int(np.flatnonzero(lv == 1)[0]), int(np.flatnonzero(lv == 1)[1]),
           int(np.flatnonzero(lv == 0)[0]), int(np.flatnonzero(lv == 0)[1])]
    particle_scatter(parts[va], per_particle, idx, ["W jet", "W jet", "QCD jet", "QCD jet"]).savefig(
        out_dir / "pfn_particles.png", dpi=110)
    print(f"plots in {out_dir}/")


if __name__ == "__main__":
    main()
