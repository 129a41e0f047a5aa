"""Tests for bn_core/lessons/covariate_shift.py: steps to an accuracy, shifting test data part of the way,
reading accuracy off a decision grid, and the first layer's lines at initialisation."""
import math

import numpy as np
import pytest
import torch

from bn_core.config import RunConfig
from bn_core.lessons.covariate_shift import (SHIFT_FRACTIONS, accuracy_under_shift, distance_from_origin,
                                     first_layer_lines, grid_lookup, partial_shift, shift_sweep,
                                     steps_to_accuracy, units_cutting_data, unshift_points)
from bn_core.data.datasets import build_toy_dataset, shift_points
from bn_core.nets.models import build_twins

VIEW = (-1.0, 1.0, -1.0, 1.0)


def half_plane_grid(res: int = 41) -> np.ndarray:
    """Class 0 where x1 < 0, class 1 where x1 > 0, over VIEW."""
    xs = np.linspace(VIEW[0], VIEW[1], res)
    cls = np.tile((xs > 0).astype(np.uint8), (res, 1))
    return np.stack([cls, np.full_like(cls, 255)], axis=-1)


# ---------------------------------------------------------------------------- steps_to_accuracy

def test_steps_to_accuracy_first_step_at_or_above_target():
    steps = np.array([0, 20, 40, 60, 80])
    acc = np.array([0.5, 0.7, 0.9, 0.85, 0.95])
    assert steps_to_accuracy(steps, acc, 0.9) == 40  # equal counts as reached
    assert steps_to_accuracy(steps, acc, 0.91) == 80
    assert steps_to_accuracy(steps, acc, 0.5) == 0


def test_steps_to_accuracy_never_reached_and_nan():
    steps = np.array([0, 10, 20])
    assert steps_to_accuracy(steps, np.array([0.1, 0.2, 0.3]), 0.9) is None
    assert steps_to_accuracy(steps, np.array([math.nan, math.nan, 0.95]), 0.9) == 20
    assert steps_to_accuracy(np.array([], int), np.array([]), 0.5) is None


def test_steps_to_accuracy_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="shape"):
        steps_to_accuracy([0, 1], [0.5], 0.9)


# ---------------------------------------------------------------------------- shifting

def test_partial_shift_ends_and_middle():
    assert partial_shift(0.0, (2.0, -1.0), 40.0, 4.0) == ((0.0, -0.0), 0.0, 1.0)
    assert partial_shift(1.0, (2.0, -1.0), 40.0, 4.0) == ((2.0, -1.0), 40.0, 4.0)
    (tx, ty), rot, scale = partial_shift(0.5, (2.0, -1.0), 40.0, 4.0)
    assert (tx, ty, rot) == (1.0, -0.5, 20.0) and scale == pytest.approx(2.0)


@pytest.mark.parametrize("translate,rot,scale", [((1.0, -2.0), 30.0, 1.5), ((0.0, 0.0), -170.0, 0.3),
                                                 ((3.0, 0.5), 0.0, 4.0)])
def test_unshift_points_inverts_shift_points(translate, rot, scale):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2)) * 2 + 1
    centre = np.array([0.7, -0.2])
    moved = shift_points(x, translate, rot, scale, centre=centre)
    np.testing.assert_allclose(unshift_points(moved, translate, rot, scale, centre), x, atol=1e-9)


def test_unshift_points_rejects_non_positive_scale():
    with pytest.raises(ValueError, match="scale"):
        unshift_points(np.zeros((1, 2)), (0, 0), 0.0, 0.0, (0, 0))


def test_grid_lookup_nearest_cell_and_edges():
    grid = half_plane_grid()
    pts = np.array([[-0.5, 0.0], [0.5, 0.3], [-5.0, 9.0], [7.0, -9.0]])
    np.testing.assert_array_equal(grid_lookup(grid, VIEW, pts), [0, 1, 0, 1])


def test_accuracy_under_shift_falls_as_points_cross_the_boundary():
    grid = half_plane_grid()
    x = np.array([[-0.5, 0.0]] * 5 + [[0.5, 0.0]] * 5)
    y = np.array([0] * 5 + [1] * 5)
    acc = accuracy_under_shift(grid, VIEW, x, y, (1.0, 0.0), 0.0, 1.0, (0.0, 0.0),
                               fractions=(0.0, 0.25, 1.0))
    # unshifted all right; moved 0.25 nothing crosses; moved 1.0 class 0 lands at +0.5: wrong
    np.testing.assert_allclose(acc, [1.0, 1.0, 0.5])
    assert acc.dtype == np.float32


def test_shift_sweep_ends_on_the_runs_own_test_set():
    cfg = RunConfig(dataset="moons", n_samples=200, shift_x=0.8, rotate_deg=35.0, scale=1.3)
    data = build_toy_dataset("moons", n_samples=200, noise=0.15, seed=0,
                             translate=(0.8, 0.0), rotate_deg=35.0, scale=1.3)
    view = data.viewport()
    res = 80
    xs = np.linspace(view[0], view[1], res)
    ys = np.linspace(view[2], view[3], res)
    gx, gy = np.meshgrid(xs, ys)
    cls = (gy < 0.25 - 0.3 * gx).astype(np.uint8)  # some fixed straight boundary
    grid = np.stack([cls, np.zeros_like(cls)], axis=-1)
    sweep = shift_sweep(data, cfg, grid, view)
    assert sweep.shape == (len(SHIFT_FRACTIONS),)
    direct = np.mean(grid_lookup(grid, view, data.x_test) == data.y_test)
    assert sweep[-1] == pytest.approx(direct)
    # fraction 0 scores the test points where they were before the shift
    original = unshift_points(data.x_test, (0.8, 0.0), 35.0, 1.3, data.x_train.mean(axis=0))
    assert sweep[0] == pytest.approx(np.mean(grid_lookup(grid, view, original) == data.y_test))


# ---------------------------------------------------------------------------- first layer lines

@pytest.mark.parametrize("whitening,far", [("none", 0.0), ("none", 8.0), ("zca", 8.0),
                                           ("pca", 5.0), ("standardize", 8.0)])
def test_first_layer_lines_match_the_nets_first_layer(whitening, far):
    cfg = RunConfig(dataset="moons", n_samples=200, depth=2, width=16, far_offset=far,
                    whitening=whitening, seed=3)
    data = build_toy_dataset("moons", n_samples=200, noise=0.15, seed=3, far_offset=far,
                             whitening=whitening)
    lines = first_layer_lines(cfg, data.whitener, data.n_classes)
    assert lines.normals.shape == (16, 2)
    for net in build_twins(cfg, 2, data.n_classes).values():
        pre = net.linears[0](torch.from_numpy(data.model_input(data.x_train)))
        np.testing.assert_array_equal(lines.side(data.x_train), pre.detach().numpy() > 0)
    if whitening == "none":
        np.testing.assert_array_equal(lines.anchor, [0.0, 0.0])
    else:
        np.testing.assert_allclose(lines.anchor, data.x_train.mean(axis=0), atol=1e-5)


def test_far_data_is_missed_by_the_initial_lines_unless_whitened():
    counts = {}
    for white in ("none", "zca"):
        cfg = RunConfig(dataset="moons", n_samples=300, depth=2, width=16, far_offset=8.0,
                        whitening=white)
        data = build_toy_dataset("moons", n_samples=300, noise=0.15, far_offset=8.0,
                                 whitening=white)
        lines = first_layer_lines(cfg, data.whitener, data.n_classes)
        counts[white] = int(units_cutting_data(lines, data.x_train).sum())
    assert counts["none"] <= 4
    assert counts["zca"] >= 14


def test_units_cutting_data_margin():
    from bn_core.lessons.covariate_shift import UnitLines

    lines = UnitLines(normals=np.array([[1.0, 0.0], [0.0, 1.0]]), anchor=np.zeros(2))
    x = np.array([[-1.0, 1.0]] * 3 + [[1.0, 2.0]] * 97)  # 3 % left of x1=0, all above x2=0
    np.testing.assert_array_equal(units_cutting_data(lines, x), [False, False])
    np.testing.assert_array_equal(units_cutting_data(lines, x, margin=0.01), [True, False])


def test_segments_pass_through_the_anchor():
    from bn_core.lessons.covariate_shift import UnitLines

    lines = UnitLines(normals=np.array([[1.0, 1.0], [0.0, 2.0]]), anchor=np.array([3.0, 4.0]))
    xs, ys = lines.segments(10.0)
    assert len(xs) == 6 and np.isnan(xs[2]) and np.isnan(ys[5])
    for k in range(2):
        mid = ((xs[3 * k] + xs[3 * k + 1]) / 2, (ys[3 * k] + ys[3 * k + 1]) / 2)
        np.testing.assert_allclose(mid, [3.0, 4.0], atol=1e-5)
        d = np.array([xs[3 * k + 1] - xs[3 * k], ys[3 * k + 1] - ys[3 * k]])
        assert abs(d @ lines.normals[k]) < 1e-4  # the segment is perpendicular to the normal


def test_distance_from_origin():
    assert distance_from_origin(np.array([[3.0, 4.0], [3.0, 4.0]])) == pytest.approx(5.0)


def test_rescoring_a_run_equals_training_it_with_the_shift():
    """Moving the test-only sliders re-scores the recorded nets: the same test accuracy as a
    run trained with that shift (which trains the very same nets), without retraining."""
    from bn_core.engine.training import train_to_end
    from bn_core.lessons.covariate_shift import rescore, training_config

    shifted = RunConfig(dataset="moons", n_samples=200, noise=0.15, depth=2, width=8,
                        batch_size=20, steps=200, probe_every=20, eval_every=20,
                        grid_resolution=20, heldout_size=150, shift_x=1.2, rotate_deg=40.0,
                        scale=1.5)
    trained = train_to_end(shifted)
    plain = train_to_end(training_config(shifted))
    again = rescore(plain, shifted.shift_x, shifted.shift_y, shifted.rotate_deg, shifted.scale)
    assert again.config == shifted
    for name in shifted.nets:
        want, got = trained.nets[name].evals, again.nets[name].evals
        np.testing.assert_array_equal(want["step"], got["step"])
        np.testing.assert_allclose(got["test_acc"], want["test_acc"], atol=1e-6)
        np.testing.assert_allclose(got["test_loss"], want["test_loss"], rtol=1e-4, atol=1e-5)
        # and the shift did cost accuracy: the re-scored numbers are not the unshifted ones
        assert got["test_acc"][-1] < plain.nets[name].evals["test_acc"][-1] - 0.05
        # the regions are redrawn over a viewport that holds the moved test points
        np.testing.assert_array_equal(again.nets[name].latest["grid"],
                                      trained.nets[name].latest["grid"])
        np.testing.assert_array_equal(again.nets[name].initial_grid, trained.nets[name].initial_grid)
    assert again.viewport == trained.viewport != plain.viewport
    assert again.key != plain.key and again.key.startswith(plain.key)  # figure caches differ
    assert rescore(plain, 0.0, 0.0, 0.0, 1.0) is plain  # no shift: the run as it is


def test_rescoring_a_net_without_recorded_parameters_gives_no_test_accuracy():
    """Without checkpoints (no decision grid recorded) the shifted test accuracy is unknown:
    NaN, never the unshifted number passed off as the shifted one."""
    from bn_core.engine.training import train_to_end
    from bn_core.lessons.covariate_shift import rescore

    cfg = RunConfig(dataset="moons", n_samples=100, depth=1, width=4, batch_size=20, steps=40,
                    probe_every=20, eval_every=20, grid_resolution=0, heldout_size=50)
    snap = train_to_end(cfg)
    assert not len(snap.nets["plain"].checkpoints.get("step", ()))
    moved = rescore(snap, 2.0, 0.0, 0.0, 1.0)
    assert moved.config.shift_x == 2.0
    for view in moved.nets.values():
        assert np.isnan(view.evals["test_acc"]).all() and len(view.evals["test_acc"]) == 3
        np.testing.assert_array_equal(view.evals["train_acc"], snap.nets[view.name].evals["train_acc"])


# ---------------------------------------------------------------------------- T2: page text

def test_whitening_text_is_written_from_the_two_runs():
    from bn_core.engine.training import train_to_end
    from bn_core.lessons.covariate_shift import first_reached, speedup_sentence, whitening_look_for
    from bn_core.presets import lesson_setup

    cfg = lesson_setup("whitening").replace(pace=0.0, steps=400)
    snaps = [train_to_end(cfg.replace(whitening=w)) for w in ("none", "zca")]
    before = first_reached(snaps[0].nets["plain"], 0.9)
    after = first_reached(snaps[1].nets["plain"], 0.9)
    assert after is not None and (before is None or after < before)  # seed 0: T2 holds
    look = whitening_look_for(snaps, 0.9)
    assert "the whitened plain net got there first" in look
    assert "few dozen" not in look
    speed = speedup_sentence(snaps, "plain", 0.9, "ZCA whitening")
    assert f"{after:,} steps" in speed or f"{after:,} instead of" in speed
    assert "Choose a whitening method" in whitening_look_for(snaps[:1], 0.9)
