"""Tests of the distribution figures (T3, T6) and the live Figure 1 charts (T4): each builder,
on a real short run, returns valid Plotly data (checked once), without a template, carrying
the run's own recorded arrays."""
import numpy as np
import pytest

from bn_core.config import RunConfig
from bn_core.engine.training import train_to_end
from bn_core.figures import distributions as d
from bn_core.figures.distributions import (LEVELS, bn_input_figure, input_histogram_heatmaps,
                                           moment_drift_figure)
from bn_core.figures.figure1_page import heldout_accuracy_chart, percentile_bands_chart
from bn_core.lessons.distributions import fractions, log_density, LOG_DENSITY_FLOOR
from figuretest import annotations, checked, title, trace, traces, values


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


def expected_levels(counts):
    return np.round((log_density(counts) - LOG_DENSITY_FLOOR) / -LOG_DENSITY_FLOOR
                    * LEVELS).astype(np.uint8)


def test_heatmaps_carry_the_recorded_histograms_as_uint8_levels(sigmoid_snap):
    spec = checked(input_histogram_heatmaps(sigmoid_snap, 2))
    maps = traces(spec, type="heatmap")
    assert [m["name"] for m in maps] == ["Plain", "BN"]
    for m, name in zip(maps, ("plain", "bn")):
        pr = sigmoid_snap.nets[name].probes
        z = values(m, "z")
        assert m["z"]["dtype"] == "u1"  # sent as a uint8 grid
        assert z.shape == (len(sigmoid_snap.edges) - 1, len(pr["step"]))
        np.testing.assert_array_equal(z, expected_levels(pr["hist"][:, 2, :]).T)
        np.testing.assert_array_equal(values(m, "x"), pr["step"])
    assert [m["showscale"] for m in maps] == [False, True]  # one colour bar
    assert title(spec).startswith("Layer 3")
    # the median line of the BN net is the recorded pooled median
    median = [t for t in traces(spec, type="scatter") if t.get("xaxis") == "x2"
              and t["line"]["dash"] == "solid"][0]
    np.testing.assert_allclose(values(median), sigmoid_snap.nets["bn"].probes["pooled_pct"][:, 2, 1],
                               rtol=1e-6)
    # percentile lines (3 per net) and the saturation legend entry
    assert len(traces(spec, type="scatter")) == 7


def test_heatmap_columns_thinned_for_long_runs(sigmoid_snap, monkeypatch):
    monkeypatch.setattr(d, "MAX_HEATMAP_COLUMNS", 3)
    spec = checked(input_histogram_heatmaps(sigmoid_snap, 0))
    assert values(traces(spec, type="heatmap")[0], "z").shape[1] == 3


def test_moment_drift_lines_are_the_recorded_mean_and_variance(sigmoid_snap):
    spec = checked(moment_drift_figure(sigmoid_snap, [0, 2]))
    lines = traces(spec, type="scatter")
    assert len(lines) == 2 * 2 * 2  # nets x layers x (mean, var)
    bn = sigmoid_snap.nets["bn"].probes
    bn_lines = [t for t in lines if t["legendgroup"] == "bn"]
    # order: layer 0 mean, layer 0 var, layer 2 mean, layer 2 var
    np.testing.assert_allclose(values(bn_lines[0]), bn["mean"][:, 0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(values(bn_lines[3]), bn["var"][:, 2], rtol=1e-6)
    assert np.allclose(values(bn_lines[1])[0], 1.0, atol=0.05)  # BN: unit variance at step 0
    layout = spec["layout"]
    assert layout["yaxis3"]["type"] == "log" and layout["yaxis4"]["type"] == "log"
    ticks = layout["yaxis3"]["ticktext"]
    assert ticks and all(t not in ("2", "5") or float(t) >= 1 for t in ticks)


def test_bn_input_bars_are_the_recorded_shares(relu_after_snap):
    spec = checked(bn_input_figure(relu_after_snap, [0, 1, 2]))
    bars = traces(spec, type="bar")
    assert len(bars) == 3
    hist = relu_after_snap.nets["bn"].probes["bn_hist"]
    for layer, bar in enumerate(bars):
        np.testing.assert_allclose(values(bar), fractions(hist[-1, layer]) * 100, rtol=1e-5)
        assert values(bar).max() > 30  # % of values in the bin at 0 (after a ReLU)
    assert "after" in title(spec)
    assert "value BN receives" in annotations(spec)  # one shared x title for 3 panels


def test_builders_before_the_first_probe(sigmoid_snap):
    empty = sigmoid_snap.__class__(**{**sigmoid_snap.__dict__, "nets": {}})
    for fig in (input_histogram_heatmaps(empty, 0), moment_drift_figure(empty, [0]),
                bn_input_figure(empty, [0]), heldout_accuracy_chart(empty),
                percentile_bands_chart(empty, 0, False)):
        spec = checked(fig)
        assert spec["data"] == [] or all(not t.get("x") for t in spec["data"])
    assert "waiting" in annotations(checked(moment_drift_figure(empty, [0])))[0]


def test_figure1_page_charts_carry_the_run(sigmoid_snap):
    acc = checked(heldout_accuracy_chart(sigmoid_snap, mark_step=30))
    for name in ("plain", "bn"):
        ev = sigmoid_snap.nets[name].evals
        t = trace(acc, name={"plain": "Plain", "bn": "BN"}[name])
        np.testing.assert_allclose(values(t), ev["heldout_acc"], rtol=1e-6)
        np.testing.assert_array_equal(values(t, "x"), ev["step"])
    assert "on two moons (" in title(acc).replace("<br>", " ")  # the dataset's label, not its key
    assert acc["layout"]["xaxis"]["tickformat"] == ",d"
    assert acc["layout"]["xaxis"]["range"] == [0, sigmoid_snap.total_steps]
    bands = checked(percentile_bands_chart(sigmoid_snap, 2, pooled=True))
    assert len(bands["data"]) == 6
    pooled = sigmoid_snap.nets["plain"].probes["pooled_pct"][:, 2, :]
    low, high, median = bands["data"][:3]
    np.testing.assert_allclose(values(low), pooled[:, 0], rtol=1e-6)
    np.testing.assert_allclose(values(high), pooled[:, -1], rtol=1e-6)
    np.testing.assert_allclose(values(median), pooled[:, 1], rtol=1e-6)
    assert "all units pooled" in title(bands).replace("<br>", " ")
    assert not bands["layout"]["yaxis2"].get("title")
    assert bands["layout"]["yaxis2"]["matches"] == "y"  # shared y: one scale for both nets
