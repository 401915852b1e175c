"""Reference data: read YODA text (``.yoda``, ``.yoda.gz``), HEPData YAML tables and submissions; write YODA.

Every format is read into one type, :class:`RefHisto`: per bin the low and high edge, the value and
its (symmetrised) uncertainty. Scatter blocks give bins as ``x - xerr-`` .. ``x + xerr+``; histogram
blocks give densities ``sumw / width``. Simulated histograms are written as YODA scatters that
Rivet's plotting tools (``rivet-mkhtml``) read.
"""

from __future__ import annotations

import gzip
import math
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tuner.errors import RefDataError, yaml_problem
from tuner.mc.yoda import parse_yoda

__all__ = [
    "HEPDATA_ARCHIVES",
    "SHIPPED",
    "PlotInfo",
    "RefHisto",
    "hepdata_submission_tables",
    "is_hepdata_submission",
    "read_hepdata_submission",
    "read_hepdata_yaml",
    "read_plot_info",
    "read_refdata",
    "read_yoda",
    "shipped_files",
    "write_yoda",
]


@dataclass
class RefHisto:
    """A binned measurement (or simulation) with its uncertainties.

    Attributes:
        path: YODA path, e.g. ``/REF/ALEPH_1996_S3486095/d01-x01-y01``.
        xlow, xhigh: Bin edges (bins may have gaps between them).
        values: Bin values.
        errors: Symmetric uncertainties (mean of the down and up errors).
        source: ``file:line`` where the histogram was read, for messages.
    """

    path: str
    xlow: np.ndarray
    xhigh: np.ndarray
    values: np.ndarray
    errors: np.ndarray
    source: str = ""
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The last path component, e.g. ``d01-x01-y01``."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def analysis(self) -> str:
        parts = [p for p in self.path.split("/") if p and p != "REF"]
        return parts[0] if len(parts) > 1 else ""

    @property
    def key(self) -> str:
        """``ANALYSIS/dNN-xNN-yNN``: how histograms are named in selections and results."""
        return f"{self.analysis}/{self.name}" if self.analysis else self.name

    @property
    def nbins(self) -> int:
        return len(self.values)

    @property
    def widths(self) -> np.ndarray:
        return self.xhigh - self.xlow

    def __repr__(self) -> str:
        return f"RefHisto({self.key!r}, {self.nbins} bins)"


def _open_text(path: Path) -> list[str]:
    if not path.exists():
        raise RefDataError(f"reference file not found: {path}")
    try:
        # UTF-8, with or without the byte-order mark some editors write
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8-sig") as fh:
                return fh.read().splitlines()
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise RefDataError(f"cannot read reference file {path}: {exc}") from exc


def _clean(a: np.ndarray) -> np.ndarray:
    """Edges rebuilt as ``x -+ err`` carry rounding noise (0.0050000000001): keep 12 digits, so
    that shared edges of neighbouring bins compare equal."""
    return np.array([float(f"{v:.12g}") for v in a])


def read_yoda(path: str | Path) -> dict[str, RefHisto]:
    """Read every 1-D block of a YODA text file (YODA 1 or 2; see :mod:`tuner.mc.yoda`).

    Args:
        path: ``.yoda`` or ``.yoda.gz`` file.

    Returns:
        Histograms keyed by :attr:`RefHisto.key` (``ANALYSIS/dNN-xNN-yNN``); ``/RAW/`` and
        ``/_`` paths (Rivet's internal objects) are left out.

    Raises:
        RefDataError: a missing file, a block type that is not 1-D data, a malformed line or a
            non-finite bin (with file and line).
    """
    path = Path(path)
    out: dict[str, RefHisto] = {}
    for b in parse_yoda(_open_text(path), str(path)):
        if b.path.startswith("/RAW/") or b.path.startswith("/_"):
            continue
        h = RefHisto(b.path, _clean(b.xlow), _clean(b.xhigh), b.values, b.errors, b.where,
                     b.annotations)
        out[h.key] = h
    return out


def _hepdata_error(err: dict, value: float, where: str) -> tuple[float, float]:
    if "symerror" in err:
        e = err["symerror"]
        e = float(str(e).rstrip("%")) * abs(value) / 100 if str(e).endswith("%") else float(e)
        return abs(e), abs(e)
    if "asymerror" in err:
        a = err["asymerror"]
        vals = []
        for k in ("minus", "plus"):
            e = a.get(k, 0)
            e = float(str(e).rstrip("%")) * abs(value) / 100 if str(e).endswith("%") else float(e)
            vals.append(abs(e))
        return vals[0], vals[1]
    raise RefDataError(f"{where}: an error entry needs symerror or asymerror, got {err!r}")


def read_hepdata_yaml(path: str | Path, analysis: str = "", table: int | None = None
                      ) -> dict[str, RefHisto]:
    """Read a HEPData YAML table: one histogram per dependent variable.

    Errors of a bin are added in quadrature and symmetrised. The histograms are named
    ``dNN-x01-yMM`` with ``NN`` the table number (from ``table``, or the first number in the file
    name, e.g. ``Table12.yaml``) and ``MM`` the dependent variable's position.

    Raises:
        RefDataError: a missing or malformed file.
    """
    path = Path(path)
    if table is None:
        m = re.search(r"(\d+)", path.stem)
        table = int(m.group(1)) if m else 1
    return _hepdata_table("\n".join(_open_text(path)), str(path), analysis, table)


def _hepdata_table(text: str, where: str, analysis: str, table: int) -> dict[str, RefHisto]:
    """The histograms of one HEPData table given as YAML text (``where`` names it in messages)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        at, problem = yaml_problem(exc)
        raise RefDataError(f"{where}{at}: not valid YAML: {problem}") from None
    if not isinstance(doc, dict) or "dependent_variables" not in doc:
        raise RefDataError(f"{where}:1: not a HEPData table (no dependent_variables)")
    indep = doc.get("independent_variables")
    if not isinstance(indep, list) or len(indep) != 1:
        raise RefDataError(f"{where}: a histogram needs exactly one independent variable, got "
                           f"{len(indep) if isinstance(indep, list) else indep!r} (a 2-D table such "
                           f"as a correlation matrix is not a reference histogram)")
    try:
        xs = indep[0]["values"]
        lo = np.array([float(v.get("low", v.get("value"))) for v in xs])
        hi = np.array([float(v.get("high", v.get("value"))) for v in xs])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise RefDataError(f"{where}: malformed independent_variables: {exc}") from exc
    out = {}
    for j, dep in enumerate(doc["dependent_variables"], start=1):
        vals, errs = [], []
        for k, v in enumerate(dep.get("values", [])):
            at = f"{where}: dependent variable {j}, bin {k + 1}"
            try:
                y = float(v["value"])
            except (KeyError, TypeError, ValueError):
                raise RefDataError(f"{at}: value must be a number, got {v!r}") from None
            dn2 = up2 = 0.0
            for err in v.get("errors", []):
                dn, up = _hepdata_error(err, y, at)
                dn2, up2 = dn2 + dn**2, up2 + up**2
            e = (math.sqrt(dn2) + math.sqrt(up2)) / 2
            if not (math.isfinite(y) and math.isfinite(e)):
                raise RefDataError(f"{at}: every bin needs a finite value and error, got value {y}, "
                                   f"error {e}")
            vals.append(y)
            errs.append(e)
        if len(vals) != len(lo):
            raise RefDataError(f"{where}: dependent variable {j} has {len(vals)} values for "
                               f"{len(lo)} bins")
        ypath = f"/REF/{analysis}/d{table:02d}-x01-y{j:02d}" if analysis else \
            f"/REF/d{table:02d}-x01-y{j:02d}"
        h = RefHisto(ypath, lo, hi, np.array(vals), np.array(errs), f"{where}:1")
        out[h.key] = h
    return out


#: the archive kinds a HEPData submission comes in (HEPData's upload formats)
HEPDATA_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


def _submission_files(path: Path) -> tuple[list[str], Callable[[str], bytes]]:
    """The file names of a HEPData submission (an archive, or its folder down to one subfolder)
    and a reader of one of them. Only what is read is loaded: a submission's additional
    resources (ROOT files, likelihoods) can be large."""
    import tarfile
    import zipfile

    def zip_read(name: str) -> bytes:
        with zipfile.ZipFile(path) as z:
            return z.read(name)

    def tar_read(name: str) -> bytes:
        with tarfile.open(path, "r:*") as t:
            fh = t.extractfile(name)
            return fh.read() if fh is not None else b""

    try:
        if path.is_dir():
            found = [f for pattern in ("*", "*/*") for f in path.glob(pattern) if f.is_file()]
            return ([f.relative_to(path).as_posix() for f in found],
                    lambda name: (path / name).read_bytes())
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                return [n for n in z.namelist() if not n.endswith("/")], zip_read
        with tarfile.open(path, "r:*") as t:
            return [m.name for m in t.getmembers() if m.isfile()], tar_read
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise RefDataError(f"cannot read HEPData submission {path}: {exc}") from exc


def hepdata_submission_tables(path: str | Path) -> dict[str, str]:
    """The tables a HEPData submission lists in its ``submission.yaml``: ``{name: data file}``
    (the file's path inside the submission), in the submission's order.

    Raises:
        RefDataError: the path does not exist, holds no ``submission.yaml`` (or more than one),
            or a table's ``data_file`` is missing.
    """
    return _submission_tables(Path(path))[0]


def _submission_tables(path: Path) -> tuple[dict[str, str], Callable[[str], bytes]]:
    import yaml

    if not path.exists():
        raise RefDataError(f"HEPData submission not found: {path}")
    names, read = _submission_files(path)
    subs = [n for n in names if posixpath.basename(n) == "submission.yaml"]
    if len(subs) != 1:
        raise RefDataError(f"{path}: a HEPData submission holds exactly one submission.yaml, found "
                           f"{len(subs)}{' (' + ', '.join(subs) + ')' if subs else ''}")
    where, folder = f"{path}:{subs[0]}", posixpath.dirname(subs[0])
    try:
        docs = [d for d in yaml.safe_load_all(read(subs[0]).decode()) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        at, problem = yaml_problem(exc)
        raise RefDataError(f"{where}{at}: not valid YAML: {problem}") from None
    tables: dict[str, str] = {}
    present = set(names)
    for d in docs:
        if not isinstance(d, dict) or "data_file" not in d:
            continue  # the submission's own comment and resources
        name, data_file = str(d.get("name", "")), str(d["data_file"])
        member = posixpath.normpath(posixpath.join(folder, data_file))
        if member not in present:
            raise RefDataError(f"{where}: table {name!r} names data_file {data_file!r}, which the "
                               f"submission does not hold")
        tables[name] = member
    if not tables:
        raise RefDataError(f"{where}: lists no table (no entry with a data_file)")
    return tables, read


def read_hepdata_submission(path: str | Path, table: str, analysis: str = "") -> dict[str, RefHisto]:
    """Read one table of a HEPData submission (a ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz``
    archive as HEPData takes and gives them, or its unpacked folder), named as in its
    ``submission.yaml`` (e.g. ``"Table 3"``); its histograms as :func:`read_hepdata_yaml` names
    them, the table number taken from the name.

    Raises:
        RefDataError: an unreadable submission, an unknown table name (the message lists the
            tables) or a malformed table.
    """
    tables, read = _submission_tables(Path(path))
    if table not in tables:
        raise RefDataError(f"{path}: no table named {table!r}; the submission has "
                           f"{list(tables)}")
    member = tables[table]
    m = re.search(r"(\d+)", table) or re.search(r"(\d+)", posixpath.basename(member))
    try:
        text = read(member).decode()
    except (OSError, UnicodeDecodeError) as exc:
        raise RefDataError(f"{path}:{member}: cannot read it as text: {exc}") from exc
    return _hepdata_table(text, f"{path}:{member}", analysis, int(m.group(1)) if m else 1)


def is_hepdata_submission(path: str | Path) -> bool:
    """Whether ``path`` names a HEPData submission: an archive of :data:`HEPDATA_ARCHIVES` or a
    folder holding a ``submission.yaml`` (in it or in one of its subfolders)."""
    p = Path(path)
    if p.name.lower().endswith(HEPDATA_ARCHIVES):
        return True
    return p.is_dir() and (any(p.glob("submission.yaml")) or any(p.glob("*/submission.yaml")))


def read_refdata(path: str | Path, analysis: str = "") -> dict[str, RefHisto]:
    """Read a reference file of any supported format, chosen by its extension.

    Raises:
        RefDataError: an unknown extension, a missing or a malformed file.
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".yoda", ".yoda.gz")):
        return read_yoda(p)
    if name.endswith((".yaml", ".yml")):
        return read_hepdata_yaml(p, analysis=analysis)
    if is_hepdata_submission(p):
        raise RefDataError(f"{p} is a HEPData submission: map one of its tables onto a histogram "
                           f"with {{path: {p.name}, table: NAME, as: ANALYSIS/dNN-xNN-yNN}}")
    raise RefDataError(f"reference files must be .yoda, .yoda.gz, HEPData .yaml tables or HEPData "
                       f"submissions ({', '.join(HEPDATA_ARCHIVES)}), got {p}")


def write_yoda(histos: Iterable[RefHisto], path: str | Path) -> Path:
    """Write histograms as YODA ``SCATTER2D_V2`` blocks (paths as given, e.g. ``/ANA/d01-x01-y01``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = []
    for h in histos:
        x = (h.xlow + h.xhigh) / 2
        rows = "\n".join(
            f"{xi:.6e}\t{xi - lo:.6e}\t{hi - xi:.6e}\t{y:.6e}\t{e:.6e}\t{e:.6e}"
            for xi, lo, hi, y, e in zip(x, h.xlow, h.xhigh, h.values, h.errors, strict=True))
        chunks.append(f"BEGIN YODA_SCATTER2D_V2 {h.path}\nPath: {h.path}\nType: Scatter2D\n---\n"
                      f"# xval\t xerr-\t xerr+\t yval\t yerr-\t yerr+\n{rows}\n"
                      f"END YODA_SCATTER2D_V2\n")
    path.write_text("\n".join(chunks))
    return path


@dataclass
class PlotInfo:
    """Titles and axis labels of a histogram, from a Rivet ``.plot`` file."""

    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logy: bool = True


def read_plot_info(path: str | Path) -> dict[str, PlotInfo]:
    """Read a Rivet ``.plot`` file: histogram key (``ANA/dNN-xNN-yNN``, or a prefix) -> labels.

    A missing file gives an empty dict (labels are cosmetic).
    """
    p = Path(path)
    if not p.exists():
        return {}
    out: dict[str, PlotInfo] = {}
    cur: PlotInfo | None = None
    for line in p.read_text().splitlines():
        s = line.strip()
        if s.startswith("# BEGIN PLOT"):
            key = s.split(None, 3)[3].strip().lstrip("/") if len(s.split()) > 3 else ""
            cur = out.setdefault(key, PlotInfo())
        elif s.startswith("# END PLOT"):
            cur = None
        elif cur is not None and "=" in s:
            k, _, v = s.partition("=")
            if k == "Title":
                cur.title = v
            elif k == "XLabel":
                cur.xlabel = v
            elif k == "YLabel":
                cur.ylabel = v
            elif k == "LogY":
                cur.logy = v.strip() == "1"
    return out


#: folder of the reference data shipped with the package (published measurements, as Rivet ships
#: them: ``<analysis>.yoda``, ``.plot`` and ``.info``)
SHIPPED = Path(__file__).resolve().parent / "analyses" / "data"


def shipped_files(analysis: str) -> dict[str, Path]:
    """The shipped ``yoda``, ``plot`` and ``info`` files of an analysis (those that exist), by
    suffix; empty when nothing is shipped for it."""
    return {ext: SHIPPED / f"{analysis}.{ext}" for ext in ("yoda", "plot", "info")
            if (SHIPPED / f"{analysis}.{ext}").is_file()}
