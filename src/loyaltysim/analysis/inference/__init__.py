"""Bayesian calibration and emulation: algorithms over a ``simulate(points, batch)`` function.

The modules know nothing of configs or files; :mod:`loyaltysim.analysis.calibration` hands
them a function that runs batches of parameter points through the sweep engine.

``posterior``        weighted samples, credible intervals
``abc_smc``          ABC-SMC with an adaptive distance and epsilon schedule
``npe``              neural posterior estimation with sbi (optional ``inference`` extra)
``diagnostics``      simulation-based calibration, coverage, misspecification, identifiability
``emulator``         Gaussian-process emulators of outputs, validated on held-out runs
``history_matching`` implausibility and waves of history matching
``emulated_sobol``   Sobol' indices computed on an emulator, with their uncertainty
"""
