"""HEPData submissions (archives as HEPData takes and gives them, or their folder) as reference data:
one table mapped onto an analysis histogram by the configuration (issue 13, scope 3)."""

from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
import pytest
import yaml

from tuner import ConfigError, RefDataError
from tuner.mc.refdata import (
    hepdata_submission_tables,
    read_hepdata_submission,
    read_refdata,
    read_yoda,
)

KEY = "ALEPH_1996_S3486095/d01-x01-y01"


def _table(h) -> str:
    """The histogram ``h`` as a HEPData data file (a second column of total errors given as an
    asymmetric pair)."""
    return yaml.safe_dump({
        "independent_variables": [{"header": {"name": "1-T"}, "values": [
            {"low": float(lo), "high": float(hi)} for lo, hi in zip(h.xlow, h.xhigh, strict=True)]}],
        "dependent_variables": [{"header": {"name": "1/sigma dsigma/d(1-T)"}, "values": [
            {"value": float(v), "errors": [{"asymerror": {"minus": -float(e), "plus": float(e)},
                                            "label": "total"}]}
            for v, e in zip(h.values, h.errors, strict=True)]}]})


def _correlation() -> str:
    return yaml.safe_dump({
        "independent_variables": [{"header": {"name": "bin i"}, "values": [{"value": 1}, {"value": 2}]},
                                  {"header": {"name": "bin j"}, "values": [{"value": 1}, {"value": 2}]}],
        "dependent_variables": [{"header": {"name": "rho"}, "values": [{"value": 1.0}, {"value": 1.0}]}]})


def _submission(h) -> dict[str, str]:
    """The files of a submission in HEPData's layout: a submission.yaml whose first document is
    the submission's comment, one table per later document, and the data files beside it."""
    docs = [{"comment": "ALEPH 1996 event shapes at 91.2 GeV (test copy of the shipped data)"},
            {"name": "Table 1", "description": "Thrust", "keywords": [], "data_file": "Table1.yaml"},
            {"name": "Table 7", "description": "Correlations", "keywords": [],
             "data_file": "corr.yaml"}]
    return {"ins428072/submission.yaml": yaml.safe_dump_all(docs, explicit_start=True),
            "ins428072/Table1.yaml": _table(h), "ins428072/corr.yaml": _correlation()}


def _write(files: dict[str, str], path, kind: str):
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            for n, text in files.items():
                z.writestr(n, text)
    elif kind == "folder":
        for n, text in files.items():
            (path / n).parent.mkdir(parents=True, exist_ok=True)
            (path / n).write_text(text)
        path = path / "ins428072"
    else:
        with tarfile.open(path, "w:gz" if kind == "tar.gz" else "w") as t:
            for n, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(n)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def thrust(refdata):
    h = read_yoda(refdata / "ALEPH_1996_S3486095.yoda")[KEY]
    return h


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar", "folder"])
def test_a_table_of_a_submission_maps_onto_an_analysis_histogram(tmp_path, thrust, kind):
    from tuner.mc.config import config_from_dict, load_refs
    from tuner.mc.setup import prepare

    target = tmp_path / ("sub" if kind == "folder" else f"ins428072.{kind}")
    if kind == "folder":
        target.mkdir()
    sub = _write(_submission(thrust), target, kind)
    assert list(hepdata_submission_tables(sub)) == ["Table 1", "Table 7"]
    h = read_hepdata_submission(sub, "Table 1", analysis="ALEPH_1996_S3486095")[KEY]
    np.testing.assert_allclose(h.values, thrust.values)
    np.testing.assert_allclose(h.errors, thrust.errors)
    np.testing.assert_allclose(h.xlow, thrust.xlow)
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["ALEPH_1996_S3486095"],
         "refdata": [{"path": str(sub), "table": "Table 1", "as": KEY}]}
    refs = load_refs(config_from_dict(d, tmp_path))
    np.testing.assert_allclose(refs[KEY].values, thrust.values)
    assert KEY in prepare(config_from_dict(d, tmp_path)).keys  # the analysis books the binning


def test_what_a_submission_cannot_give_is_an_error_that_says_why(tmp_path, thrust):
    from tuner.mc.config import config_from_dict, load_refs

    sub = _write(_submission(thrust), tmp_path / "s.zip", "zip")
    with pytest.raises(RefDataError,
                       match=r"no table named 'Table 3'; the submission has \['Table 1', 'Table 7'\]"):
        read_hepdata_submission(sub, "Table 3")
    with pytest.raises(RefDataError,
                       match=r"corr\.yaml: a histogram needs exactly one independent variable, got 2"):
        read_hepdata_submission(sub, "Table 7")
    with pytest.raises(RefDataError, match=r"is a HEPData submission: map one of its tables"):
        read_refdata(sub)
    files = _submission(thrust)
    del files["ins428072/Table1.yaml"]
    broken = _write(files, tmp_path / "b.zip", "zip")
    with pytest.raises(RefDataError, match=r"table 'Table 1' names data_file 'Table1.yaml', which the "
                                           r"submission does not hold"):
        hepdata_submission_tables(broken)
    bare = _write({"Table1.yaml": _table(thrust)}, tmp_path / "bare.tgz", "tar.gz")
    with pytest.raises(RefDataError, match=r"exactly one submission.yaml, found 0"):
        hepdata_submission_tables(bare)
    (tmp_path / "junk.zip").write_text("not an archive")
    with pytest.raises(RefDataError, match=r"cannot read HEPData submission .*junk.zip"):
        hepdata_submission_tables(tmp_path / "junk.zip")

    base = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["ALEPH_1996_S3486095"]}
    with pytest.raises(ConfigError, match=r"refdata\[0\]: a HEPData submission needs table: NAME .* "
                                          r"got path 's.zip', table None"):
        config_from_dict({**base, "refdata": [{"path": "s.zip", "as": KEY}]}, tmp_path)
    (tmp_path / "Table1.yaml").write_text(_table(thrust))
    with pytest.raises(ConfigError, match=r"refdata\[0\]: table: applies to HEPData submissions only"):
        config_from_dict({**base, "refdata": [{"path": "Table1.yaml", "table": "Table 1", "as": KEY}]},
                         tmp_path)
    with pytest.raises(ConfigError, match=r"no table named 'Table 9'"):
        load_refs(config_from_dict({**base, "refdata": [{"path": "s.zip", "table": "Table 9", "as": KEY}]},
                                   tmp_path))
    with pytest.raises(ConfigError, match=r"HEPData submission not found: .*gone.zip"):
        load_refs(config_from_dict({**base, "refdata": [{"path": "gone.zip", "table": "Table 1", "as": KEY}]},
                                   tmp_path))
