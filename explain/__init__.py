"""Explaining trained jet taggers in the language of physics observables.

This first part provides the data layer: jet samples generated with Pythia (:mod:`explain.jets`),
jet images (:mod:`explain.images`) and jet observables including energy-flow polynomials
(:mod:`explain.observables`). Relevance propagation, SHAP, filters and the mapping onto
observables build on it.
"""

from __future__ import annotations

from explain.errors import ExplainError
from explain.images import jet_images
from explain.jets import JetSample, generate_jets, load_or_generate
from explain.observables import efp, efps, jet_observables, multigraphs

__all__ = ["ExplainError", "JetSample", "efp", "efps", "generate_jets", "jet_images",
           "jet_observables", "load_or_generate", "multigraphs"]
