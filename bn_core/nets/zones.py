"""The zones and bins the pages shade and count, without torch (the web server reads them).

The sigmoid is "saturated" where its slope is below 0.018 (|x| > 4) and "near-linear" where it
stays within 0.02 of its tangent at 0 (|x| < 1).
"""
from __future__ import annotations

import numpy as np

PERCENTILES = (15, 50, 85)
SATURATION_THRESHOLD = {"sigmoid": 4.0, "tanh": 2.0}
LINEAR_ZONE = {"sigmoid": 1.0, "tanh": 0.5}
HISTOGRAM_BINS = 60
HISTOGRAM_RANGE = {"sigmoid": (-10.0, 10.0), "tanh": (-6.0, 6.0), "relu": (-6.0, 6.0),
                   "linear": (-6.0, 6.0)}


def histogram_edges(activation: str, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Bin edges fixed for a whole run; values outside fall into the end bins."""
    lo, hi = HISTOGRAM_RANGE[activation]
    return np.linspace(lo, hi, bins + 1)
