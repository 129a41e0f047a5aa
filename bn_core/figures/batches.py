"""Charts of the shuffling lesson (T8): the label mix of each batch the nets are fed, and the
nets' accuracy as the batches change class (plain figure dicts)."""
from __future__ import annotations

import numpy as np

from bn_core.i18n import N_, _
from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.style import (COLORBAR, GUIDE, base_layout, f32, figure, hline, note,
                                   step_ticks, vline)

# share of the batch: white to near-black (grey, so it is not mistaken for a net's colour)
MIX_SCALE = [[0.0, "#FFFFFF"], [0.5, "#969696"], [1.0, "#1A1A1A"]]
EPOCH_COLOR = "#D55E00"


def label_mix_figure(counts, batch_size: int, per_epoch: int, height: int = 260) -> dict:
    """A strip, batches x classes: the share of each batch that is of each class, with the
    epoch boundaries marked (counts from `data_order.label_strip`)."""
    counts = np.asarray(counts)
    n_batches, n_classes = counts.shape if counts.ndim == 2 else (0, 0)
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1) if n_batches else 1
    share = np.ascontiguousarray(f32(counts / totals).T)  # (classes, batches)
    heat = {"type": "heatmap", "z": share, "x": np.arange(1, n_batches + 1, dtype=np.int32),
            "y": [_("class {k}").format(k=k) for k in range(n_classes)], "zmin": 0.0, "zmax": 1.0,
            "colorscale": MIX_SCALE, "ygap": 2,
            "colorbar": {**COLORBAR, "title": {"text": _("share of<br>the batch")},
                         "tickformat": ".0%"},
            "hovertemplate": _("batch %{x}, %{y}: %{z:.0%}") + "<extra></extra>"}
    layout = base_layout(_("Label mix of the first {n} batches ({size} examples each)").format(
                             n=n_batches, size=batch_size),
                         N_("batch number (= training step)"), N_("class"), height,
                         hovermode="closest")
    layout["yaxis"]["autorange"] = "reversed"
    layout["xaxis"].update(step_ticks())
    shapes = [vline(e + 0.5, {"color": EPOCH_COLOR, "width": 2, "dash": "dash"})
              for e in (range(per_epoch, n_batches, per_epoch) if per_epoch > 0 else ())]
    if shapes:
        layout["shapes"] = shapes
        layout["annotations"] = [note(_("dashed: a new epoch starts"), 1.0, 1.0, xanchor="right",
                                      yanchor="bottom",
                                      font={"size": 12, "color": EPOCH_COLOR})]
    return figure([heat], layout)


def shuffle_accuracy_chart(snap, height: int = 360) -> dict:
    """Held-out accuracy of each net against steps, with the chance level marked."""
    fig = accuracy_figure(snap.nets, "heldout_acc",
                          N_("Held-out accuracy (points from the same shapes, never trained on)"),
                          height)
    layout = fig["layout"]
    if snap.data is not None:
        chance = 1.0 / snap.data.n_classes
        layout["shapes"] = [hline(chance, {"color": GUIDE, "dash": "dash", "width": 1})]
        layout["annotations"] = [note(_("chance"), 1.0, chance, "x domain", "y", xanchor="right",
                                      yanchor="top", font={"color": GUIDE})]
    layout["xaxis"].update(step_ticks(snap.total_steps))
    return fig
