"""Cepstral pre-whitening: a signal with a flat (unit) amplitude spectrum and its phase
kept, before the envelope.

``x_w = IFFT(X / |X|)`` — the real cepstrum of ``x`` set to zero at every quefrency but
zero, which removes the discrete lines (shaft, gear mesh, mains) and the colouring of the
structural resonances at once, leaving the impulsive part of the signal equally weighted
at every frequency (P. Borghesani, P. Pennacchi, R. B. Randall, N. Sawalhi, R. Ricci,
"Application of cepstrum pre-whitening for the diagnosis of bearing faults under
variable speed conditions", MSSP 36 (2013) 370–384; N. Sawalhi & R. B. Randall,
"Signal pre-whitening using cepstrum editing (liftering) to enhance fault detection in
rolling element bearings", COMADEM 2011). It is one of the methods of W. A. Smith &
R. B. Randall's benchmark of the CWRU data, MSSP 64–65 (2015) 100–131.

Written here (a few lines over :mod:`scipy.fft`) because scipy has no pre-whitening
function; the transform itself is scipy's.
"""

from __future__ import annotations

import numpy as np
from scipy import fft


def cepstral_prewhiten(x: np.ndarray) -> np.ndarray:
    """``x`` ``(n,)`` (any unit) pre-whitened: ``irfft(X / |X|)``, ``(n,)``, unitless with
    unit RMS per frequency bin. Bins of zero magnitude stay zero (a guard of 1e-12 of
    the largest magnitude). The mean (0 Hz) is removed."""
    a = np.asarray(x, dtype=np.float64)
    spec = fft.rfft(a - a.mean())
    mag = np.abs(spec)
    guard = 1e-12 * float(mag.max()) if mag.size else 0.0
    white = np.zeros_like(spec)
    np.divide(spec, mag, out=white, where=mag > guard)
    white[0] = 0.0
    return fft.irfft(white, a.size)


__all__ = ["cepstral_prewhiten"]
