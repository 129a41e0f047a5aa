"""Smoke tests of the distribution figures (T3, T6) and the live Figure 1 charts (T4): each
builder returns a figure carrying the run's data."""
import numpy as np
import plotly.graph_objects as go
import pytest

from bn_core.config import RunConfig
from bn_core.figures.distributions import (LEVELS, bn_input_figure, input_histogram_heatmaps,
                                           moment_drift_figure)
from bn_core.figures.figure1_page import heldout_accuracy_chart, percentile_bands_chart
from bn_core.engine.training import train_to_end


def small(**changes):
    base = dict(dataset="moons", n_samples=200, depth=3, width=16, activation="sigmoid",
                batch_size=20, lr=0.5, steps=60, probe_every=10, eval_every=10,
                grid_resolution=0, heldout_size=100)
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture(scope="module")
def sigmoid_snap():
    return train_to_end(small())


@pytest.fixture(scope="module")
def relu_after_snap():
    return train_to_end(small(activation="relu", placement="after", lr=0.1))


def heatmaps(fig):
    return [t for t in fig.data if isinstance(t, go.Heatmap)]


def test_heatmaps_one_per_net_with_uint8_levels(sigmoid_snap):
    fig = input_histogram_heatmaps(sigmoid_snap, 2)
    maps = heatmaps(fig)
    assert len(maps) == 2
    n_probes = len(sigmoid_snap.nets["plain"].probes["step"])
    for hm in maps:
        z = np.asarray(hm.z)
        assert z.dtype == np.uint8 and z.shape == (len(sigmoid_snap.edges) - 1, n_probes)
        assert 0 < z.max() <= LEVELS
    assert [hm.showscale for hm in maps] == [False, True]  # one colour bar
    assert fig.layout.title.text.startswith("Layer 3")
    # percentile lines (3 per net) and the saturation legend entry
    assert sum(isinstance(t, go.Scatter) for t in fig.data) == 7


def test_heatmap_columns_thinned_for_long_runs(sigmoid_snap):
    from bn_core.figures import distributions as d

    old = d.MAX_HEATMAP_COLUMNS
    d.MAX_HEATMAP_COLUMNS = 3
    try:
        z = np.asarray(heatmaps(input_histogram_heatmaps(sigmoid_snap, 0))[0].z)
    finally:
        d.MAX_HEATMAP_COLUMNS = old
    assert z.shape[1] == 3


def test_moment_drift_figure_lines_per_net_and_layer(sigmoid_snap):
    fig = moment_drift_figure(sigmoid_snap, [0, 2])
    lines = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(lines) == 2 * 2 * 2  # nets x layers x (mean, var)
    var_bn = [t for t in lines if t.legendgroup == "bn"][1]
    assert np.allclose(np.asarray(var_bn.y)[0], 1.0, atol=0.05)  # BN: unit variance at step 0
    assert fig.layout.yaxis3.type == "log"


def test_bn_input_figure_relu_after_has_spike_at_zero(relu_after_snap):
    fig = bn_input_figure(relu_after_snap, [0, 1, 2])
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert len(bars) == 3
    assert all(np.asarray(b.y).max() > 30 for b in bars)  # % of values in the bin at 0
    assert "after" in fig.layout.title.text


def test_builders_before_the_first_probe(sigmoid_snap):
    empty = sigmoid_snap.__class__(**{**sigmoid_snap.__dict__, "nets": {}})
    for fig in (input_histogram_heatmaps(empty, 0), moment_drift_figure(empty, [0]),
                bn_input_figure(empty, [0])):
        assert fig.layout.annotations and "waiting" in fig.layout.annotations[0].text


def test_figure1_page_charts(sigmoid_snap):
    acc = heldout_accuracy_chart(sigmoid_snap, mark_step=30)
    assert len(acc.data) == 2
    y = np.asarray(acc.data[1].y)
    assert len(y) > 3 and np.all((y >= 0) & (y <= 1))
    bands = percentile_bands_chart(sigmoid_snap, 2, pooled=True)
    assert len(bands.data) == 6 and len(np.asarray(bands.data[2].x)) > 3
    assert "all units pooled" in bands.layout.title.text
    assert bands.layout.yaxis2.title.text in (None, "")
