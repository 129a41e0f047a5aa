"""Tests for bn_core/lessons/data_order.py: the label mix of a run's batches and accuracy summaries."""
import math

import numpy as np
import pytest

from bn_core.lessons.data_order import (batches_per_epoch, label_strip, mix_summary, recent_range,
                                single_class_share)
from bn_core.data.datasets import build_toy_dataset
from bn_core.engine.training import BatchSchedule


@pytest.fixture(scope="module")
def circles():
    return build_toy_dataset("circles", n_samples=300, noise=0.15, seed=0)


def test_strip_rows_are_the_runs_batches(circles):
    y = circles.y_train
    counts = label_strip(y, 2, 10, 0.3, 7, 75)
    schedule = BatchSchedule(y, 10, 0.3, 7)
    assert counts.shape == (75, 2)
    for step in (0, 29, 30, 74):  # across epoch boundaries (30 batches per epoch)
        np.testing.assert_array_equal(counts[step], np.bincount(y[schedule.indices(step).numpy()],
                                                                minlength=2))
    assert (counts.sum(axis=1) == 10).all()


def test_sorted_batches_hold_one_class_and_shuffled_mix(circles):
    sorted_ = mix_summary(label_strip(circles.y_train, 2, 10, 0.0, 0, 100))
    shuffled = mix_summary(label_strip(circles.y_train, 2, 10, 1.0, 0, 100))
    assert sorted_["single_class"] == 1.0 and sorted_["entropy_bits"] == 0.0
    assert shuffled["single_class"] < 0.05 and shuffled["entropy_bits"] > 0.8
    assert sorted_["max_bits"] == shuffled["max_bits"] == 1.0


def test_sorted_strip_runs_through_classes_in_order():
    y = build_toy_dataset("blobs", n_samples=300, noise=0.1, seed=0).y_train
    counts = label_strip(y, 3, 10, 0.0, 0, 30)
    first_class = counts.argmax(axis=1)
    assert list(first_class[:10]) == [0] * 10 and list(first_class[-10:]) == [2] * 10
    assert mix_summary(counts)["max_bits"] == pytest.approx(math.log2(3))


def test_strip_rejects_a_batch_larger_than_the_data():
    with pytest.raises(ValueError, match="batch_size"):
        label_strip(np.zeros(5, np.int64), 2, 10, 1.0, 0, 3)


def test_batches_per_epoch_drops_the_partial_batch():
    assert batches_per_epoch(300, 10) == 30
    assert batches_per_epoch(305, 10) == 30


def test_single_class_share_and_empty():
    assert single_class_share(np.zeros((0, 3))) == 0.0
    assert single_class_share(np.array([[5, 0], [3, 2], [0, 5], [1, 4]])) == 0.5
    assert mix_summary(np.zeros((0, 2)))["entropy_bits"] == 0.0


def test_recent_range_skips_nan_and_handles_empty():
    assert recent_range([]) is None
    assert recent_range([math.nan]) is None
    mean, lo, hi = recent_range([0.0, 0.2, math.nan, 0.4, 0.6], last=4)
    assert (lo, hi) == (0.2, 0.6) and mean == pytest.approx(0.4)
