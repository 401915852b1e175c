"""The walkthrough notebook runs end to end in a real kernel (smoke size) with its plots inline."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "explain_tagger.ipynb"


def test_explain_notebook_runs_with_plots(jets, tmp_path, monkeypatch):
    # the `jets` fixture fills the cache with the sample the smoke notebook asks for (300 per class, seed 1)
    monkeypatch.setenv("EXPLAIN_SMOKE", "1")
    monkeypatch.setenv("EXPLAIN_CACHE_DIR", str(jets.cache))
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOK.parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook clean"
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 12
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "validation ROC AUC" in text and "top observables by ADO" in text
    # the sections of the particle flow network, the attribution checks and the DisCo tagger ran
    assert "validation ROC AUC: particle flow network" in text and "PFN, top observables by ADO" in text
    assert "| random |" in text and "DisCo CNN: AUC" in text
    assert "particle SHAP sums to f(jet) - f(no particles): True" in text
    assert not list(tmp_path.glob("jet-cache*")), "the notebook regenerated jets instead of using the cache"
