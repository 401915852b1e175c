"""Explaining trained jet taggers in the language of physics observables.

Data: jet samples generated with Pythia (:mod:`explain.jets`), groomed or not (:mod:`explain.grooming`),
jet images (:mod:`explain.images`), jet
observables and energy-flow polynomials (:mod:`explain.observables`). Taggers: example CNN and dense
networks and their training (:mod:`explain.taggers`), a particle flow network on constituents
(:mod:`explain.particles`). Explanations: LRP rules, canonizers and composites
(:mod:`explain.rules`, :mod:`explain.canonizers`, :mod:`explain.composites`, :mod:`explain.attribution`),
SHAP (:mod:`explain.shapley`), filters (:mod:`explain.filters`), and whether to trust them
(:mod:`explain.metrics`). Physics: correlation maps, average
decision ordering and windows (:mod:`explain.mapping`), with plots (:mod:`explain.plots`).
"""

from __future__ import annotations

from explain.attribution import gradient, input_x_gradient, lrp
from explain.canonizers import Canonizer, MergeBatchNorm
from explain.composites import AllEpsilon, Composite, ElementwiseAffine, EpsilonGammaBox, EpsilonPlusFlat
from explain.decorrelation import Sculpting, distance_correlation, sculpting
from explain.errors import ExplainError
from explain.filters import activation_maximisation, activations, first_layer_kernels, mean_activation_maps
from explain.grooming import PAPER_1511_05190, groomed_mass, soft_drop, subjets, trim
from explain.images import FRAMES, jet_images
from explain.jets import JetSample, generate_jets, load_or_generate
from explain.mapping import PhysicsReport, ado, physics_report, pixel_correlation
from explain.metrics import AttributionQuality, attribution_quality, integrated_gradients
from explain.observables import efp, efp_table, efps, jet_observables, multigraphs
from explain.particles import ParticleFlowNetwork, constituent_features, particle_relevance, relevance_image
from explain.rules import Epsilon, Flat, Gamma, Pass, Rule, WSquare, ZBox, ZPlus
from explain.shapley import shap_images, shap_observables, shap_particles
from explain.taggers import JetImageCNN, ObservableDNN, TrainResult, predict, roc_auc, train_tagger

__all__ = [
    "FRAMES",
    "PAPER_1511_05190",
    "AllEpsilon",
    "AttributionQuality",
    "Canonizer",
    "Composite",
    "ElementwiseAffine",
    "Epsilon",
    "EpsilonGammaBox",
    "EpsilonPlusFlat",
    "ExplainError",
    "Flat",
    "Gamma",
    "JetImageCNN",
    "JetSample",
    "MergeBatchNorm",
    "ObservableDNN",
    "ParticleFlowNetwork",
    "Pass",
    "PhysicsReport",
    "Rule",
    "Sculpting",
    "TrainResult",
    "WSquare",
    "ZBox",
    "ZPlus",
    "activation_maximisation",
    "activations",
    "ado",
    "attribution_quality",
    "constituent_features",
    "distance_correlation",
    "efp",
    "efp_table",
    "efps",
    "first_layer_kernels",
    "generate_jets",
    "gradient",
    "groomed_mass",
    "input_x_gradient",
    "integrated_gradients",
    "jet_images",
    "jet_observables",
    "load_or_generate",
    "lrp",
    "mean_activation_maps",
    "multigraphs",
    "particle_relevance",
    "physics_report",
    "pixel_correlation",
    "predict",
    "relevance_image",
    "roc_auc",
    "sculpting",
    "shap_images",
    "shap_observables",
    "shap_particles",
    "soft_drop",
    "subjets",
    "train_tagger",
    "trim",
]
