"""The reference data of a tune configuration: its ``refdata:`` entries (files, and HEPData
tables mapped onto histograms) and the embedded default's binning (:mod:`tuner.mc.config`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from tuner.errors import ConfigError, RefDataError
from tuner.mc.analyses import filled_keys
from tuner.mc.refdata import (
    RefHisto,
    is_hepdata_submission,
    read_hepdata_submission,
    read_refdata,
    shipped_files,
)

__all__ = ["embedded_binning", "mapped_table", "refdata_entries", "reference_histograms", "resolve"]

_AS = re.compile(r"^[A-Za-z0-9_]+/d\d+-x\d+-y\d+$")


def resolve(base: Path, path: str) -> str:
    """A file named in a configuration: relative to the configuration's folder."""
    return path if Path(path).is_absolute() else str((base / path).resolve())


def refdata_entries(d: dict[str, Any], base: Path, where: str) -> list[Any]:
    """Reference file entries: paths, or ``{path, as[, y][, table]}`` mappings of one HEPData
    table's dependent variable ``y`` (default: its only one) onto histogram ``as``; ``table``
    names the table of a HEPData submission (required there, refused for a single table file)."""
    raw = d.get("refdata")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: refdata must be a list of files or {{path, as}} mappings, got {raw!r}")

    out: list[Any] = []
    for k, e in enumerate(raw):
        if isinstance(e, str) and e:
            out.append(resolve(base, e))
            continue
        if (not isinstance(e, dict) or set(e) - {"path", "as", "y", "table"}
                or not isinstance(e.get("path"), str)):
            raise ConfigError(f"{where}: refdata[{k}] must be a file name or {{path, as[, y][, table]}}, "
                              f"got {e!r}")
        target = e.get("as")
        if not isinstance(target, str) or not _AS.match(target):
            raise ConfigError(f"{where}: refdata[{k}].as must name a histogram as "
                              f"ANALYSIS/dNN-xNN-yNN, got {target!r}")
        y = e.get("y")
        if y is not None and (isinstance(y, bool) or not isinstance(y, int) or y < 1):
            raise ConfigError(f"{where}: refdata[{k}].y must be an integer >= 1, got {y!r}")
        path, table = resolve(base, e["path"]), e.get("table")
        archive = is_hepdata_submission(path)
        if archive != (table is not None) or not (table is None or isinstance(table, str)):
            rule = ("a HEPData submission needs table: NAME (as its submission.yaml names it)"
                    if archive else "table: applies to HEPData submissions only")
            raise ConfigError(f"{where}: refdata[{k}]: {rule}; got path {e['path']!r}, table {table!r}")
        out.append({"path": path, "as": target, "y": y, "table": table})
    return out


def mapped_table(entry: dict[str, Any]) -> dict[str, RefHisto]:
    """The histogram a ``{path, as, y[, table]}`` entry maps a table onto."""
    table = entry.get("table")
    found = read_refdata(entry["path"]) if table is None else read_hepdata_submission(entry["path"], table)
    keys = sorted(found)
    if entry["y"] is None:
        if len(keys) != 1:
            raise ConfigError(f"refdata {entry['path']}: {len(keys)} dependent variables ({keys}); "
                              f"say which one maps onto {entry['as']} with y: N")
        h = found[keys[0]]
    else:
        pick = [k for k in keys if k.endswith(f"-y{entry['y']:02d}")]
        if not pick:
            raise ConfigError(f"refdata {entry['path']}: no dependent variable y = {entry['y']} "
                              f"(it has {keys})")
        h = found[pick[0]]
    h = RefHisto(f"/REF/{entry['as']}", h.xlow, h.xhigh, h.values, h.errors, h.source, h.annotations)
    return {h.key: h}


def reference_histograms(analyses: list[str], refdata: list[Any],
                         embedded: bool = False) -> dict[str, RefHisto]:
    """The reference histograms of a tune: the data shipped for its ``analyses``, overridden
    histogram by histogram by the ``refdata`` entries it names (:func:`refdata_entries`), or
    the embedded default's binning.

    Raises:
        ConfigError: a named file that cannot be read, gives no histogram the analyses fill, or
            gives a histogram another named file gives too.
    """
    if embedded:
        return embedded_binning()
    refs: dict[str, RefHisto] = {}
    for a in analyses:  # the shipped data first: a file the user names overrides it
        if "yoda" in shipped_files(a):
            refs.update(read_refdata(shipped_files(a)["yoda"]))
    given: dict[str, str] = {}  # histogram -> the named file that gives it
    for f in refdata:
        name = f["path"] if isinstance(f, dict) else f
        try:
            found = mapped_table(f) if isinstance(f, dict) else read_refdata(f)
        except RefDataError as exc:
            raise ConfigError(str(exc)) from None
        _check_named_file(name, found, analyses, given)
        refs.update(found)
    return refs


def _check_named_file(name: str, found: dict[str, RefHisto], analyses: list[str],
                      given: dict[str, str]) -> None:
    """A reference file the configuration names must give a histogram its analyses fill (else it
    would be ignored in silence), and no histogram another named file gives (which one would
    count?); records what it gives in ``given``."""
    filled = filled_keys(analyses)
    mine = sorted(k for k in found if k in filled)
    if not mine:
        held = (f"it holds {len(found)}, e.g. {sorted(found)[:3]}" if found else "it holds none")
        raise ConfigError(f"refdata {name}: no histogram that the analyses {analyses} fill ({held}); "
                          "a file that gives none would be ignored")
    for k in mine:
        if k in given:
            raise ConfigError(f"refdata: histogram {k} is given twice, by {given[k]} and by {name}; "
                              "name each histogram in one file only")
        given[k] = name


def _bins(edges: list[float] | np.ndarray, key: str) -> RefHisto:
    e = np.asarray(edges, dtype=float)
    return RefHisto(f"/REF/{key}", e[:-1], e[1:], np.zeros(len(e) - 1), np.zeros(len(e) - 1),
                    "embedded binning")


def embedded_binning() -> dict[str, RefHisto]:
    """Binning of the embedded closure default (ALEPH observables, the toolkit's own bins)."""
    a = "ALEPH_1996_S3486095"
    hs = [
        _bins(np.linspace(0, 0.6, 13), f"{a}/d01-x01-y01"),          # sphericity
        _bins(np.linspace(0, 0.3, 13), f"{a}/d03-x01-y01"),          # 1 - T
        _bins(np.linspace(0, 0.8, 9), f"{a}/d07-x01-y01"),           # C-parameter
        _bins([0, .02, .04, .06, .08, .1, .15, .2, .3, .4, .6, .8, 1.0], f"{a}/d09-x01-y01"),
        _bins(np.arange(2, 52, 4), f"{a}/d18-x01-y01"),               # N_ch
        _bins([90.7, 91.7], f"{a}/d19-x01-y01"),                      # <N_ch>
    ]
    return {h.key: h for h in hs}
