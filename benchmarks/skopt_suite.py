"""scikit-optimize's own tests, run against scikit-optimize and against ``tuner`` side by side.

The tests are not in skopt's wheel: point the script at a checkout of the scikit-optimize
repository (or at the folder ``git archive HEAD skopt/tests | tar -x`` makes of it). Each test
file is copied twice into a scratch folder, once as it is and once with ``gp_minimize``,
``Optimizer``, ``forest_minimize``, ``gbrt_minimize`` and ``dummy_minimize`` imported from
``tuner`` (``--gp-names-only``: the first two, as before session 39); both copies run under
pytest, and the table shows, per file, how many tests pass with each. Tests that never reach the
swapped names (skopt's own kernels and learners alone) pass or fail the same way in both copies.

    python benchmarks/skopt_suite.py /path/to/scikit-optimize [--files test_gp_opt test_optimizer]

``--space`` also imports ``Space``, ``Real``, ``Integer``, ``Categorical`` and ``check_dimension``
from ``tuner.space`` (run it with ``--files test_space``: skopt's tests of its space classes).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

FILES = ["test_gp_opt", "test_common", "test_optimizer", "test_parallel_cl", "test_callbacks",
         "test_plots", "test_utils", "test_deprecation"]

SWAPS = [(r"^from skopt import gp_minimize$", "from tuner import gp_minimize"),
         (r"^from skopt\.optimizer import Optimizer$", "from tuner import Optimizer"),
         (r"^from skopt import Optimizer$", "from tuner import Optimizer")]
#: the other minimisers scikit-optimize's tests import, swapped too unless ``--gp-names-only``
#: (sessions before 39 swapped the two names above only)
MORE_SWAPS = [(rf"^from skopt import {name}$", f"from tuner import {name}")
              for name in ("forest_minimize", "gbrt_minimize", "dummy_minimize")]
#: ``--space``: the space classes too, from ``tuner.space`` (is it a superset of skopt's?)
SPACE_SWAPS = [(rf"^from skopt\.space import {name}$", f"from tuner.space import {name}")
               for name in ("Space", "Real", "Integer", "Categorical")] + [
    (r"^from skopt\.space import check_dimension as", "from tuner.space import check_dimension as")]


def run(folder: Path, name: str) -> dict[str, str]:
    """Run one test file; test id -> outcome (passed, failed, error, skipped)."""
    report = folder / f"{name}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(folder / f"{name}.py")],
                   cwd=folder, capture_output=True, text=True, check=False)
    out: dict[str, str] = {}
    if not report.exists():
        return out
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        out[case.get("name", "?")] = outcome
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout", type=Path, help="a scikit-optimize repository checkout")
    ap.add_argument("--files", nargs="+", default=FILES)
    ap.add_argument("--gp-names-only", action="store_true",
                    help="swap gp_minimize and Optimizer only (not forest/gbrt/dummy_minimize)")
    ap.add_argument("--space", action="store_true",
                    help="also take the space classes from tuner.space")
    ap.add_argument("--tuner-only", action="store_true",
                    help="run only the swapped copies (the skopt column then reads '-')")
    a = ap.parse_args()
    src = a.checkout / "skopt" / "tests"
    rows = []
    failing: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.files:
            text = (src / f"{name}.py").read_text()
            swapped = text
            for pat, rep in (SWAPS + ([] if a.gp_names_only else MORE_SWAPS)
                             + (SPACE_SWAPS if a.space else [])):
                swapped = re.sub(pat, rep, swapped, flags=re.M)
            results = {}
            sides = (("tuner", swapped),) if a.tuner_only else (("skopt", text), ("tuner", swapped))
            for label, body in sides:
                folder = Path(tmp) / label
                folder.mkdir(exist_ok=True)
                (folder / f"{name}.py").write_text(body)
                results[label] = run(folder, name)
            ours = results["tuner"]
            both = results.get("skopt", {})
            ok_s = sum(v == "passed" for v in both.values()) if both else None
            ok_t = sum(v == "passed" for v in ours.values())
            swapped_any = swapped != text
            rows.append((name, len(ours), ok_s, ok_t, swapped_any))
            failing += [f"{name}::{t}" for t, v in ours.items()
                        if v in ("failure", "error") and both.get(t, "passed") == "passed"]
            shutil.rmtree(Path(tmp) / "skopt", ignore_errors=True)
            shutil.rmtree(Path(tmp) / "tuner", ignore_errors=True)
    print("| file | tests | pass with skopt | pass with tuner | names swapped |")
    print("|---|---|---|---|---|")
    for name, n, ok_s, ok_t, sw in rows:
        print(f"| {name} | {n} | {'-' if ok_s is None else ok_s} | {ok_t} | {'yes' if sw else 'no'} |")
    tot = [sum(r[i] or 0 for r in rows) for i in (1, 2, 3)]
    print(f"| all | {tot[0]} | {'-' if a.tuner_only else tot[1]} | {tot[2]} | |")
    if failing:
        print("\nfail with tuner" + ("" if a.tuner_only else " (and pass with skopt)") + ":")
        for f in failing:
            print("  " + f)


if __name__ == "__main__":
    main()
