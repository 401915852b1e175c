"""Jet observables a physicist knows, computed from the constituents of :class:`JetSample` jets.

* mass, pT, constituent multiplicity, and ``dm_W = |m - m_W|`` (a W tagger cuts a window around the W
  mass, so the network's output is monotone in this, not in the mass itself);
* N-subjettiness ``tau_N = sum_i pT_i min_k dR(i, a_k) / (sum_i pT_i R0)`` (beta = 1) with
  exclusive-kt axes (the constituents reclustered to exactly N subjets with fastjet), and the ratios
  ``tau21``, ``tau32``; ``dR`` between the two exclusive-kt subjets;
* energy correlation functions ``e2, e3`` (beta = 1) and the ratios ``C2 = e3 / e2^2``,
  ``D2 = e3 / e2^3``;
* energy-flow polynomials (Komiske, Metodiev, Thaler, arXiv 1712.07124) of any multigraph:
  ``EFP_G = sum_{i_1..i_N} z_i1 ... z_iN prod_{(k,l) in G} theta_{i_k i_l}`` with
  ``z_i = pT_i / sum pT`` and ``theta_ij = dR_ij^beta``, evaluated with ``einsum``; and the list of
  all connected multigraphs up to a given degree (number of edges).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from functools import cache

import numpy as np

from explain.errors import ExplainError, check_count, check_number
from explain.grooming import groomed_mass, soft_drop
from explain.jets import JetSample

__all__ = ["ecf_ratios", "efp", "efp_name", "efp_table", "efps", "jet_observables", "multigraphs",
           "nsubjettiness"]

Graph = tuple[tuple[int, int], ...]
#: W boson mass (GeV), for the mass-window observable ``dm_W = |m - m_W|``
W_MASS = 80.4


def _delta_r(eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    dphi = (phi[:, None] - phi[None, :] + np.pi) % (2 * np.pi) - np.pi
    return np.sqrt((eta[:, None] - eta[None, :]) ** 2 + dphi**2)


def _canonical(edges: Sequence[tuple[int, int]], n: int) -> Graph:
    best: Graph | None = None
    for perm in itertools.permutations(range(n)):
        g: Graph = tuple(sorted((min(perm[a], perm[b]), max(perm[a], perm[b])) for a, b in edges))
        if best is None or g < best:
            best = g
    assert best is not None
    return best


@cache
def multigraphs(max_degree: int) -> tuple[Graph, ...]:
    """All connected loop-free multigraphs with 1..``max_degree`` edges, up to isomorphism.

    Counts 1, 2, 5, 12, 33 for 1..5 edges (the EFP basis of degree <= 5 has 53 members).
    """
    out: list[Graph] = []
    for d in range(1, max_degree + 1):
        seen: set[Graph] = set()
        for n in range(2, d + 2):
            pairs = list(itertools.combinations(range(n), 2))
            for edges in itertools.combinations_with_replacement(pairs, d):
                if set(itertools.chain.from_iterable(edges)) != set(range(n)):
                    continue
                # connected?
                reach, frontier = {0}, [0]
                while frontier:
                    v = frontier.pop()
                    for a, b in edges:
                        for x, y in ((a, b), (b, a)):
                            if x == v and y not in reach:
                                reach.add(y)
                                frontier.append(y)
                if len(reach) != n:
                    continue
                seen.add(_canonical(edges, n))
        out += sorted(seen, key=lambda g: (max(max(e) for e in g), g))
    return tuple(out)


def _check_graph(graph: object) -> int:
    """The number of vertices of a valid EFP multigraph, or one clear error."""
    try:
        edges = [(a, b) for a, b in graph]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        edges = []
    vertices = {v for e in edges for v in e}
    if not (edges and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                          for v in vertices)
            and all(a != b for a, b in edges)
            and vertices == set(range(len(vertices))) and len(vertices) <= 10):
        raise ExplainError("an EFP graph is a non-empty sequence of edges (a, b) between distinct "
                           "integer vertices 0..n-1, n <= 10, each vertex on an edge; got "
                           f"{graph!r}")
    return len(vertices)


def efp(z: np.ndarray, theta: np.ndarray, graph: Graph) -> float:
    """One energy-flow polynomial of one jet (``z``: energy fractions, ``theta``: angles^beta).

    Raises:
        ExplainError: ``graph`` not a valid multigraph (see :func:`multigraphs`), or ``z`` not
            1-D with ``theta`` square of its length.
    """
    n = _check_graph(graph)
    z, theta = np.asarray(z, dtype=float), np.asarray(theta, dtype=float)
    if z.ndim != 1 or theta.shape != (len(z), len(z)):
        raise ExplainError(f"efp needs z of shape (m,) and theta of shape (m, m), got "
                           f"{z.shape} and {theta.shape}")
    return _efp(z, theta, graph, n)


def _efp(z: np.ndarray, theta: np.ndarray, graph: Graph, n: int) -> float:
    """:func:`efp` of a checked ``n``-vertex graph (the per-jet loop of :func:`efps`)."""
    letters = "abcdefghij"
    operands: list[np.ndarray] = []
    subs: list[str] = []
    for v in range(n):
        operands.append(z)
        subs.append(letters[v])
    for a, b in graph:
        operands.append(theta)
        subs.append(letters[a] + letters[b])
    return float(np.einsum(",".join(subs) + "->", *operands, optimize="greedy"))


def efp_name(graph: Graph) -> str:
    """A readable name from the edge list: ``EFP[01,01,12]`` (vertices 0, 1, 2; edge 0-1 twice)."""
    return "EFP[" + ",".join(f"{a}{b}" for a, b in graph) + "]"


def efp_table(sample: JetSample, max_degree: int = 5, beta: float = 1.0) -> dict[str, np.ndarray]:
    """Every EFP up to ``max_degree`` as named columns (see :func:`efp_name`)."""
    values, graphs = efps(sample, max_degree, beta)
    return {efp_name(g): values[:, i] for i, g in enumerate(graphs)}


def efps(sample: JetSample, max_degree: int = 5, beta: float = 1.0) -> tuple[np.ndarray, list[Graph]]:
    """Every EFP up to ``max_degree`` for every jet: an (n_jets, n_graphs) array and the graphs.

    Raises:
        ExplainError: ``max_degree`` not an int >= 1, or ``beta`` (the angular exponent; IRC
            safety needs it > 0) not a finite number > 0.
    """
    max_degree = check_count(max_degree, "max_degree")
    beta = check_number(beta, "beta", 0.0, low_open=True)
    graphs = list(multigraphs(max_degree))
    sizes = [_check_graph(g) for g in graphs]  # once, not once per jet
    out = np.empty((len(sample), len(graphs)))
    for i in range(len(sample)):
        pt, eta, phi, _ = sample.constituents(i)
        z = pt / pt.sum()
        theta = _delta_r(eta, phi) ** beta
        out[i] = [_efp(z, theta, g, n) for g, n in zip(graphs, sizes, strict=True)]
    return out, graphs


def _kt_axes(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray, ns: Sequence[int]
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(eta, phi) of the exclusive-kt axes for each ``n`` in ``ns``, from one clustering."""
    import awkward as ak
    import fastjet

    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    parts = ak.zip({"px": px, "py": py, "pz": pz, "E": np.asarray(e, dtype=float)}, with_name="Momentum4D")
    cs = fastjet.ClusterSequence(parts, fastjet.JetDefinition(fastjet.kt_algorithm, 1.5))
    axes = []
    for n in ns:
        with warnings.catch_warnings():  # fastjet warns for every exclusive request, kt included
            warnings.simplefilter("ignore", UserWarning)
            sub = cs.exclusive_jets(n_jets=n)
        spx, spy, spz = (np.asarray(sub[f]) for f in ("px", "py", "pz"))
        spt = np.hypot(spx, spy)
        axes.append((np.arcsinh(spz / np.maximum(spt, 1e-12)), np.arctan2(spy, spx)))
    return axes


def nsubjettiness(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
                  n_max: int = 3, r0: float = 0.8) -> tuple[np.ndarray, float]:
    """``tau_1..tau_n_max`` (beta = 1, exclusive-kt axes) and dR of the two kt subjets."""
    taus = np.zeros(n_max)  # tau_n = 0 for a jet of fewer than n constituents
    dr2 = np.nan
    ns = [n for n in range(1, n_max + 1) if len(pt) >= n]
    for n, (aeta, aphi) in zip(ns, _kt_axes(pt, eta, phi, e, ns) if ns else [], strict=True):
        dphi = (phi[:, None] - aphi[None, :] + np.pi) % (2 * np.pi) - np.pi
        dr = np.sqrt((eta[:, None] - aeta[None, :]) ** 2 + dphi**2)
        taus[n - 1] = float((pt * dr.min(axis=1)).sum() / (pt.sum() * r0))
        if n == 2:
            dp = (aphi[0] - aphi[1] + np.pi) % (2 * np.pi) - np.pi
            dr2 = float(np.hypot(aeta[0] - aeta[1], dp))
    return taus, dr2


def ecf_ratios(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, beta: float = 1.0
               ) -> tuple[float, float]:
    """``C2`` and ``D2`` (beta = 1) from normalised energy correlation functions."""
    z = pt / pt.sum()
    th = _delta_r(eta, phi) ** beta
    e2 = 0.5 * np.einsum("i,j,ij->", z, z, th)  # sum over i < j
    e3 = np.einsum("i,j,k,ij,ik,jk->", z, z, z, th, th, th, optimize="greedy") / 6.0
    if e2 <= 0:
        return np.nan, np.nan
    return float(e3 / e2**2), float(e3 / e2**3)


def jet_observables(sample: JetSample, n_jobs: int = 1) -> dict[str, np.ndarray]:
    """The standard observables of every jet, as named columns.

    ``mass`` is the mass of the sample's jets (groomed when the sample is); ``mass_sd`` is the
    soft-drop mass (``z_cut = 0.1``, ``beta = 0``, :func:`explain.grooming.soft_drop`), and
    ``dm_W``, ``dm_W_sd`` their distances to the W mass.

    Args:
        n_jobs: Processes sharing the jets (the same columns as with 1).

    Raises:
        ExplainError: ``n_jobs`` not an int >= 1.
    """
    n_jobs = check_count(n_jobs, "n_jobs")
    n = len(sample)
    if n_jobs > 1 and n > 1:
        from tuner.execution.executors import process_pool

        parts = [p for p in np.array_split(np.arange(n), 4 * n_jobs) if len(p)]
        cols_of = list(process_pool(n_jobs).map(jet_observables, [sample.subset(p) for p in parts]))
        return {k: np.concatenate([c[k] for c in cols_of]) for k in cols_of[0]}
    cols = {k: np.empty(n) for k in ("mass", "pt", "n_constituents", "tau1", "tau2", "tau3",
                                     "tau21", "tau32", "dR_subjets", "C2", "D2", "mass_sd")}
    for i in range(n):
        pt, eta, phi, e = sample.constituents(i)
        taus, dr = nsubjettiness(pt, eta, phi, e)
        c2, d2 = ecf_ratios(pt, eta, phi)
        cols["tau1"][i], cols["tau2"][i], cols["tau3"][i] = taus
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["tau21"][i] = taus[1] / taus[0]
            cols["tau32"][i] = taus[2] / taus[1]
        cols["dR_subjets"][i] = dr
        cols["C2"][i], cols["D2"][i] = c2, d2
        cols["mass_sd"][i] = groomed_mass(pt, eta, phi, e, soft_drop(pt, eta, phi, e)) if len(pt) else 0.0
    cols["mass"] = sample.jet_m.copy()
    cols["dm_W"] = np.abs(sample.jet_m - W_MASS)
    cols["dm_W_sd"] = np.abs(cols["mass_sd"] - W_MASS)
    cols["pt"] = sample.jet_pt.copy()
    cols["n_constituents"] = sample.counts.astype(float)
    return cols
