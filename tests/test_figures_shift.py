"""Smoke and content tests for bn_core/figures/shift.py: each builder returns a figure whose
traces carry the run's data."""
import numpy as np
import pytest

from bn_core.config import RunConfig
from bn_core.figures.shift import (current_boundaries_chart, decision_regions_chart,
                                   initial_boundaries_chart, shift_sweep_chart,
                                   train_test_accuracy_chart, whitening_accuracy_chart)
from bn_core.figures.style import NET_COLORS
from bn_core.engine.training import train_to_end

SMALL = dict(dataset="moons", n_samples=120, depth=2, width=8, batch_size=20, steps=40,
             probe_every=10, eval_every=10, grid_resolution=20, heldout_size=100)


@pytest.fixture(scope="module")
def shifted():
    return train_to_end(RunConfig(shift_x=1.0, rotate_deg=30.0, **SMALL))


@pytest.fixture(scope="module")
def pair():
    return [train_to_end(RunConfig(far_offset=8.0, whitening=w, **SMALL)) for w in ("none", "zca")]


def test_decision_regions_chart_has_grids_and_points(shifted):
    fig = decision_regions_chart(shifted)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and np.asarray(heatmaps[0].z).shape == (20, 20)
    names = {t.name for t in fig.data if t.type == "scatter"}
    assert "test (shifted): class 0" in names
    assert not any("test" in (t.name or "") for t in decision_regions_chart(shifted, False).data)


def test_train_test_accuracy_chart_lines_per_net_and_set(shifted):
    fig = train_test_accuracy_chart(shifted)
    lines = [t for t in fig.data if t.type == "scatter"]
    assert len(lines) == 4
    assert {t.line.color for t in lines} == {NET_COLORS["plain"], NET_COLORS["bn"]}
    for t in lines:
        y = np.asarray(t.y)
        assert len(y) == 5 and ((y >= 0) & (y <= 1)).all()
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_shift_sweep_chart_one_line_per_net(shifted):
    fig = shift_sweep_chart(shifted)
    assert [t.name for t in fig.data] == ["Plain", "BN"]
    assert len(fig.data[0].x) == 11 and np.asarray(fig.data[0].x)[-1] == 100


def test_initial_boundaries_chart_lines_through_origin_or_data_mean(pair):
    fig = initial_boundaries_chart(pair)
    lines = [t for t in fig.data if t.name == "first-layer unit lines at init"]
    assert len(lines) == 2
    assert "lines cut the data" in fig.layout.annotations[0].text
    # unwhitened lines meet at the origin: the midpoint of each segment is (0, 0)
    x, y = np.asarray(lines[0].x, float), np.asarray(lines[0].y, float)
    np.testing.assert_allclose((x[0] + x[1]) / 2, 0.0, atol=1e-3)
    np.testing.assert_allclose((y[0] + y[1]) / 2, 0.0, atol=1e-3)
    x, y = np.asarray(lines[1].x, float), np.asarray(lines[1].y, float)
    assert (x[0] + x[1]) / 2 > 5 and (y[0] + y[1]) / 2 > 5  # whitened: at the data's mean
    assert any(t.type == "heatmap" for t in fig.data)


def test_whitening_accuracy_chart_marks_target(pair):
    fig = whitening_accuracy_chart(pair, 0.6)
    dotted = [t for t in fig.data if t.type == "scatter" and t.line.dash == "dot"]
    solid = [t for t in fig.data if t.type == "scatter" and t.line.dash == "solid"]
    assert len(dotted) == 2 and len(solid) == 2
    assert any(t.name.startswith("target 60%") for t in fig.data)


def test_current_boundaries_chart_grid_of_runs_and_nets(pair):
    fig = current_boundaries_chart(pair)
    assert sum(t.type == "heatmap" for t in fig.data) == 4


def test_builders_draw_an_unstarted_run_without_failing():
    from bn_core.engine.run import Run

    snap = Run(RunConfig(**SMALL)).snapshot()  # no thread: no data, no nets yet
    for fig in (decision_regions_chart(snap), train_test_accuracy_chart(snap),
                shift_sweep_chart(snap), whitening_accuracy_chart([snap], 0.9),
                current_boundaries_chart([snap]), initial_boundaries_chart([snap])):
        assert fig.layout.title.text
