"""Exclusive e+e- jet clustering (Durham, JADE) and energy-energy correlations, over batches.

Particles come as flat arrays with per-event counts (the layout of :mod:`tuner.mc.analyses.shapes`).
The clustering is fastjet's: E-scheme recombination, ``y_ij = d_ij / E_vis^2`` with ``E_vis`` the
summed energy of the inputs, and

* Durham (``ee_kt_algorithm``): ``d_ij = 2 min(E_i^2, E_j^2) (1 - cos theta_ij)``;
* JADE (fastjet's ``JadePlugin``, as Rivet's ``JetAlg::JADE``): ``d_ij = 2 E_i E_j (1 - cos theta_ij)``.

For each event the results are fastjet's ``exclusive_ymerge_max(n)`` for ``n = 2, 3, 4``: the
largest ``y`` of the merges made while more than ``n`` jets remain (the value of ``y_cut`` above
which the event has ``n`` jets or fewer; JADE's merge sequence need not be monotone, hence the max).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["ALGORITHMS", "eec_pairs", "ymerge_max"]

#: clustering measures by name (the kernel's flag)
ALGORITHMS = {"durham": 0, "jade": 1}
#: ``ymerge_max`` columns: exclusive_ymerge_max(n) for these n
N_JETS = (2, 3, 4)


def _kernel_inputs(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
                   counts: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous float64 momenta and the event offsets, as the compiled kernels take them."""
    f = np.ascontiguousarray
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return (f(px, dtype=np.float64), f(py, dtype=np.float64), f(pz, dtype=np.float64),
            f(e, dtype=np.float64), offsets)


@nb.njit(cache=True, inline="always")
def _dij(j, pa, u, v, jade):  # pragma: no cover - compiled
    """The clustering distance of jets ``u`` and ``v`` (``pa``: their momenta's magnitudes)."""
    den = pa[u] * pa[v]
    cos = (j[u, 0] * j[v, 0] + j[u, 1] * j[v, 1] + j[u, 2] * j[v, 2]) / den if den > 0.0 else 1.0
    if jade:
        return 2.0 * j[u, 3] * j[v, 3] * (1.0 - cos)
    emin = min(j[u, 3], j[v, 3])
    return 2.0 * emin * emin * (1.0 - cos)


@nb.njit(cache=True)
def _cluster_kernel(px, py, pz, e, offsets, jade, out):  # pragma: no cover - compiled
    """Exclusive clustering of every event, the closest pair first. The distances are computed
    once into a matrix; after a merge only the merged jet's row is recomputed."""
    nev = offsets.shape[0] - 1
    for k in range(nev):
        a, b = offsets[k], offsets[k + 1]
        n = b - a
        out[k, :] = np.nan
        if n < 3:
            continue
        j = np.empty((n, 4))
        pa = np.empty(n)
        evis = 0.0
        for i in range(n):
            j[i, 0], j[i, 1], j[i, 2], j[i, 3] = px[a + i], py[a + i], pz[a + i], e[a + i]
            pa[i] = np.sqrt(j[i, 0] ** 2 + j[i, 1] ** 2 + j[i, 2] ** 2)
            evis += e[a + i]
        q2 = evis * evis
        D = np.empty((n, n))
        for u in range(n - 1):
            for v in range(u + 1, n):
                D[u, v] = _dij(j, pa, u, v, jade)
        alive = n
        ymax = 0.0
        while alive > 2:
            dmin = np.inf
            im = jm = 0
            for u in range(alive - 1):
                for v in range(u + 1, alive):
                    if D[u, v] < dmin:
                        dmin, im, jm = D[u, v], u, v
            ymax = max(ymax, dmin / q2)
            # this merge leaves alive - 1 jets: it counts for every n < alive
            if alive == 5:
                out[k, 2] = ymax
            elif alive == 4:
                out[k, 1] = ymax
            last = alive - 1
            for c in range(4):
                j[im, c] += j[jm, c]
                j[jm, c] = j[last, c]
            pa[im] = np.sqrt(j[im, 0] ** 2 + j[im, 1] ** 2 + j[im, 2] ** 2)
            pa[jm] = pa[last]
            if jm != last:  # the last jet moves into slot jm: its distances move with it
                for u in range(last):
                    if u != jm:
                        D[min(u, jm), max(u, jm)] = D[min(u, last), max(u, last)]
            alive -= 1
            for u in range(alive):
                if u != im:
                    D[min(u, im), max(u, im)] = _dij(j, pa, u, im, jade)
        out[k, 0] = ymax


def ymerge_max(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, counts: np.ndarray,
               algorithm: str = "durham") -> np.ndarray:
    """``exclusive_ymerge_max(n)`` for ``n = 2, 3, 4`` of every event (``n_events x 3``).

    Args:
        px, py, pz, e: Flat particle arrays of the batch.
        counts: Particles per event.
        algorithm: ``"durham"`` or ``"jade"``.

    Returns:
        Column ``c`` holds ``y_{n,n+1}`` for ``n = 2 + c``; NaN where the event has ``n`` or fewer
        particles.

    Raises:
        ValueError: an unknown algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"clustering algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}")
    out = np.empty((len(counts), len(N_JETS)))
    _cluster_kernel(*_kernel_inputs(px, py, pz, e, counts), ALGORITHMS[algorithm] == 1, out)
    return out


@nb.njit(cache=True)
def _eec_kernel(px, py, pz, e, offsets, npairs, cos_out, w_out):  # pragma: no cover - compiled
    nev = offsets.shape[0] - 1
    for k in range(nev):
        a, b = offsets[k], offsets[k + 1]
        evis = 0.0
        for i in range(a, b):
            evis += e[i]
        o = npairs[k]
        for i in range(a, b - 1):
            pi = np.sqrt(px[i] ** 2 + py[i] ** 2 + pz[i] ** 2)
            for m in range(i + 1, b):
                pm = np.sqrt(px[m] ** 2 + py[m] ** 2 + pz[m] ** 2)
                cos_out[o] = (px[i] * px[m] + py[i] * py[m] + pz[i] * pz[m]) / (pi * pm)
                w_out[o] = e[i] * e[m] / (evis * evis)
                o += 1


def eec_pairs(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
              counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair of particles of each event: ``cos chi_ij``, the weight
    ``E_i E_j / E_vis^2``, and the event index of the pair (flat arrays over all pairs)."""
    per_event = (counts * (counts - 1) // 2).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(per_event)]).astype(np.int64)
    cos = np.empty(int(starts[-1]))
    w = np.empty(int(starts[-1]))
    _eec_kernel(*_kernel_inputs(px, py, pz, e, counts), starts[:-1].copy(), cos, w)
    return cos, w, np.repeat(np.arange(len(counts)), per_event)
