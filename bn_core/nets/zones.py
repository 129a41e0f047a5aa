"""What the pages need to know of the nets and their probes, without torch (the web server
reads it): the zones and bins they shade and count, the loss-landscape probes' step sizes and
the range of the time-varying noise.

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


# Loss-landscape probes (Santurkar et al. 2018, "How does batch normalization help
# optimization?", arXiv:1805.11604, Fig. 4): at a training step they move from the current
# weights along the gradient over a range of distances and record the loss and the gradient
# there. The caption caps the distance at eta = 0.4 (times the gradient) for their VGG, trained
# by SGD at learning rate 0.1 (their Fig. 1): steps of up to about four SGD updates, not a
# fraction of one (at a fraction of a step the loss is locally quadratic and its "range" only
# measures the gradient's size). BN Lab spans the same reach relative to the run's own learning
# rate, from a quarter of an update to four, spaced by factors of two.
LANDSCAPE_STEP_SIZES = (0.25, 0.5, 1.0, 2.0, 4.0)  # multiples of the run's learning rate

# Santurkar et al. 2018 noise (experiments.md section 2, secondary source); the rest of it is in
# bn_core/nets/models.py (TimeVaryingNoise)
NOISE_MEAN_RANGE = (-0.5, 0.5)   # mu_t ~ U, per layer and step
NOISE_SCALE_RANGE = (1.0, 1.25)  # sigma_t ~ U, per layer and step
