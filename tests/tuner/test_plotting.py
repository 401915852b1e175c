"""The toolkit's plotting style: applied per figure, and quiet when a figure is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# a log axis draws math-text tick labels, whose fonts matplotlib looks up when the figure is drawn
_FIGURE = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tuner.plotting import save, styled

@styled
def figure():
    fig, ax = plt.subplots()
    ax.semilogy([1, 2, 3], [1.0, 30.0, 2000.0])
    return fig

{write}
"""


@pytest.mark.parametrize("write, quiet", [("save(figure(), OUT)", True),
                                          ("figure().savefig(OUT)", False)])
def test_a_figure_written_by_save_logs_no_font_warnings(tmp_path, write, quiet):
    """Drawn outside the style, the mathtext font set asks for a 'cursive' family and matplotlib
    logs "findfont" warnings on machines without one (the second case shows the check can fail
    there); :func:`tuner.plotting.save` draws inside the style."""
    out = tmp_path / "f.png"
    code = _FIGURE.format(write=write.replace("OUT", repr(str(out))))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.stat().st_size > 0
    if quiet:
        assert "findfont" not in run.stderr, run.stderr[-2000:]
    elif "findfont" not in run.stderr:
        pytest.skip("this machine has a 'cursive' font: matplotlib finds it outside the style too")
