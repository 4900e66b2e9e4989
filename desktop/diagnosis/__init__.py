"""Bearing diagnosis of a machine never seen before: machine profiles, shaft speed, and
fault-frequency evidence from the envelope spectrum (no Qt, no torch).

Modules, one job each:

- :mod:`~desktop.diagnosis.catalogue`: bearing presets (designation → geometry, with the
  catalogue each comes from) on top of :mod:`desktop.analysis.bearings`.
- :mod:`~desktop.diagnosis.profiles`: ``MachineProfile`` and its JSON store.
- :mod:`~desktop.diagnosis.speed`: shaft speed from a speed channel, tacho pulses or the
  spectrum, with its source and a confidence.
- :mod:`~desktop.diagnosis.order_tracking`: angular resampling and order spectra.
- :mod:`~desktop.diagnosis.lines`: spectral lines against a local noise floor, mains
  detection, masks of lines that are never bearing lines.
- :mod:`~desktop.diagnosis.evidence`: BPFO/BPFI/BSF/FTF evidence in an envelope spectrum.
- :mod:`~desktop.diagnosis.attribution`: one fault's sideband comb explains another's
  lines.
- :mod:`~desktop.diagnosis.verdict`: the verdict for one span (running state, speed,
  bands, location).
- :mod:`~desktop.diagnosis.run`: the verdict for a span and per window.
- :mod:`~desktop.diagnosis.simulate`: the bearing-signal simulator used for tests and the
  evaluation.
"""
