"""Charts of the shuffling lesson (T8): the label mix of each batch the nets are fed, and the
nets' accuracy as the batches change class."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.style import base_layout, f32

# share of the batch: white to near-black (grey, so it is not mistaken for a net's colour)
MIX_SCALE = [[0.0, "#FFFFFF"], [0.5, "#969696"], [1.0, "#1A1A1A"]]


def label_mix_figure(counts, batch_size: int, per_epoch: int, height: int = 260) -> go.Figure:
    """A strip, batches x classes: the share of each batch that is of each class, with the
    epoch boundaries marked (counts from `data_order.label_strip`)."""
    counts = np.asarray(counts)
    n_batches, n_classes = counts.shape if counts.ndim == 2 else (0, 0)
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    share = f32(counts / totals).T  # (classes, batches)
    fig = go.Figure(go.Heatmap(
        z=share, x=np.arange(1, n_batches + 1, dtype=np.int32),
        y=[f"class {k}" for k in range(n_classes)], zmin=0.0, zmax=1.0, colorscale=MIX_SCALE,
        ygap=2, colorbar={"title": {"text": "share of<br>the batch"}, "thickness": 14,
                                  "tickformat": ".0%"},
        hovertemplate="batch %{x}, %{y}: %{z:.0%}<extra></extra>"))
    for e in range(per_epoch, n_batches, per_epoch) if per_epoch > 0 else ():
        fig.add_vline(x=e + 0.5, line={"color": "#D55E00", "width": 2, "dash": "dash"})
    if per_epoch > 0 and per_epoch < n_batches:
        fig.add_annotation(text="dashed: a new epoch starts", x=1.0, y=1.0, xref="paper",
                           yref="paper", xanchor="right", yanchor="bottom", showarrow=False,
                           font={"size": 12, "color": "#D55E00"})
    base_layout(fig, f"Label mix of the first {n_batches} batches ({batch_size} examples each)",
                "batch number (= training step)", "class", height)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed")
    return fig


def shuffle_accuracy_chart(snap, height: int = 360) -> go.Figure:
    """Held-out accuracy of each net against steps, with the chance level marked."""
    fig = accuracy_figure(snap.nets, "heldout_acc",
                          "Held-out accuracy (points from the same shapes, never trained on)",
                          height)
    if snap.data is not None:
        fig.add_hline(y=1.0 / snap.data.n_classes, line={"color": "#888", "dash": "dash",
                                                         "width": 1},
                      annotation_text="chance", annotation_position="bottom right")
    fig.update_xaxes(range=[0, snap.total_steps])
    return fig
