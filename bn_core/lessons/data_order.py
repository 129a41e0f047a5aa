"""The order a run feeds its training data in (T8): each batch's label mix, exactly as the run
trains on it, and summaries of accuracy that swings as the batches change class."""
from __future__ import annotations

import math

import numpy as np

from bn_core.data.datasets import class_mix_entropy
from bn_core.engine.training import BatchSchedule

STRIP_BATCHES = 100   # batches shown in the label-mix strip
RECENT_EVALS = 10     # evaluations summarised as "lately"


def label_strip(y, n_classes: int, batch_size: int, shuffle: float, seed: int,
                n_batches: int = STRIP_BATCHES) -> np.ndarray:
    """Label counts (n_batches, n_classes) of the first `n_batches` update steps of a run,
    from the run's own batch schedule (epochs re-ordered afresh, a partial last batch dropped)."""
    y = np.asarray(y)
    schedule = BatchSchedule(y, batch_size, shuffle, seed)
    if schedule.per_epoch < 1:
        raise ValueError(f"batch_size: got {batch_size}; the data set has only {len(y)} examples")
    rows = [np.bincount(y[schedule.indices(step).numpy()], minlength=n_classes)[:n_classes]
            for step in range(int(n_batches))]
    return np.stack(rows) if rows else np.zeros((0, n_classes), np.int64)


def batches_per_epoch(n_examples: int, batch_size: int) -> int:
    """Update steps in one pass over the data (the run drops a partial last batch)."""
    return n_examples // batch_size


def single_class_share(counts) -> float:
    """The share of batches that hold one class only (0 when empty)."""
    counts = np.asarray(counts)
    if len(counts) == 0:
        return 0.0
    return float(np.mean((counts > 0).sum(axis=1) == 1))


def mix_summary(counts) -> dict:
    """Mean label entropy per batch (bits), its maximum log2(n_classes), and the share of
    single-class batches: 0 bits and 100 % when sorted, near the maximum and 0 % shuffled."""
    counts = np.asarray(counts)
    n_classes = counts.shape[1] if counts.ndim == 2 else 0
    return {"entropy_bits": class_mix_entropy(counts) if len(counts) else 0.0,
            "max_bits": math.log2(n_classes) if n_classes > 1 else 0.0,
            "single_class": single_class_share(counts)}


def recent_range(values, last: int = RECENT_EVALS) -> tuple[float, float, float] | None:
    """(mean, min, max) of the last `last` finite values, or None if there are none: an
    accuracy that swings from batch to batch is better quoted as a range than one number."""
    v = np.asarray(values, dtype=np.float64)[-last:]
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    return float(v.mean()), float(v.min()), float(v.max())
