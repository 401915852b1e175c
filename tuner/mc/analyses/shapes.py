"""Event-shape observables, vectorised over batches of events.

Particles come as flat arrays (``px, py, pz, e``) with ``offsets`` (event ``i`` owns
``offsets[i]:offsets[i+1]``), the layout of an awkward array's content, so no event loop runs in
Python. The kernels are compiled with numba.

* Thrust, thrust major and minor follow Pythia 8's ``Thrust`` class exactly (all reference axes
  orthogonal to pairs of particles; then to one particle in the plane orthogonal to the thrust
  axis), so the values agree with ``pythia8mc.Thrust`` to rounding.
* The sphericity tensor ``S_ab = sum p_a p_b / sum |p|^2`` and the linearised tensor
  ``theta_ab = sum p_a p_b / |p| / sum |p|`` give sphericity, aplanarity, the sphericity axes and
  the C-parameter.
* Heavy-jet mass: hemispheres split by the plane normal to the thrust axis.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

__all__ = ["EventShapes", "durham_y23", "durham_y23_fastjet", "event_shapes", "project",
           "rapidity_wrt_axis"]


class EventShapes(NamedTuple):
    """Per-event results (arrays over events; events with < 2 particles get NaN)."""

    thrust: np.ndarray
    thrust_axis: np.ndarray  # (n, 3)
    major: np.ndarray
    major_axis: np.ndarray
    minor: np.ndarray
    minor_axis: np.ndarray
    sph_eigenvalues: np.ndarray  # (n, 3), descending
    sph_axes: np.ndarray  # (n, 3, 3): sph_axes[:, k] is the eigenvector of eigenvalue k
    lin_eigenvalues: np.ndarray  # (n, 3), descending
    heavy_jet_mass2: np.ndarray  # max hemisphere mass^2 / E_vis^2

    @property
    def sphericity(self) -> np.ndarray:
        return 1.5 * (self.sph_eigenvalues[:, 1] + self.sph_eigenvalues[:, 2])

    @property
    def aplanarity(self) -> np.ndarray:
        return 1.5 * self.sph_eigenvalues[:, 2]

    @property
    def oblateness(self) -> np.ndarray:
        return self.major - self.minor

    @property
    def c_parameter(self) -> np.ndarray:
        lam = self.lin_eigenvalues
        return 3.0 * (lam[:, 0] * lam[:, 1] + lam[:, 1] * lam[:, 2] + lam[:, 2] * lam[:, 0])


@nb.njit(cache=True)
def _signed_sum(p: np.ndarray, rx: float, ry: float, rz: float, skip1: int, skip2: int
                ) -> tuple[float, float, float]:
    """Sum of the momenta, each signed by its side of the plane normal to ``r`` (particles
    ``skip1`` and ``skip2`` left out): the candidate axis of Pythia's thrust search."""
    sx = sy = sz = 0.0
    for i in range(p.shape[0]):
        if i != skip1 and i != skip2:
            if p[i, 0] * rx + p[i, 1] * ry + p[i, 2] * rz > 0.0:
                sx += p[i, 0]
                sy += p[i, 1]
                sz += p[i, 2]
            else:
                sx -= p[i, 0]
                sy -= p[i, 1]
                sz -= p[i, 2]
    return sx, sy, sz


@nb.njit(cache=True)
def _thrust_one(p: np.ndarray, out_axes: np.ndarray) -> tuple[float, float, float]:
    """Pythia's exact thrust / major / minor for one event; p is (n, 3). Scalars only: no
    temporaries in the O(n^3) loop."""
    n = p.shape[0]
    psum = 0.0
    for i in range(n):
        psum += np.sqrt(p[i, 0] ** 2 + p[i, 1] ** 2 + p[i, 2] ** 2)
    bx = by = bz = 0.0
    best2 = 0.0
    for i1 in range(n - 1):
        ax, ay, az = p[i1, 0], p[i1, 1], p[i1, 2]
        for i2 in range(i1 + 1, n):
            cx, cy, cz = p[i2, 0], p[i2, 1], p[i2, 2]
            rx = ay * cz - az * cy
            ry = az * cx - ax * cz
            rz = ax * cy - ay * cx
            sx, sy, sz = _signed_sum(p, rx, ry, rz, i1, i2)
            for j in range(4):
                s1 = 1.0 if j < 2 else -1.0
                s2 = 1.0 if j % 2 == 0 else -1.0
                fx = sx + s1 * ax + s2 * cx
                fy = sy + s1 * ay + s2 * cy
                fz = sz + s1 * az + s2 * cz
                f2 = fx * fx + fy * fy + fz * fz
                if f2 > best2:
                    best2 = f2
                    bx, by, bz = fx, fy, fz
    tval = np.sqrt(best2)
    t1x, t1y, t1z = bx / tval, by / tval, bz / tval
    # momenta projected into the plane orthogonal to the thrust axis
    q = np.empty((n, 3))
    qsum = 0.0
    for i in range(n):
        d = p[i, 0] * t1x + p[i, 1] * t1y + p[i, 2] * t1z
        q[i, 0] = p[i, 0] - d * t1x
        q[i, 1] = p[i, 1] - d * t1y
        q[i, 2] = p[i, 2] - d * t1z
        qsum += np.sqrt(q[i, 0] ** 2 + q[i, 1] ** 2 + q[i, 2] ** 2)
    if qsum < 1e-10 * psum:
        if abs(t1z) > 0.5:
            mx, my, mz = 1.0, 0.0, 0.0
        else:
            mx, my, mz = 0.0, 0.0, 1.0
        d = mx * t1x + my * t1y + mz * t1z
        mx, my, mz = mx - d * t1x, my - d * t1y, mz - d * t1z
        nm = np.sqrt(mx * mx + my * my + mz * mz)
        mx, my, mz = mx / nm, my / nm, mz / nm
        mval = 0.0
    else:
        best2 = 0.0
        for i1 in range(n):
            rx = q[i1, 1] * t1z - q[i1, 2] * t1y
            ry = q[i1, 2] * t1x - q[i1, 0] * t1z
            rz = q[i1, 0] * t1y - q[i1, 1] * t1x
            sx, sy, sz = _signed_sum(q, rx, ry, rz, i1, -1)
            for sgn in (1.0, -1.0):
                fx = sx + sgn * q[i1, 0]
                fy = sy + sgn * q[i1, 1]
                fz = sz + sgn * q[i1, 2]
                f2 = fx * fx + fy * fy + fz * fz
                if f2 > best2:
                    best2 = f2
                    bx, by, bz = fx, fy, fz
        mval = np.sqrt(best2)
        mx, my, mz = bx / mval, by / mval, bz / mval
    nx = t1y * mz - t1z * my
    ny = t1z * mx - t1x * mz
    nz = t1x * my - t1y * mx
    minsum = 0.0
    for i in range(n):
        minsum += abs(nx * q[i, 0] + ny * q[i, 1] + nz * q[i, 2])
    out_axes[0, 0], out_axes[0, 1], out_axes[0, 2] = t1x, t1y, t1z
    out_axes[1, 0], out_axes[1, 1], out_axes[1, 2] = mx, my, mz
    out_axes[2, 0], out_axes[2, 1], out_axes[2, 2] = nx, ny, nz
    return tval / psum, mval / psum, minsum / psum


@nb.njit(cache=True)
def _durham_kernel(px, py, pz, e, offsets, out):
    """Durham (e+e- kt, E-scheme) clustering per event; out[k] = max y of the merges down to
    2 jets (fastjet's exclusive_ymerge_max(2)), y = 2 min(Ei^2, Ej^2)(1 - cos) / E_vis^2."""
    nev = offsets.shape[0] - 1
    for k in range(nev):
        a, b = offsets[k], offsets[k + 1]
        n = b - a
        if n < 3:
            out[k] = np.nan
            continue
        j = np.empty((n, 4))
        q2 = 0.0
        for i in range(n):
            j[i, 0], j[i, 1], j[i, 2], j[i, 3] = px[a + i], py[a + i], pz[a + i], e[a + i]
            q2 += e[a + i]
        q2 = q2 * q2
        alive = n
        ymax = 0.0
        while alive > 2:
            dmin = np.inf
            im = jm = 0
            for u in range(alive - 1):
                pu = np.sqrt(j[u, 0] ** 2 + j[u, 1] ** 2 + j[u, 2] ** 2)
                for v in range(u + 1, alive):
                    pv = np.sqrt(j[v, 0] ** 2 + j[v, 1] ** 2 + j[v, 2] ** 2)
                    den = pu * pv
                    cos = (j[u, 0] * j[v, 0] + j[u, 1] * j[v, 1] + j[u, 2] * j[v, 2]) / den \
                        if den > 0.0 else 1.0
                    emin = min(j[u, 3], j[v, 3])
                    d = 2.0 * emin * emin * (1.0 - cos)
                    if d < dmin:
                        dmin, im, jm = d, u, v
            ymax = max(ymax, dmin / q2)
            for c in range(4):
                j[im, c] += j[jm, c]
                j[jm, c] = j[alive - 1, c]
            alive -= 1
        out[k] = ymax


@nb.njit(cache=True)
def _shapes_kernel(px, py, pz, e, offsets, thr, thr_axes, sph_val, sph_vec, lin_val, hjm):
    nev = offsets.shape[0] - 1
    for k in range(nev):
        a, b = offsets[k], offsets[k + 1]
        n = b - a
        if n < 2:
            thr[k, :] = np.nan
            thr_axes[k] = np.nan
            sph_val[k] = np.nan
            sph_vec[k] = np.nan
            lin_val[k] = np.nan
            hjm[k] = np.nan
            continue
        p = np.empty((n, 3))
        for i in range(n):
            p[i, 0] = px[a + i]
            p[i, 1] = py[a + i]
            p[i, 2] = pz[a + i]
        axes = np.empty((3, 3))
        t, mj, mn = _thrust_one(p, axes)
        thr[k, 0] = t
        thr[k, 1] = mj
        thr[k, 2] = mn
        thr_axes[k] = axes
        s = np.zeros((3, 3))
        lin = np.zeros((3, 3))
        s_norm = 0.0
        l_norm = 0.0
        for i in range(n):
            p2 = p[i, 0] ** 2 + p[i, 1] ** 2 + p[i, 2] ** 2
            pa = np.sqrt(p2)
            s_norm += p2
            l_norm += pa
            for u in range(3):
                for v in range(3):
                    s[u, v] += p[i, u] * p[i, v]
                    if pa > 0.0:
                        lin[u, v] += p[i, u] * p[i, v] / pa
        w, vec = np.linalg.eigh(s / s_norm)
        for j in range(3):
            sph_val[k, j] = w[2 - j]
            sph_vec[k, :, j] = vec[:, 2 - j]
        wl = np.linalg.eigvalsh(lin / l_norm)
        for j in range(3):
            lin_val[k, j] = wl[2 - j]
        # hemisphere masses, split by the plane normal to the thrust axis
        e1 = e2 = x1 = y1 = z1 = x2 = y2 = z2 = 0.0
        evis = 0.0
        for i in range(n):
            evis += e[a + i]
            if p[i, 0] * axes[0, 0] + p[i, 1] * axes[0, 1] + p[i, 2] * axes[0, 2] > 0.0:
                e1 += e[a + i]
                x1 += p[i, 0]
                y1 += p[i, 1]
                z1 += p[i, 2]
            else:
                e2 += e[a + i]
                x2 += p[i, 0]
                y2 += p[i, 1]
                z2 += p[i, 2]
        m1 = e1 * e1 - x1 * x1 - y1 * y1 - z1 * z1
        m2 = e2 * e2 - x2 * x2 - y2 * y2 - z2 * z2
        hjm[k] = max(m1, m2) / (evis * evis)


def event_shapes(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
                 offsets: np.ndarray) -> EventShapes:
    """Event shapes of every event of a batch.

    Args:
        px, py, pz, e: Flat particle arrays of the batch.
        offsets: ``n_events + 1`` offsets into the flat arrays.

    Returns:
        The per-event shapes.
    """
    nev = len(offsets) - 1
    thr = np.empty((nev, 3))
    thr_axes = np.empty((nev, 3, 3))
    sph_val = np.empty((nev, 3))
    sph_vec = np.empty((nev, 3, 3))
    lin_val = np.empty((nev, 3))
    hjm = np.empty(nev)
    f = np.ascontiguousarray
    _shapes_kernel(f(px, dtype=np.float64), f(py, dtype=np.float64), f(pz, dtype=np.float64),
                   f(e, dtype=np.float64), f(offsets, dtype=np.int64), thr, thr_axes, sph_val,
                   sph_vec, lin_val, hjm)
    return EventShapes(thr[:, 0], thr_axes[:, 0], thr[:, 1], thr_axes[:, 1], thr[:, 2],
                       thr_axes[:, 2], sph_val, sph_vec, lin_val, hjm)


def project(px: np.ndarray, py: np.ndarray, pz: np.ndarray, counts: np.ndarray,
            axes: np.ndarray) -> np.ndarray:
    """``p . n`` for every particle, ``n`` the (n_events, 3) per-event axis broadcast to particles."""
    ax = np.repeat(axes, counts, axis=0)
    return px * ax[:, 0] + py * ax[:, 1] + pz * ax[:, 2]


def rapidity_wrt_axis(e: np.ndarray, pl: np.ndarray) -> np.ndarray:
    """Rapidity ``1/2 ln((E + p_l) / (E - p_l))`` with respect to an axis (``p_l = p . n``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log((e + pl) / (e - pl))


def durham_y23(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
               counts: np.ndarray) -> np.ndarray:
    """Durham ``y23`` per event (events with fewer than 3 particles get NaN).

    The same clustering as fastjet's ``ee_kt_algorithm`` with ``exclusive_ymerge_max(2)``
    (checked against it in the tests), run in a compiled loop over the batch: about 10 times
    faster than fastjet's per-event Python bridge at LEP multiplicities.
    """
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = np.empty(len(counts))
    f = np.ascontiguousarray
    _durham_kernel(f(px, dtype=np.float64), f(py, dtype=np.float64), f(pz, dtype=np.float64),
                   f(e, dtype=np.float64), offsets, out)
    return out


def durham_y23_fastjet(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
                       counts: np.ndarray) -> np.ndarray:
    """Reference: the same ``y23`` from fastjet (``ee_kt_algorithm``, E-scheme)."""
    import awkward as ak
    import fastjet

    events = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}), counts)
    out = np.full(len(counts), np.nan)
    ok = counts >= 3
    if ok.any():
        cs = fastjet.ClusterSequence(events[ok], fastjet.JetDefinition0Param(fastjet.ee_kt_algorithm))
        out[ok] = np.asarray(cs.exclusive_ymerge_max(2))
    return out
