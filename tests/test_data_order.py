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


# ---------------------------------------------------------------------------- page text, real runs

from bn_core.engine.training import train_to_end  # noqa: E402
from bn_core.lessons import data_order as text  # noqa: E402
from bn_core.presets import lesson_setup  # noqa: E402

PAGE_SETUP = lesson_setup("shuffling")  # two rings, batches of 10


@pytest.fixture(scope="module")
def sorted_run():
    return train_to_end(PAGE_SETUP.replace(shuffle=0.0, steps=600))


@pytest.fixture(scope="module")
def shuffled_run():
    return train_to_end(PAGE_SETUP.replace(shuffle=1.0, steps=1000))


def test_sorted_rings_the_verdict_names_both_nets_stuck(sorted_run):
    for view in sorted_run.nets.values():
        assert recent_range(view.evals["heldout_acc"])[0] < 0.6  # what the sentence rests on
    verdict = text.verdict(sorted_run)
    assert verdict.startswith("**Plain and BN** are within 10 points of chance lately")
    assert "one-class batches" in verdict and "learns from the same batches" not in verdict
    rows = text.accuracy_rows(sorted_run)
    assert "**Held-out accuracy at step 600** (chance: 50%)" in rows
    for view in sorted_run.nets.values():
        assert f"**{view.label}**: **{view.evals['heldout_acc'][-1]:.0%}** now" in rows


def test_sorted_rings_regions_are_painted_one_class(sorted_run):
    shares = text.region_shares(sorted_run)
    for view in sorted_run.nets.values():
        grid = view.latest["grid"][..., 0]
        top = np.bincount(grid.ravel().astype(np.int64)).argmax()
        share = (grid == top).mean()
        assert share >= 0.9
        assert f"**{view.label}** paints **{share:.0%}** of the plane as class {top}" in shares


def test_shuffled_rings_both_learn(shuffled_run):
    for view in shuffled_run.nets.values():
        assert recent_range(view.evals["heldout_acc"])[0] > 0.6
    verdict = text.verdict(shuffled_run)
    assert verdict == ("Both nets are more than 10 points above chance lately: the batches are "
                       "mixed enough to learn from.")
    shares = text.region_shares(shuffled_run)
    assert shares.count("splits the plane class 0") == 2


def test_sorted_blobs_the_plain_net_learns_and_bn_does_not():
    """Gaussian blobs (3 classes), sorted (seed 0): the plain net reaches 100 %, BN stays at
    chance; the verdict says so rather than 'both stuck'."""
    snap = train_to_end(PAGE_SETUP.replace(shuffle=0.0, steps=600, dataset="blobs"))
    assert recent_range(snap.nets["plain"].evals["heldout_acc"])[0] > 0.9
    assert recent_range(snap.nets["bn"].evals["heldout_acc"])[1] < 0.45
    verdict = text.verdict(snap)
    assert verdict.startswith("**BN** is within 10 points of chance lately")
    assert "The Plain net learns from the same batches." in verdict
    assert "subtracts away where the class lies" in verdict


def test_an_early_run_is_not_judged():
    snap = train_to_end(PAGE_SETUP.replace(shuffle=1.0, steps=100))
    assert text.verdict(snap) == "The nets have only just started: give them a few hundred steps."


def test_mix_text_follows_the_strip(circles):
    sorted_ = mix_summary(label_strip(circles.y_train, 2, 10, 0.0, 0, 100))
    mixed = mix_summary(label_strip(circles.y_train, 2, 10, 1.0, 0, 100))
    words = text.mix_text(sorted_, 100, 30, 10, 0.0)
    assert "(sorted by class)" in words and "100% of the first 100 batches hold a single class" in words
    assert "**0.00 bits**" in words and "1.00 = evenly mixed" in words
    assert "one epoch = 30 batches of 10" in words
    assert "solid blocks" in text.mix_look_for(sorted_, 0.0)
    assert "patchwork" in text.mix_look_for(mixed, 1.0) and "back to 0" in text.mix_look_for(mixed, 1.0)
    assert text.order_words(0.5) == "50% of the way from sorted to shuffled"
