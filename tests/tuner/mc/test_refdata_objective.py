"""Reference-data I/O and the chi2 objective."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tuner import ConfigError, RefDataError
from tuner.mc.chi2 import chi2, select_histograms
from tuner.mc.refdata import (
    RefHisto,
    read_hepdata_yaml,
    read_plot_info,
    read_refdata,
    read_yoda,
    write_yoda,
)


def test_reads_every_shipped_file(refdata):
    counts = {f.stem: len(read_yoda(f)) for f in refdata.glob("*.yoda")}
    assert counts == {"ALEPH_1996_S3486095": 67, "DELPHI_1996_S3430090": 104, "OPAL_1992_I321190": 32,
                      "PDG_HADRON_MULTIPLICITIES": 116}
    h = read_yoda(refdata / "ALEPH_1996_S3486095.yoda")["ALEPH_1996_S3486095/d01-x01-y01"]
    assert h.nbins == 23 and h.xlow[0] == 0.0 and h.xhigh[0] == 0.005
    assert h.values[0] == 12.36 and h.errors[0] == pytest.approx(0.4079216)
    # shared edges of neighbouring bins are equal, not 1e-18 apart
    assert np.all(h.xhigh[:-1] == h.xlow[1:])
    plot = read_plot_info(refdata / "ALEPH_1996_S3486095.plot")
    assert plot["ALEPH_1996_S3486095/d01-x01-y01"].title.startswith("Sphericity")


def test_gzip_and_yoda_round_trip(tmp_path, refdata):
    src = refdata / "OPAL_1992_I321190.yoda"
    gz = tmp_path / "opal.yoda.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    a, b = read_yoda(src), read_refdata(gz)
    assert a.keys() == b.keys()
    out = write_yoda([RefHisto("/OPAL_1992_I321190/d01-x01-y01", *(
        getattr(a["OPAL_1992_I321190/d01-x01-y01"], k) for k in ("xlow", "xhigh", "values", "errors")))],
        tmp_path / "sim.yoda")
    back = read_yoda(out)["OPAL_1992_I321190/d01-x01-y01"]
    assert np.allclose(back.values, a["OPAL_1992_I321190/d01-x01-y01"].values)
    assert np.allclose(back.xlow, a["OPAL_1992_I321190/d01-x01-y01"].xlow)


def test_histo1d_blocks(tmp_path):
    f = tmp_path / "h.yoda"
    f.write_text("BEGIN YODA_HISTO1D_V2 /ANA/d01-x01-y01\nPath: /ANA/d01-x01-y01\n---\n"
                 "# xlow xhigh sumw sumw2 sumwx sumwx2 numEntries\n"
                 "Total Total 6 10 0 0 6\n0 1 2 4 0 0 2\n1 3 4 6 0 0 4\nEND YODA_HISTO1D_V2\n")
    h = read_yoda(f)["ANA/d01-x01-y01"]
    assert list(h.values) == [2.0, 2.0] and list(h.errors) == pytest.approx([2.0, np.sqrt(6) / 2])


def test_hepdata_yaml(tmp_path):
    f = tmp_path / "Table7.yaml"
    f.write_text("""
independent_variables:
- header: {name: x}
  values: [{low: 0, high: 1}, {low: 1, high: 2}]
dependent_variables:
- header: {name: y}
  values:
  - value: 10
    errors: [{symerror: 3, label: stat}, {symerror: 4, label: sys}]
  - value: 20
    errors: [{asymerror: {minus: -1, plus: 3}}, {symerror: "10%"}]
""")
    h = read_hepdata_yaml(f, analysis="MY_ANA")["MY_ANA/d07-x01-y01"]
    assert list(h.values) == [10, 20]
    assert h.errors[0] == pytest.approx(5.0)
    assert h.errors[1] == pytest.approx((np.sqrt(1 + 4) + np.sqrt(9 + 4)) / 2)
    f.write_text("dependent_variables:\n- header: {name: y\n  values: []\n")  # unclosed mapping
    with pytest.raises(RefDataError, match=r"Table7\.yaml:\d+:\d+: not valid YAML: [^\n]*while "
                                           r"parsing a flow mapping from line 2, column 11\)$"):
        read_hepdata_yaml(f, analysis="MY_ANA")


@pytest.mark.parametrize("content, match", [
    ("BEGIN YODA_SCATTER2D_V2 /A/d01-x01-y01\n---\n1 0.5 0.5 2 x 0.1\nEND YODA_SCATTER2D_V2\n",
     r"bad\.yoda:3: expected a number, got 'x'"),
    ("BEGIN YODA_SCATTER2D_V2 /A/d01-x01-y01\n---\n1 0.5 0.5 2 0.1 0.1\n", r"bad\.yoda:1: .*no END"),
    ("BEGIN YODA_SCATTER2D_V2 /A/d01-x01-y01\n---\n1 0.5 0.5\nEND YODA_SCATTER2D_V2\n",
     r"bad\.yoda:3: expected 6 columns"),
])
def test_malformed_yoda_names_file_and_line(tmp_path, content, match):
    f = tmp_path / "bad.yoda"
    f.write_text(content)
    with pytest.raises(RefDataError, match=match):
        read_yoda(f)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(RefDataError, match=r"not found: .*nope\.yoda"):
        read_yoda(tmp_path / "nope.yoda")
    with pytest.raises(RefDataError,
                       match=r"must be \.yoda, \.yoda\.gz, HEPData \.yaml tables or HEPData submissions"):
        read_refdata(tmp_path / "x.root")


def _h(vals, errs, key="A/d01-x01-y01"):
    n = len(vals)
    return RefHisto(f"/{key}", np.arange(n, dtype=float), np.arange(1, n + 1, dtype=float),
                    np.array(vals, float), np.array(errs, float))


def test_chi2_value_breakdown_weights_and_floor():
    data = {"A/d01-x01-y01": _h([1, 2, 3], [0.1, 0.2, 0.3]),
            "A/d02-x01-y01": _h([5], [1.0], "A/d02-x01-y01")}
    sim = {"A/d01-x01-y01": _h([1.1, 2, 2.7], [0.1, 0.1, 0.1]),
           "A/d02-x01-y01": _h([7], [0.0], "A/d02-x01-y01")}
    c = chi2(sim, data, sorted(data))
    expect1 = 0.01 / 0.02 + 0 + 0.09 / 0.1
    assert c.per_hist["A/d01-x01-y01"] == (pytest.approx(expect1), 3)
    assert c.total == pytest.approx(expect1 + 4.0) and c.nbins == 4
    assert c.variance > 0
    w = chi2(sim, data, sorted(data), weights={"d02-*": 0.5})
    assert w.total == pytest.approx(expect1 + 2.0)
    f = chi2(sim, data, ["A/d02-x01-y01"], model_error=0.1)
    assert f.total == pytest.approx(4.0 / (1.0 + 0.49))


def test_selection_by_name_and_glob():
    keys = ["A/d01-x01-y01", "A/d02-x01-y01", "B/d01-x01-y01"]
    assert select_histograms(keys, ["A/*"]) == ["A/d01-x01-y01", "A/d02-x01-y01"]
    assert select_histograms(keys, ["d01-x01-y01"]) == ["A/d01-x01-y01", "B/d01-x01-y01"]
    assert select_histograms(keys, None, exclude=["B/*"]) == ["A/d01-x01-y01", "A/d02-x01-y01"]
    with pytest.raises(ConfigError, match="'C/\\*' matches none"):
        select_histograms(keys, ["C/*"])


def test_binning_mismatch_is_refused():
    with pytest.raises(ConfigError, match="binning mismatch for A/d01-x01-y01"):
        chi2({"A/d01-x01-y01": _h([1, 2], [1, 1])}, {"A/d01-x01-y01": _h([1, 2, 3], [1, 1, 1])},
             ["A/d01-x01-y01"])


def test_a_tune_of_the_shipped_data_needs_no_refdata_and_a_named_file_overrides_it(tmp_path, refdata):
    from tuner.mc.config import config_from_dict, load_refs
    from tuner.mc.refdata import shipped_files

    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]},
         "analyses": ["ALEPH_1996_S3486095", "PDG_HADRON_MULTIPLICITIES", "OPAL_1992_I321190"]}
    refs = load_refs(config_from_dict(d, tmp_path))
    assert len(refs) == 67 + 116 + 32
    for a in d["analyses"]:
        assert set(shipped_files(a)) == {"yoda", "plot", "info"}
    # a user file replaces the shipped histogram it contains, and only that one
    key = "ALEPH_1996_S3486095/d01-x01-y01"
    h = refs[key]
    mine = RefHisto(f"/REF/{key}", h.xlow, h.xhigh, h.values * 2, h.errors)
    write_yoda([mine], tmp_path / "mine.yoda")
    refs2 = load_refs(config_from_dict({**d, "refdata": ["mine.yoda"]}, tmp_path))
    np.testing.assert_array_equal(refs2[key].values, h.values * 2)
    key2 = "ALEPH_1996_S3486095/d03-x01-y01"
    np.testing.assert_array_equal(refs2[key2].values, refs[key2].values)
    # a named file that gives no histogram of the analyses, or one another named file gives, is
    # refused (the first was ignored in silence, the second decided by the order of the list)
    (tmp_path / "empty.yoda").write_text("# nothing here\n")
    write_yoda([RefHisto("/REF/OTHER_2000_I1/d01-x01-y01", h.xlow, h.xhigh, h.values, h.errors)],
               tmp_path / "other.yoda")
    write_yoda([RefHisto("/REF/ALEPH_1996_S3486095/d99-x01-y01", h.xlow, h.xhigh, h.values, h.errors)],
               tmp_path / "unfilled.yoda")  # a histogram the analysis does not fill
    (tmp_path / "copy.yoda").write_bytes((tmp_path / "mine.yoda").read_bytes())
    for files, match in (
            (["empty.yoda"], r"refdata .*empty.yoda: no histogram that the analyses \[.*\] fill \(it "
                             r"holds none\); a file that gives none would be ignored"),
            (["other.yoda"], r"other.yoda: no histogram .* \(it holds 1, e.g. \['OTHER_2000_I1/d01"),
            (["unfilled.yoda"], r"unfilled.yoda: no histogram .* \(it holds 1, e.g. "
                                r"\['ALEPH_1996_S3486095/d99-x01-y01'\]\)"),
            (["mine.yoda", "copy.yoda"], r"histogram ALEPH_1996_S3486095/d01-x01-y01 is given twice, by "
                                         r".*mine.yoda and by .*copy.yoda")):
        with pytest.raises(ConfigError, match=match):
            load_refs(config_from_dict({**d, "refdata": files}, tmp_path))
    # a byte-order mark at the start of a file is read past, plain or gzipped
    (tmp_path / "bom.yoda").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "mine.yoda").read_bytes())
    with gzip.open(tmp_path / "bom.yoda.gz", "wb") as fh:
        fh.write((tmp_path / "bom.yoda").read_bytes())
    for name in ("bom.yoda", "bom.yoda.gz"):
        np.testing.assert_array_equal(read_yoda(tmp_path / name)[key].values, h.values * 2)


# ---------------------------------------------------------------- YODA 1 and 2, from the shipped data
def _aleph_d01(refdata):
    return read_yoda(refdata / "ALEPH_1996_S3486095.yoda")["ALEPH_1996_S3486095/d01-x01-y01"]


def _edges(h):
    return "Edges(A1): [" + ", ".join(f"{e:.6e}" for e in [*h.xlow, h.xhigh[-1]]) + "]"


def _estimate_v3(h, path):
    body = [f"{v:.9e}\t{-e:.9e}\t{e:.9e}" for v, e in zip(h.values, h.errors, strict=True)]
    rows = ["nan\t---\t---", *body, "nan\t---\t---"]
    return "\n".join([f"BEGIN YODA_ESTIMATE1D_V3 {path}", f"Path: {path}", "Type: Estimate1D", "---",
                      _edges(h), 'ErrorLabels: ["stat"]', "# value\terrDn(1)\terrUp(1)", *rows,
                      "END YODA_ESTIMATE1D_V3", ""])


def _histo_v3(h, path):
    w = h.widths
    rows = ["0\t0\t0\t0\t0"] + [f"{v * d:.12e}\t{(e * d) ** 2:.12e}\t0\t0\t10" for v, e, d in
                                  zip(h.values, h.errors, w, strict=True)] + ["0\t0\t0\t0\t0"]
    return "\n".join([f"BEGIN YODA_HISTO1D_V3 {path}", f"Path: {path}", "Type: Histo1D", "---",
                      _edges(h), "# sumW\tsumW2\tsumW(A1)\tsumW2(A1)\tnumEntries", *rows,
                      "END YODA_HISTO1D_V3", ""])


def _histo_v2(h, path):
    w = h.widths
    rows = [f"{lo:.6e}\t{hi:.6e}\t{v * d:.12e}\t{(e * d) ** 2:.12e}\t0\t0\t10" for lo, hi, v, e, d in
            zip(h.xlow, h.xhigh, h.values, h.errors, w, strict=True)]
    return "\n".join([f"BEGIN YODA_HISTO1D_V2 {path}", f"Path: {path}", "Type: Histo1D", "---",
                      "# Mean: 1.0", "# ID\tID\tsumw\tsumw2\tsumwx\tsumwx2\tnumEntries",
                      "Total   \tTotal   \t1\t1\t0\t0\t10", "Underflow\tUnderflow\t0\t0\t0\t0\t0",
                      "Overflow\tOverflow\t0\t0\t0\t0\t0",
                      "# xlow\txhigh\tsumw\tsumw2\tsumwx\tsumwx2\tnumEntries", *rows,
                      "END YODA_HISTO1D_V2", ""])


@pytest.mark.parametrize("fmt", [_estimate_v3, _histo_v3, _histo_v2], ids=["Estimate1D_V3", "Histo1D_V3",
                                                                          "Histo1D_V2"])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_every_yoda_format_reads_the_shipped_values(tmp_path, refdata, fmt, gz):
    h = _aleph_d01(refdata)
    text = fmt(h, "/REF/ALEPH_1996_S3486095/d01-x01-y01")
    f = tmp_path / ("ref.yoda.gz" if gz else "ref.yoda")
    if gz:
        with gzip.open(f, "wt") as fh:
            fh.write(text)
    else:
        f.write_text(text)
    got = read_refdata(f)["ALEPH_1996_S3486095/d01-x01-y01"]
    np.testing.assert_allclose(got.xlow, h.xlow, rtol=1e-6)
    np.testing.assert_allclose(got.xhigh, h.xhigh, rtol=1e-6)
    np.testing.assert_allclose(got.values, h.values, rtol=1e-8)
    np.testing.assert_allclose(got.errors, h.errors, rtol=1e-8)


def test_estimate_error_sources_add_in_quadrature(tmp_path):
    f = tmp_path / "e.yoda"
    f.write_text("BEGIN YODA_ESTIMATE1D_V3 /REF/A/d01-x01-y01\n---\nEdges(A1): [0, 1, 2]\n"
                 'ErrorLabels: ["stat", "syst"]\n# value errDn(1) errUp(1) errDn(2) errUp(2)\n'
                 "nan --- --- --- ---\n2 -0.3 0.3 -0.4 0.4\n5 --- --- -1 3\nnan --- --- --- ---\n"
                 "END YODA_ESTIMATE1D_V3\n")
    h = read_yoda(f)["A/d01-x01-y01"]
    np.testing.assert_allclose(h.values, [2, 5])
    np.testing.assert_allclose(h.errors, [0.5, 2.0])


@pytest.mark.parametrize("content, match", [
    ("BEGIN YODA_ESTIMATE2D_V3 /REF/A/d01\n---\nEND YODA_ESTIMATE2D_V3\n",
     r"bad\.yoda:1: YODA_ESTIMATE2D_V3 blocks are not supported"),
    ("BEGIN YODA_COUNTER_V3 /REF/A/n\n---\n1 1 1\nEND YODA_COUNTER_V3\n", r"bad\.yoda:1: YODA_COUNTER_V3"),
    ("some text\n", r"bad\.yoda:1: expected 'BEGIN YODA_"),
    ("BEGIN YODA_HISTO1D_V3 /REF/A/d01-x01-y01\n---\n0 0 0 0 0\n1 1 0 0 1\nEND YODA_HISTO1D_V3\n",
     r"bad\.yoda:1: a YODA_HISTO1D_V3 block needs an Edges\(A1\) line"),
    ("BEGIN YODA_ESTIMATE1D_V3 /REF/A/d01-x01-y01\n---\nEdges(A1): [0, 1, 2]\n1 -0.1 0.1\n"
     "END YODA_ESTIMATE1D_V3\n", r"bad\.yoda:1: 2 bins in Edges\(A1\) but 1 rows"),
    ("BEGIN YODA_ESTIMATE1D_V3 /REF/A/d01-x01-y01\n---\nEdges(A1): [0, 1]\nnan -0.1 0.1\n"
     "END YODA_ESTIMATE1D_V3\n", r"bad\.yoda:4: a bin of /REF/A/d01-x01-y01 has a value nan"),
    ("BEGIN YODA_SCATTER2D_V2 /REF/A/d01-x01-y01\n---\n1 0.5 0.5 2 nan 0.1\nEND YODA_SCATTER2D_V2\n",
     r"bad\.yoda:3: .* error nan"),
    ("BEGIN YODA_SCATTER2D_V2 /REF/A/d01-x01-y01\n---\n1 0.5 0.5 2 0.1 0.1\n!! garbage\n"
     "END YODA_SCATTER2D_V2\n", r"bad\.yoda:4: a YODA_SCATTER2D block cannot hold the line '!! garbage'"),
    ("BEGIN YODA_ESTIMATE1D_V3 /REF/A/d01\n---\nEdges(A1): [\"a\", \"b\"]\n1 -1 1\n"
     "END YODA_ESTIMATE1D_V3\n", r"bad\.yoda:3: expected a number, got '\"a\"'"),
])
def test_what_the_reader_does_not_understand_is_an_error_at_file_and_line(tmp_path, content, match):
    f = tmp_path / "bad.yoda"
    f.write_text(content)
    with pytest.raises(RefDataError, match=match):
        read_yoda(f)


def _hepdata_table(h, path, extra_column=False):
    import yaml

    dep = [{"header": {"name": "1/sigma dsigma/dS"},
            "values": [{"value": float(v), "errors": [{"symerror": float(e), "label": "total"}]}
                       for v, e in zip(h.values, h.errors, strict=True)]}]
    if extra_column:
        dep.append({"header": {"name": "other"}, "values": [{"value": 1.0} for _ in h.values]})
    path.write_text(yaml.safe_dump({
        "independent_variables": [{"header": {"name": "S"}, "values": [
            {"low": float(lo), "high": float(hi)} for lo, hi in zip(h.xlow, h.xhigh, strict=True)]}],
        "dependent_variables": dep}))


def test_a_hepdata_table_maps_onto_an_analysis_histogram(tmp_path, refdata):
    from tuner.mc.config import config_from_dict, load_refs
    from tuner.mc.setup import prepare

    key = "ALEPH_1996_S3486095/d01-x01-y01"
    h = read_yoda(refdata / "ALEPH_1996_S3486095.yoda")[key]
    scaled = RefHisto(h.path, h.xlow, h.xhigh, h.values * 1.5, h.errors)
    _hepdata_table(scaled, tmp_path / "Table1.yaml", extra_column=True)
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["ALEPH_1996_S3486095"],
         "refdata": [{"path": "Table1.yaml", "as": key, "y": 1}]}
    refs = load_refs(config_from_dict(d, tmp_path))
    np.testing.assert_allclose(refs[key].values, h.values * 1.5)
    np.testing.assert_allclose(refs[key].errors, h.errors)
    assert refs[key].path == f"/REF/{key}"
    setup = prepare(config_from_dict(d, tmp_path))  # the analysis books it: the binning fits
    assert key in setup.keys
    # two dependent variables and no y: say which
    d2 = {**d, "refdata": [{"path": "Table1.yaml", "as": key}]}
    with pytest.raises(ConfigError, match=r"2 dependent variables .* with y: N"):
        load_refs(config_from_dict(d2, tmp_path))
    with pytest.raises(ConfigError, match=r"refdata\[0\]\.as must name a histogram as ANALYSIS/dNN-xNN-yNN"):
        config_from_dict({**d, "refdata": [{"path": "Table1.yaml", "as": "d01"}]}, tmp_path)
