"""YODA text (YODA 1 and YODA 2) -> per-bin edges, values and errors; nothing skipped in silence.

Understood blocks, by the layout YODA writes them in:

- ``SCATTER2D`` (V1, V2, V3): rows ``x xerr- xerr+ y yerr- yerr+``; a bin is ``x - xerr-`` ..
  ``x + xerr+``.
- ``HISTO1D`` V1/V2: ``Total``/``Underflow``/``Overflow`` rows, then ``xlow xhigh sumw sumw2 ...``;
  V3 (YODA 2): ``Edges(A1): [...]`` and rows ``sumw sumw2 sumwx sumwx2 n``, the first and last
  for under- and overflow. Values are densities ``sumw / width``, errors ``sqrt(sumw2) / width``.
- ``ESTIMATE1D`` V3 (YODA 2, Rivet 4's reference data): ``Edges(A1): [...]``, ``ErrorLabels``
  and rows ``value errDn(1) errUp(1) ...``, under- and overflow first and last; ``---`` is "no
  error"; the error sources add in quadrature, each symmetrised as ``(|dn| + |up|) / 2``.

Any other block type, a line a block of its type cannot hold, a wrong number of columns or rows,
or a NaN or infinite value or error in a bin is a :class:`~tuner.errors.RefDataError` naming
``file:line``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from tuner.errors import RefDataError

__all__ = ["YodaBlock", "parse_yoda"]

_BEGIN = re.compile(r"^BEGIN\s+YODA_([A-Z0-9]+?)(?:_V(\d+))?\s+(\S+)\s*$")
_ANNOTATION = re.compile(r"^([A-Za-z_][\w()]*)\s*:\s*(.*)$")
_NUMBER = re.compile(r"^[-+]?(\d|\.\d|nan|inf)", re.IGNORECASE)
SUPPORTED = ("SCATTER2D", "HISTO1D", "ESTIMATE1D")


@dataclass
class YodaBlock:
    """One 1-D block: its YODA path, where it starts (``file:line``), annotations and bins."""

    path: str
    where: str
    annotations: dict[str, str] = field(default_factory=dict)
    xlow: np.ndarray = field(default_factory=lambda: np.zeros(0))
    xhigh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    errors: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _number(tok: str, where: str) -> float:
    if tok == "---":
        return math.nan
    try:
        return float(tok)
    except ValueError:
        raise RefDataError(f"{where}: expected a number, got {tok!r}") from None


def _edges(text: str, where: str) -> list[float]:
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise RefDataError(f"{where}: Edges must be a [list] of numbers, got {text.strip()!r}")
    toks = [t.strip() for t in inner[1:-1].split(",") if t.strip()]
    edges = [_number(t, where) for t in toks]
    if len(edges) < 2 or not all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise RefDataError(f"{where}: Edges must be >= 2 increasing finite numbers "
                           f"(a continuous axis), got {text.strip()[:80]!r}")
    return edges


class _Reader:
    """Splits a block's lines into annotations, ``Edges``/``ErrorLabels`` and numeric rows."""

    def __init__(self, file: str, kind: str, start: int, lines: list[str]) -> None:
        self.file, self.kind = file, kind
        self.annotations: dict[str, str] = {}
        self.edges: list[float] | None = None
        self.rows: list[tuple[int, list[str]]] = []
        for k, raw in enumerate(lines):
            ln = start + 1 + k
            s = raw.strip()
            if not s or s.startswith("#") or s == "---":
                continue
            first = s.split()[0]
            if _NUMBER.match(first) or (kind == "HISTO1D" and first in ("Total", "Underflow", "Overflow")):
                self.rows.append((ln, s.split()))
                continue
            m = _ANNOTATION.match(s)
            if m is None:
                raise RefDataError(f"{file}:{ln}: a YODA_{kind} block cannot hold the line {s[:80]!r}")
            key, val = m.group(1), m.group(2)
            if key.startswith("Edges"):
                if key != "Edges(A1)" and key != "Edges":
                    raise RefDataError(f"{file}:{ln}: only one axis (Edges(A1)) is supported in a "
                                       f"1-D block, got {key}")
                self.edges = _edges(val, f"{file}:{ln}")
            else:
                self.annotations[key] = val.strip()

    def table(self, ncols: int, exact: bool = True) -> tuple[list[int], np.ndarray]:
        """Numeric rows (``Total``/``Underflow``/``Overflow`` left out) as an array."""
        lines, out = [], []
        for ln, toks in self.rows:
            if toks[0] in ("Total", "Underflow", "Overflow"):
                continue
            if len(toks) < ncols or (exact and len(toks) != ncols):
                raise RefDataError(f"{self.file}:{ln}: expected {ncols} columns in a YODA_{self.kind} "
                                   f"row, got {len(toks)}: {' '.join(toks)[:80]!r}")
            lines.append(ln)
            out.append([_number(t, f"{self.file}:{ln}") for t in toks[:ncols]])
        return lines, np.array(out, dtype=float).reshape(-1, ncols)

    def inner(self, lines: list[int], arr: np.ndarray, where: str) -> tuple[list[int], np.ndarray]:
        """The rows of the bins between the edges (under- and overflow rows dropped)."""
        if self.edges is None:
            raise RefDataError(f"{where}: a YODA_{self.kind}_V3 block needs an Edges(A1) line")
        n = len(self.edges) - 1
        if len(arr) == n + 2:
            return lines[1:-1], arr[1:-1]
        if len(arr) == n:
            return lines, arr
        raise RefDataError(f"{where}: {n} bins in Edges(A1) but {len(arr)} rows (expected {n} or "
                           f"{n + 2} with under- and overflow)")


def _block(file: str, kind: str, version: str | None, ypath: str, start: int,
           lines: list[str]) -> YodaBlock:
    where = f"{file}:{start}"
    rd = _Reader(file, kind, start, lines)
    if kind == "SCATTER2D":
        rows, arr = rd.table(6)
        x, xm, xp, y, ym, yp = arr.T
        lo, hi, val, err = x - np.abs(xm), x + np.abs(xp), y, (np.abs(ym) + np.abs(yp)) / 2
    elif kind == "HISTO1D" and version == "3":
        rows, arr = rd.inner(*rd.table(5), where)
        lo, hi = np.array(rd.edges[:-1]), np.array(rd.edges[1:])  # type: ignore[index]
        val, err = arr[:, 0] / (hi - lo), np.sqrt(arr[:, 1]) / (hi - lo)
    elif kind == "HISTO1D":
        rows, arr = rd.table(4, exact=False)
        lo, hi = arr[:, 0], arr[:, 1]
        val, err = arr[:, 2] / (hi - lo), np.sqrt(arr[:, 3]) / (hi - lo)
    else:  # ESTIMATE1D
        ncols = 1 + 2 * max(1, len(_labels(rd.annotations.get("ErrorLabels", '[""]'))))
        rows, arr = rd.inner(*rd.table(ncols), where)
        lo, hi = np.array(rd.edges[:-1]), np.array(rd.edges[1:])  # type: ignore[index]
        val = arr[:, 0]
        half = (np.abs(np.nan_to_num(arr[:, 1::2])) + np.abs(np.nan_to_num(arr[:, 2::2]))) / 2
        err = np.sqrt(np.sum(half**2, axis=1))
    for k, ln in enumerate(rows):
        if not (np.isfinite(val[k]) and np.isfinite(err[k]) and np.isfinite(lo[k]) and np.isfinite(hi[k])):
            raise RefDataError(f"{file}:{ln}: a bin of {ypath} has a value {val[k]}, error {err[k]}, "
                               f"edges [{lo[k]}, {hi[k]}]: every bin needs finite numbers")
        if kind == "HISTO1D" and not hi[k] > lo[k]:  # a scatter point may have no x extent
            raise RefDataError(f"{file}:{ln}: a bin of {ypath} has zero or negative width "
                               f"[{lo[k]}, {hi[k]}]")
    return YodaBlock(ypath, where, rd.annotations, lo, hi, val, err)


def _labels(text: str) -> list[str]:
    inner = text.strip().strip("[]")
    return [t for t in (s.strip() for s in inner.split(",")) if t] or [""]


def parse_yoda(lines: list[str], file: str) -> list[YodaBlock]:
    """Every block of a YODA text file, in order.

    Raises:
        RefDataError: anything the reader does not understand (see the module docstring).
    """
    out, i = [], 0
    while i < len(lines):
        s = lines[i].strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        m = _BEGIN.match(s)
        if m is None:
            raise RefDataError(f"{file}:{i + 1}: expected 'BEGIN YODA_<TYPE> <path>' or a blank line, "
                               f"got {s[:80]!r}")
        kind, version, ypath = m.groups()
        end = next((k for k in range(i + 1, len(lines)) if lines[k].strip().startswith("END YODA")), None)
        if end is None:
            raise RefDataError(f"{file}:{i + 1}: block {ypath} has no END line")
        if kind not in SUPPORTED or (kind == "ESTIMATE1D" and version != "3"):
            raise RefDataError(f"{file}:{i + 1}: YODA_{kind}{'_V' + version if version else ''} blocks "
                               f"are not supported (1-D data: {', '.join(SUPPORTED)}); got {ypath}")
        out.append(_block(file, kind, version, ypath, i + 1, lines[i + 1:end]))
        i = end + 1
    return out
