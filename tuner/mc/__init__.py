"""Tuning Monte Carlo event generators to measured histograms.

- :mod:`tuner.mc.generators`: the Generator base class and Pythia 8;
- :mod:`tuner.mc.analyses`: event shapes, the Analysis base class and registry, the LEP analyses;
- :mod:`tuner.mc.refdata`: YODA / HEPData in, YODA out; :mod:`tuner.mc.chi2`: the chi2 and its
  Monte Carlo variance; :mod:`tuner.mc.runs`: chunked, seeded runs on any number of workers;
- :mod:`tuner.mc.config`: the validated configuration; :mod:`tuner.mc.proposers`: what to
  evaluate next (chi2 GP, histogram emulator); :mod:`tuner.mc.uncertainty`: covariance of a tune;
- :mod:`tuner.mc.workflow`: a tune run; :mod:`tuner.mc.outputs` and :mod:`tuner.mc.plots`:
  what it writes and draws; :mod:`tuner.mc.cli`: ``tune-generator``.

Nothing here is imported by the optimiser wing of :mod:`tuner`. Importing this package loads
nothing; :mod:`tuner.mc.generators` alone (jet samples) loads neither BoTorch nor GPyTorch.
"""
