"""Tests of bn_core/figures/batches.py: the label-mix strip is the batches' real label shares,
the accuracy chart the run's own evaluations; both valid Plotly data without a template."""
import numpy as np

from bn_core.config import RunConfig
from bn_core.data.datasets import build_toy_dataset
from bn_core.engine.training import train_to_end
from bn_core.figures.batches import label_mix_figure, shuffle_accuracy_chart
from bn_core.lessons.data_order import label_strip
from figuretest import annotations, checked, shapes, values


def test_label_mix_figure_shares_and_epoch_lines():
    y = build_toy_dataset("circles", n_samples=100, noise=0.1, seed=0).y_train
    counts = label_strip(y, 2, 10, 0.0, 0, 25)
    spec = checked(label_mix_figure(counts, 10, 10))
    heat = spec["data"][0]
    z = values(heat, "z")
    assert heat["z"]["dtype"] == "f4" and z.shape == (2, 25)
    np.testing.assert_allclose(z, (counts / counts.sum(axis=1, keepdims=True)).T, rtol=1e-6)
    assert set(np.unique(z)) == {0.0, 1.0}  # sorted: every batch one class
    np.testing.assert_array_equal(values(heat, "x"), np.arange(1, 26))
    assert [s["x0"] for s in shapes(spec)] == [10.5, 20.5]  # epochs start at batches 11, 21
    assert "dashed: a new epoch starts" in annotations(spec)
    layout = spec["layout"]
    assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
    assert layout["xaxis"]["tickformat"] == ",d"  # batch numbers, never 49.5


def test_label_mix_of_no_batches_is_an_empty_strip():
    spec = checked(label_mix_figure(np.zeros((0, 2)), 10, 10))
    assert values(spec["data"][0], "x").size == 0 and not shapes(spec)


def test_shuffle_accuracy_chart_is_the_evaluations_with_chance():
    snap = train_to_end(RunConfig(dataset="circles", n_samples=100, depth=1, width=8,
                                  batch_size=10, steps=30, probe_every=10, eval_every=10,
                                  grid_resolution=0, heldout_size=50, shuffle=0.0))
    spec = checked(shuffle_accuracy_chart(snap))
    assert [t["name"] for t in spec["data"]] == ["Plain", "BN"]
    for t, name in zip(spec["data"], ("plain", "bn")):
        np.testing.assert_allclose(values(t), snap.nets[name].evals["heldout_acc"], rtol=1e-6)
    assert len(values(spec["data"][0])) == 4
    assert shapes(spec)[0]["y0"] == 0.5 and "chance" in annotations(spec)
    assert spec["layout"]["xaxis"]["range"] == [0, 30]
