"""Smoke and content tests for bn_core/figures/batches.py."""
import numpy as np

from bn_core.config import RunConfig
from bn_core.lessons.data_order import label_strip
from bn_core.data.datasets import build_toy_dataset
from bn_core.figures.batches import label_mix_figure, shuffle_accuracy_chart
from bn_core.engine.training import train_to_end


def test_label_mix_figure_shares_and_epoch_lines():
    y = build_toy_dataset("circles", n_samples=100, noise=0.1, seed=0).y_train
    counts = label_strip(y, 2, 10, 0.0, 0, 25)
    fig = label_mix_figure(counts, 10, 10)
    heat = fig.data[0]
    z = np.asarray(heat.z)
    assert z.shape == (2, 25) and np.allclose(z.sum(axis=0), 1.0)
    assert set(np.unique(z)) == {0.0, 1.0}  # sorted: every batch one class
    assert len([s for s in fig.layout.shapes]) == 2  # epochs start at batches 11 and 21
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_shuffle_accuracy_chart_has_both_nets():
    snap = train_to_end(RunConfig(dataset="circles", n_samples=100, depth=1, width=8,
                                  batch_size=10, steps=30, probe_every=10, eval_every=10,
                                  grid_resolution=0, heldout_size=50, shuffle=0.0))
    fig = shuffle_accuracy_chart(snap)
    assert [t.name for t in fig.data] == ["Plain", "BN"]
    y = np.asarray(fig.data[0].y)
    assert len(y) == 4 and ((y >= 0) & (y <= 1)).all()
