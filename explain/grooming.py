"""Jet grooming: trimming and soft drop on a jet's constituents.

Grooming removes the soft, wide-angle radiation (underlying event, pile-up) that smears the mass
of a boosted W: the W's two prongs survive, the diffuse contamination does not.

* **Trimming** (Krohn, Thaler, Wang, arXiv 0912.1342): recluster the constituents into kt subjets of
  radius ``r_sub`` and keep the subjets carrying at least ``f_cut`` of the jet's pT. The jet
  images of arXiv 1511.05190 are trimmed anti-kt R = 1.0 jets (``r_sub = 0.3``, ``f_cut = 0.05``
  as the jet-image papers of that group use them; :data:`PAPER_1511_05190`).
* **Soft drop** (Larkoski, Marzani, Soyez, Thaler, arXiv 1402.2657): recluster with
  Cambridge/Aachen and undo the last merging while the softer branch fails
  ``min(pT1, pT2) / (pT1 + pT2) > z_cut (Delta R12 / R0)^beta``, following the harder branch;
  ``beta = 0`` is the modified mass-drop tagger.

Both recombine four-momenta (E scheme) and measure distances in rapidity and azimuth, as FastJet
does; the tests check them against the scikit-hep ``fastjet`` package on the same constituents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from explain.errors import ExplainError

__all__ = ["GROOMERS", "PAPER_1511_05190", "four_momenta", "groomed_mass", "soft_drop", "subjets",
           "trim"]


def four_momenta(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``(n, 4)`` array of ``px, py, pz, E`` from pT, pseudorapidity, azimuth and energy."""
    pt = np.asarray(pt, dtype=float)
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta),
                     np.asarray(e, dtype=float)], axis=1)


def _kinematics(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pT^2, rapidity and azimuth of four-momenta ``(m, 4)``."""
    pt2 = p[:, 0] ** 2 + p[:, 1] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log((p[:, 3] + p[:, 2]) / (p[:, 3] - p[:, 2]))
    y = np.nan_to_num(y, nan=0.0, posinf=1e5, neginf=-1e5)
    return pt2, y, np.arctan2(p[:, 1], p[:, 0])


def _dr2(y1: float, phi1: float, y2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    dphi = np.abs(phi1 - phi2) % (2 * np.pi)
    dphi = np.minimum(dphi, 2 * np.pi - dphi)
    return (y1 - y2) ** 2 + dphi**2


def _cluster(p: np.ndarray, power: int, radius: float | None
             ) -> tuple[list[np.ndarray], list[tuple[int, int]], list[list[int]], list[int]]:
    """Sequential recombination of ``p`` (``(n, 4)``): ``power`` 1 is kt, 0 Cambridge/Aachen.

    Returns ``(momenta, children, members, finals)`` over the nodes of the history: leaves
    ``0 .. n-1`` have children ``(-1, -1)``; ``finals`` are the inclusive jets of ``radius``
    (``None``: merge everything into one jet). Pair distances are kept in one matrix, updated
    for the merged pair only.
    """
    n = len(p)
    mom = [row.copy() for row in p]
    children: list[tuple[int, int]] = [(-1, -1)] * n
    members: list[list[int]] = [[i] for i in range(n)]
    finals: list[int] = []
    r2 = 1.0 if radius is None else radius**2  # no radius: no beam distance, order unchanged
    node = list(range(n))  # slot -> node of the history
    P = p.copy()
    pt2, y, phi = _kinematics(P)
    w = pt2**power  # kt: pT^2; C/A: 1
    D = np.full((n, n), np.inf)
    for a in range(n):
        D[a] = np.minimum(w[a], w) * _dr2(y[a], phi[a], y, phi) / r2
        D[a, a] = np.inf
    alive = np.ones(n, dtype=bool)
    for _ in range(2 * n):
        if not alive.any():
            break
        flat = int(np.argmin(D))
        i, j = divmod(flat, n)
        wb = np.where(alive, w, np.inf)
        ib = int(np.argmin(wb))
        if (radius is not None and wb[ib] <= D[i, j]) or not np.isfinite(D[i, j]):
            finals.append(node[ib])  # beam distance first (or the last one left): a final jet
            alive[ib] = False
            D[ib, :] = D[:, ib] = np.inf
            continue
        mom.append(mom[node[i]] + mom[node[j]])
        children.append((node[i], node[j]))
        members.append(members[node[i]] + members[node[j]])
        node[i] = len(mom) - 1  # the merged pair lives on in slot i
        alive[j] = False
        D[j, :] = D[:, j] = np.inf
        P[i] = mom[-1]
        k2, ky, kphi = _kinematics(P[i:i + 1])
        pt2[i], y[i], phi[i] = k2[0], ky[0], kphi[0]
        w[i] = pt2[i] ** power
        row = np.minimum(w[i], w) * _dr2(y[i], phi[i], y, phi) / r2
        row[~alive] = np.inf
        row[i] = np.inf
        D[i, :] = D[:, i] = row
    return mom, children, members, finals


def _check(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray) -> np.ndarray:
    arrays = [np.asarray(v, dtype=float) for v in (pt, eta, phi, e)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise ExplainError(f"pt, eta, phi and e must be 1-D arrays of one length (a jet's "
                           f"constituents), got shapes {[a.shape for a in arrays]}")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ExplainError("constituents must be finite numbers, got NaN or inf")
    return four_momenta(*arrays)


def soft_drop(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
              z_cut: float = 0.1, beta: float = 0.0, r0: float = 0.8) -> np.ndarray:
    """Mask of the constituents that survive soft drop (Cambridge/Aachen declustering).

    Args:
        pt, eta, phi, e: The jet's constituents.
        z_cut: Symmetry cut on ``min(pT1, pT2) / (pT1 + pT2)``.
        beta: Angular exponent (0: modified mass-drop; negative values, which are not
            infrared-collinear safe, groom harder at small angles).
        r0: Jet radius in the angular factor.

    Raises:
        ExplainError: arrays that are not one jet's constituents, a negative cut, ``r0 <= 0`` or a
            parameter that is not finite.
    """
    if not (z_cut >= 0 and r0 > 0 and np.isfinite([z_cut, beta, r0]).all()):
        raise ExplainError(f"soft drop needs finite z_cut >= 0, beta and r0 > 0, got z_cut={z_cut!r}, "
                           f"beta={beta!r}, r0={r0!r}")
    p = _check(pt, eta, phi, e)
    keep = np.zeros(len(p), dtype=bool)
    if len(p) == 0:
        return keep
    mom, children, members, finals = _cluster(p, 0, None)
    node = finals[0]
    while children[node][0] >= 0:
        a, b = children[node]
        pt2, y, ph = _kinematics(np.array([mom[a], mom[b]]))
        pta, ptb = np.sqrt(pt2)
        dr = float(np.sqrt(_dr2(y[0], ph[0], y[1:], ph[1:])[0]))
        with np.errstate(divide="ignore"):  # beta < 0 and coincident branches: an infinite cut
            angular = float(np.power(np.float64(dr / r0), beta))
        if min(pta, ptb) / (pta + ptb) > (z_cut * angular if z_cut > 0 else 0.0):
            break
        node = a if pta >= ptb else b
    keep[members[node]] = True
    return keep


def trim(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
         r_sub: float = 0.2, f_cut: float = 0.05) -> np.ndarray:
    """Mask of the constituents in kt subjets of radius ``r_sub`` with at least ``f_cut`` of the
    jet's pT.

    Raises:
        ExplainError: arrays that are not one jet's constituents, or bad parameters.
    """
    if not (r_sub > 0 and 0 <= f_cut < 1):
        raise ExplainError(f"trimming needs r_sub > 0 and 0 <= f_cut < 1, got r_sub={r_sub!r}, "
                           f"f_cut={f_cut!r}")
    p = _check(pt, eta, phi, e)
    keep = np.zeros(len(p), dtype=bool)
    if len(p) == 0:
        return keep
    jet_pt = float(np.hypot(*p[:, :2].sum(axis=0)))
    mom, _, members, finals = _cluster(p, 1, r_sub)
    for f in finals:
        if np.hypot(mom[f][0], mom[f][1]) >= f_cut * jet_pt:
            keep[members[f]] = True
    return keep


def subjets(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
            r_sub: float = 0.3) -> np.ndarray:
    """The inclusive kt subjets of radius ``r_sub`` (the subjets trimming keeps or drops), hardest
    first: ``(k, 3)`` rows of pT, pseudorapidity and azimuth.

    Raises:
        ExplainError: arrays that are not one jet's constituents, or ``r_sub <= 0``.
    """
    if not r_sub > 0:
        raise ExplainError(f"subjets need r_sub > 0, got {r_sub!r}")
    p = _check(pt, eta, phi, e)
    if len(p) == 0:
        return np.zeros((0, 3))
    mom, _, _, finals = _cluster(p, 1, r_sub)
    q = np.array([mom[f] for f in finals])
    spt = np.hypot(q[:, 0], q[:, 1])
    out = np.stack([spt, np.arcsinh(q[:, 2] / np.maximum(spt, 1e-300)),
                    np.arctan2(q[:, 1], q[:, 0])], axis=1)
    return out[np.argsort(-spt, kind="stable")]


def groomed_mass(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
                 keep: np.ndarray | None = None) -> float:
    """Invariant mass of the constituents (of those where ``keep`` is true).

    Raises:
        ExplainError: arrays that are not one jet's constituents, or a ``keep`` mask of another
            length.
    """
    p = _check(pt, eta, phi, e)
    if keep is not None:
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (len(p),):
            raise ExplainError(f"keep must be one boolean per constituent ({len(p)}), got shape "
                               f"{mask.shape}")
        p = p[mask]
    s = p.sum(axis=0)
    return float(np.sqrt(max(s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2, 0.0)))


#: the groomers by name (defaults: trimming r_sub = 0.2, f_cut = 0.05; soft drop z_cut = 0.1,
#: beta = 0, r0 = 0.8)
GROOMERS: dict[str, Callable[..., np.ndarray]] = {"trim": trim, "soft_drop": soft_drop}

#: the jet sample of arXiv 1511.05190: anti-kt R = 1.0, trimmed, 250 < pT < 300 GeV (the optional
#: mass window of that paper is 65 < m < 95 GeV)
PAPER_1511_05190: dict[str, Any] = {"radius": 1.0, "grooming": "trim",
                                     "grooming_options": {"r_sub": 0.3, "f_cut": 0.05},
                                     "pt_window": (250.0, 300.0)}
