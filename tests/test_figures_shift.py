"""Tests of bn_core/figures/shift.py (and boundaries.py): each builder, on real short runs,
returns valid Plotly data without a template whose traces are the run's own grids, points and
accuracies."""
import numpy as np
import pytest

from bn_core.config import RunConfig
from bn_core.engine.training import train_to_end
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.shift import (current_boundaries_chart, decision_regions_chart,
                                   initial_boundaries_chart, shift_sweep_chart,
                                   train_test_accuracy_chart, whitening_accuracy_chart)
from bn_core.figures.style import NET_COLORS
from bn_core.lessons.covariate_shift import shift_sweep, steps_to_accuracy
from figuretest import annotations, checked, title, trace, traces, values

SMALL = dict(dataset="moons", n_samples=120, depth=2, width=8, batch_size=20, steps=40,
             probe_every=10, eval_every=10, grid_resolution=20, heldout_size=100)


@pytest.fixture(scope="module")
def shifted():
    return train_to_end(RunConfig(shift_x=1.0, rotate_deg=30.0, **SMALL))


@pytest.fixture(scope="module")
def pair():
    return [train_to_end(RunConfig(far_offset=8.0, whitening=w, **SMALL)) for w in ("none", "zca")]


def test_decision_regions_chart_carries_the_grids_and_points(shifted):
    spec = checked(decision_regions_chart(shifted))
    maps = traces(spec, type="heatmap")
    assert len(maps) == 2 and not traces(spec, type="contour")  # each grid is sent once
    xmin, xmax, ymin, ymax = shifted.viewport
    for m, name in zip(maps, ("plain", "bn")):
        assert m["z"]["dtype"] == "u1"
        grid = shifted.nets[name].latest["grid"][..., 0]
        np.testing.assert_array_equal(values(m, "z"), grid)
        assert m["x0"] == pytest.approx(xmin) and m["y0"] == pytest.approx(ymin)
        assert m["x0"] + m["dx"] * (grid.shape[1] - 1) == pytest.approx(xmax, rel=1e-6)
        assert m["y0"] + m["dy"] * (grid.shape[0] - 1) == pytest.approx(ymax, rel=1e-6)
    data = shifted.data
    train0 = trace(spec, name="train: class 0", xaxis="x")
    np.testing.assert_allclose(values(train0, "x"), data.x_train[data.y_train == 0][:, 0],
                               rtol=1e-6)
    assert trace(spec, name="test (shifted): class 0", xaxis="x")
    assert not any("test" in (t.get("name") or "")
                   for t in checked(decision_regions_chart(shifted, False))["data"])
    assert spec["layout"]["xaxis2"]["range"] == pytest.approx([xmin, xmax])


def test_train_test_accuracy_lines_are_the_evaluations(shifted):
    spec = checked(train_test_accuracy_chart(shifted))
    lines = traces(spec, type="scatter")
    assert len(lines) == 4
    assert {t["line"]["color"] for t in lines} == {NET_COLORS["plain"], NET_COLORS["bn"]}
    ev = shifted.nets["bn"].evals
    np.testing.assert_allclose(values(trace(spec, name="BN: shifted test data")), ev["test_acc"],
                               rtol=1e-6)
    np.testing.assert_allclose(values(trace(spec, name="BN: training data")), ev["train_acc"],
                               rtol=1e-6)
    assert "chance" in annotations(spec)
    assert spec["layout"]["xaxis"]["tickformat"] == ",d"


def test_shift_sweep_chart_is_the_sweep_of_the_current_boundary(shifted):
    spec = checked(shift_sweep_chart(shifted))
    assert [t["name"] for t in spec["data"]] == ["Plain", "BN"]
    x = values(spec["data"][0], "x")
    assert len(x) == 11 and x[-1] == 100
    expected = shift_sweep(shifted.data, shifted.config, shifted.nets["bn"].latest["grid"],
                           shifted.viewport)
    np.testing.assert_allclose(values(spec["data"][1]), expected, rtol=1e-6)


def test_initial_boundaries_chart_lines_through_origin_or_data_mean(pair):
    spec = checked(initial_boundaries_chart(pair))
    lines = traces(spec, name="first-layer unit lines at init")
    assert len(lines) == 2
    titles = annotations(spec)
    assert any("lines cut the data" in t.replace("<br>", " ") for t in titles)
    # unwhitened lines meet at the origin: the midpoint of each segment is (0, 0)
    x, y = values(lines[0], "x").astype(float), values(lines[0], "y").astype(float)
    np.testing.assert_allclose((x[0] + x[1]) / 2, 0.0, atol=1e-3)
    np.testing.assert_allclose((y[0] + y[1]) / 2, 0.0, atol=1e-3)
    x, y = values(lines[1], "x").astype(float), values(lines[1], "y").astype(float)
    assert (x[0] + x[1]) / 2 > 5 and (y[0] + y[1]) / 2 > 5  # whitened: at the data's mean
    heat = traces(spec, type="heatmap")[0]
    np.testing.assert_array_equal(values(heat, "z"), pair[0].nets["plain"].initial_grid[..., 0])
    # each panel's own range includes the origin; only the first panel has a y title
    layout = spec["layout"]
    assert layout["xaxis"]["range"][0] < 0 < layout["xaxis"]["range"][1]
    assert layout["yaxis"]["title"]["text"] and "title" not in layout["yaxis2"]


def test_whitening_accuracy_chart_marks_where_the_target_was_reached(pair):
    spec = checked(whitening_accuracy_chart(pair, 0.6))
    dotted = [t for t in traces(spec, type="scatter", mode="lines") if t["line"]["dash"] == "dot"]
    solid = [t for t in traces(spec, type="scatter", mode="lines")
             if t["line"]["dash"] == "solid"]
    assert len(dotted) == 2 and len(solid) == 2
    assert any(t["name"].startswith("target 60%") for t in spec["data"])
    ev = pair[1].nets["bn"].evals
    np.testing.assert_allclose(values(trace(spec, name="BN, ZCA-whitened", mode="lines")),
                               ev["train_acc"], rtol=1e-6)
    hit = steps_to_accuracy(ev["step"], ev["train_acc"], 0.6)
    diamonds = traces(spec, name="BN, ZCA-whitened", mode="markers")
    assert (hit is None and not diamonds) or values(diamonds[0], "x")[0] == hit


def test_current_boundaries_chart_grid_of_runs_and_nets(pair):
    spec = checked(current_boundaries_chart(pair))
    maps = traces(spec, type="heatmap")
    assert len(maps) == 4
    np.testing.assert_array_equal(values(maps[3], "z"), pair[1].nets["bn"].latest["grid"][..., 0])
    assert maps[3]["xaxis"] == "x4"
    # panel titles sit in their own row of space: top row above y = 1, bottom row below the
    # top row's panels
    tops = sorted({a["y"] for a in spec["layout"]["annotations"]})
    assert tops[-1] == 1.0 and tops[0] < spec["layout"]["yaxis"]["domain"][0]


def test_boundary_figure_initial_and_now(shifted):
    now = checked(boundary_figure(shifted, show_test=False))
    assert "step 40" in " ".join(annotations(now))
    init = checked(boundary_figure(shifted, initial=True))
    np.testing.assert_array_equal(values(traces(init, type="heatmap")[1], "z"),
                                  shifted.nets["bn"].initial_grid[..., 0])


def test_builders_draw_an_unstarted_run_without_failing():
    from bn_core.engine.run import Run

    snap = Run(RunConfig(**SMALL)).snapshot()  # not started: no data, no nets yet
    for fig in (decision_regions_chart(snap), train_test_accuracy_chart(snap),
                shift_sweep_chart(snap), whitening_accuracy_chart([snap], 0.9),
                current_boundaries_chart([snap]), initial_boundaries_chart([snap]),
                boundary_figure(snap)):
        spec = checked(fig)
        assert title(spec)
        assert not traces(spec, type="heatmap")


def test_boundary_lines_trace_where_the_predicted_class_changes():
    """The boundary is traced on the server (marching squares through cell-edge midpoints):
    a disc of one class gives one closed line around it; three bands give two lines."""
    from bn_core.figures.boundaries import boundary_lines

    rows, cols = np.mgrid[0:50, 0:50]
    disc = ((cols - 25) ** 2 + (rows - 25) ** 2 < 100).astype(np.uint8)
    u, v = boundary_lines(disc, 2)
    assert not np.isnan(u).any() and (u[0], v[0]) == (u[-1], v[-1])  # one closed piece
    assert 9.0 <= np.hypot(u - 25, v - 25).min() and np.hypot(u - 25, v - 25).max() <= 10.5
    bands = np.zeros((50, 50), np.uint8)
    bands[:, 20:], bands[:, 35:] = 1, 2
    u, v = boundary_lines(bands, 3)
    assert np.isnan(u).sum() == 1  # two pieces
    assert sorted(set(u[~np.isnan(u)])) == [19.5, 34.5] and np.nanmax(v) - np.nanmin(v) == 49
    assert boundary_lines(np.ones((50, 50), np.uint8), 2)[0].size == 0  # one class: no line


def test_the_boundary_line_is_drawn_over_each_grid(shifted):
    spec = checked(decision_regions_chart(shifted))
    lines = [t for t in spec["data"] if t["type"] == "scatter" and t.get("mode") == "lines"]
    for heat in traces(spec, type="heatmap"):
        line = next(t for t in lines if t.get("xaxis") == heat.get("xaxis"))
        z = values(heat, "z")
        x, y = values(line, "x").astype(float), values(line, "y").astype(float)
        keep = ~np.isnan(x)
        cols = np.rint((x[keep] - heat["x0"]) / heat["dx"]).astype(int)
        rows = np.rint((y[keep] - heat["y0"]) / heat["dy"]).astype(int)
        assert cols.size and z.min() != z.max()
        for r, c in zip(rows, cols):  # every point of the line is where the class changes
            near = z[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2]
            assert near.min() != near.max(), (r, c)
