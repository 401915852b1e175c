"""``tune-generator report DIR --html``: one self-contained page, opened in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tuner.errors import TunerError
from tuner.mc.html import write_html_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: where the screenshot of the rendered report is kept (an artefact of the test run)
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts"

_CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.setAttribute('data-check', JSON.stringify({
    images: imgs.length, decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    tables: document.querySelectorAll('table').length,
    tune: [...document.querySelectorAll('#tune + table tbody tr')].map(r => r.cells[0].textContent)}));
});
</script></body>"""


@pytest.fixture
def tuned(embedded_tune, tmp_path):
    """A copy of the shared finished tune (these tests rewrite its report)."""
    out = tmp_path / "tune"
    shutil.copytree(embedded_tune[0], out)
    return out


def _chromium(*args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--enable-logging=stderr", "--v=0", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_report_html_from_the_cli_opens_in_chromium_with_every_plot(tuned):
    page = tuned / "report.html"
    assert page.exists()  # every tune writes it
    page.unlink()
    r = subprocess.run([sys.executable, "-m", "tuner.mc.cli", "report", str(tuned), "--html"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    text = page.read_text()
    summary = json.loads((tuned / "summary.json").read_text())
    for name, value in summary["tune"].items():  # the tune as summary.json has it
        assert name in text and f"{value:.5g}" in text
    assert "chi2 at Pythia&#x27;s default" in text and "Correlation matrix" in text
    # the histograms grouped by analysis, each captioned with its validation chi2
    assert "<h3>ALEPH_1996_S3486095</h3>" in text
    for key, c in summary["validation"]["tune"]["per_hist"].items():
        assert f"{key} &mdash; chi2 tune {c:.4g}" in text
    # each total with its Monte Carlo spread and how that was estimated
    v = summary["validation"]
    assert (f"<td>Monte Carlo sd of the total</td><td>{v['tune']['chi2_sd']:.2g}</td>"
            f"<td>{v['default']['chi2_sd']:.2g}</td>") in text
    assert "delta method from the bins&#x27; errors (a lower bound" in text
    n_png = len(list((tuned / "plots").rglob("*.png")))
    assert n_png >= 6 and text.count("data:image/png;base64,") == n_png
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium)")
    # the page itself logs nothing to the console (no errors)
    shot = _chromium("--window-size=1200,2400", f"--screenshot={tuned / 'report.png'}", page.as_uri())
    assert [line for line in shot.stderr.splitlines() if ":CONSOLE" in line] == []
    assert (tuned / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(tuned / "report.png", ARTEFACTS / "html-report.png")
    check = tuned / "check.html"
    check.write_text(text.replace("</body>", _CHECK))
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", check.as_uri()).stdout
    found = re.search(r"data-check=\"([^\"]+)\"", dom)
    assert found, dom[:500]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    # every embedded plot decodes in the browser; tune, validation and correlation tables render
    assert result["images"] == result["decoded"] == n_png
    assert result["tables"] >= 3
    assert result["tune"] == list(summary["tune"])


def test_html_report_of_an_unfinished_tune_is_one_clear_error(tmp_path):
    with pytest.raises(TunerError, match=r"needs a finished tune .* there is none in"):
        write_html_report(tmp_path)


@pytest.mark.parametrize("resolved", [True, False])
def test_the_report_says_when_the_validation_does_not_tell_tune_and_default_apart(tuned, resolved):
    path = tuned / "summary.json"
    summary = json.loads(path.read_text())
    summary["validation"]["resolved"] = resolved
    path.write_text(json.dumps(summary))
    text = write_html_report(tuned).read_text()
    assert ("tune and default lie within twice the spread of their difference" in text) is not resolved


@pytest.mark.parametrize("missed", [False, True])
def test_the_report_gives_a_closures_verdict_against_what_the_truth_scores(tuned, missed):
    path = tuned / "summary.json"
    summary = json.loads(path.read_text())
    closure = summary["validation"]["closure"]  # the embedded default is a closure
    assert closure["expected_at_truth"] == summary["validation"]["tune"]["nbins"]
    closure["missed"] = missed
    path.write_text(json.dumps(summary))
    text = write_html_report(tuned).read_text()
    assert ("<b>the closure is missed" in text) is missed
    assert ("within the rule, as the truth would validate" in text) is not missed


def test_the_report_flags_a_setting_quoted_at_pythias_floor(tuned):
    path = tuned / "summary.json"
    summary = json.loads(path.read_text())
    name = summary["parameters"][0]
    summary["raised_to_floor"] = [{"name": name, "minimum": 0.63, "floor": 1.336,
                                   "rule": "Pythia raises it below the floor"}]
    path.write_text(json.dumps(summary))
    text = write_html_report(tuned).read_text()
    assert "Pythia&#x27;s floor: every lower value gives the same events" in text \
        or "Pythia's floor: every lower value gives the same events" in text
    assert "the surrogate&#x27;s minimum 0.63 lies below the floor 1.336" in text \
        or "the surrogate's minimum 0.63 lies below the floor 1.336" in text
