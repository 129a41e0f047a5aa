"""The live Figure 1 page's charts (T4), as builders of a RunSnapshot so a page can cache them
per step; they reuse the paper-figure pieces of `figure1`."""
from __future__ import annotations

import plotly.graph_objects as go

from bn_core.figures.distributions import first_y_title, legend_below
from bn_core.figures.figure1 import accuracy_figure, percentile_band_figure

MARK_STEP = 300  # the early step the page quotes: where BN's head start is plain to see


def heldout_accuracy_chart(snap, mark_step: int = MARK_STEP, height: int = 380) -> go.Figure:
    """Figure 1 (a): held-out accuracy of each net against steps, with `mark_step` marked."""
    data = snap.config.dataset
    fig = accuracy_figure(snap.nets, "heldout_acc",
                          f"(a) Held-out accuracy on {data} (test images never trained on)",
                          height)
    if snap.total_steps >= mark_step:
        fig.add_vline(x=mark_step, line={"color": "#777", "dash": "dot", "width": 1.5},
                      annotation_text=f"step {mark_step}", annotation_position="bottom right")
    fig.update_xaxes(range=[0, snap.total_steps])
    return fig


def percentile_bands_chart(snap, layer: int, pooled: bool, height: int = 400) -> go.Figure:
    """Figure 1 (b, c): each net's percentile band of one sigmoid input (or all units of the
    layer pooled), on shared axes, with the saturated zones shaded."""
    cfg = snap.config
    fig = percentile_band_figure(snap.nets, layer, cfg.activation, cfg.percentiles,
                                 pooled=pooled, unit=cfg.probe_unit, height=height)
    for i in range(1, len(snap.nets) + 1):
        fig.update_xaxes(range=[0, snap.total_steps], row=1, col=i)
    return legend_below(first_y_title(fig, len(snap.nets), f"input to the {cfg.activation}"))
