"""Figures of "Does BN really reduce internal covariate shift?" (Santurkar et al. 2018, T13):
gradient-measured ICS per layer and over training, each net's training loss, and the
loss-landscape probes. Pure functions from a run's NetViews to plotly figures."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.lessons.santurkar import LANDSCAPE_PROBES
from bn_core.figures.style import NET_COLORS, NET_DASH, base_layout, f32, net_label

METRICS = {
    "cos": ("cos(G, G')", "cos(G, G')  (1 = no shift)"),
    "dist": ("||G - G'||", "||G - G'||  (0 = no shift, log scale)"),
}
PROBE_TITLES = {"loss_range": "range of L along the gradient",
                "grad_change": "max ||grad L change||",
                "beta_smoothness": "effective beta-smoothness"}


def _line(name, x, y, **kw):
    return go.Scatter(x=x, y=f32(y), mode=kw.pop("mode", "lines+markers"), name=net_label(name),
                      line={"color": NET_COLORS[name], "dash": NET_DASH[name], "width": 3},
                      marker={"size": 7, "color": NET_COLORS[name]}, **kw)


def ics_by_layer_figure(nets: dict, metric: str = "cos", height: int = 360) -> go.Figure:
    """Each net's ICS per layer (1 = lowest hidden layer, last = output), averaged over the
    measurements so far."""
    short, axis = METRICS[metric]
    fig = go.Figure()
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        values = np.asarray(ics[metric], np.float64)
        with np.errstate(all="ignore"):
            per_layer = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
        layers = np.arange(1, len(per_layer) + 1)
        hover = f"{net_label(name)}, layer %{{x}}: %{{y:.3f}}<extra></extra>"
        fig.add_trace(_line(name, layers, per_layer, hovertemplate=hover))
    base_layout(fig, f"{short} per layer, averaged over the run",
                "layer (1 = lowest; the last is the output layer)", axis, height)
    fig.update_layout(hovermode="closest")
    _metric_axis(fig, metric)
    return fig


def ics_over_time_figure(nets: dict, metric: str = "cos", height: int = 360) -> go.Figure:
    """Each net's ICS averaged over layers 2..L+1 (layer 1 has nothing below it), per step."""
    short, axis = METRICS[metric]
    fig = go.Figure()
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        values = np.asarray(ics[metric], np.float64)[:, 1:]
        with np.errstate(all="ignore"):
            mean = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=1)
        fig.add_trace(_line(name, ics["step"], mean))
    base_layout(fig, f"{short} over training (mean of layers 2 and up)", "training step",
                axis, height)
    _metric_axis(fig, metric)
    return fig


def _metric_axis(fig, metric):
    if metric == "cos":
        # zoom on the data: cosines of 0.98 and 1.00 differ, and must look different
        values = [np.asarray(t.y, np.float64) for t in fig.data if t.y is not None]
        values = np.concatenate(values) if values else np.array([])
        values = values[np.isfinite(values)]
        low = float(values.min()) if values.size else 0.0
        bottom = max(-1.05, min(0.9, low - 0.1 * (1.0 - low) - 0.01))
        fig.update_yaxes(range=[bottom, 1.0 + 0.04 * (1.0 - bottom)])
        fig.add_hline(y=1.0, line_dash="dot", line_color="#000000",
                      annotation_text="no shift", annotation_position="bottom right")
    else:
        fig.update_yaxes(type="log", exponentformat="power")


def training_loss_figure(nets: dict, regression: bool, height: int = 360) -> go.Figure:
    """Each net's training loss in training mode (the average over the steps since the last
    probe), the loss the net actually descends."""
    fig = go.Figure()
    for name, view in nets.items():
        pr = view.probes
        if len(pr.get("step", ())) == 0:
            continue
        label = net_label(name) + (f" (diverged at step {view.diverged_at})"
                                   if view.status == "diverged" else "")
        trace = _line(name, pr["step"], pr["loss"], mode="lines")
        trace.name = label
        fig.add_trace(trace)
    what = "mean squared error" if regression else "cross-entropy"
    base_layout(fig, "Training loss of each net (training mode)", "training step",
                f"{what} (log scale)", height)
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def landscape_figure(nets: dict, height: int = 340) -> go.Figure:
    """Santurkar's loss-landscape probes along the gradient, one panel each, over training."""
    fig = make_subplots(rows=1, cols=len(LANDSCAPE_PROBES), horizontal_spacing=0.08,
                        subplot_titles=[PROBE_TITLES[k] for k in LANDSCAPE_PROBES])
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        for col, key in enumerate(LANDSCAPE_PROBES, start=1):
            trace = _line(name, ics["step"], ics[key], legendgroup=name,
                          showlegend=col == 1)
            fig.add_trace(trace, row=1, col=col)
    base_layout(fig, "Loss-landscape probes along the gradient (lower = smoother)",
                "training step", "", height)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="loss units", row=1, col=1)
    fig.update_yaxes(title_text="gradient norm", row=1, col=2)
    fig.update_yaxes(title_text="||delta grad|| / ||step||", row=1, col=3)
    fig.update_layout(hovermode="closest", height=height + 50, margin={"b": 110},
                      legend={"y": -0.3, "yanchor": "top", "x": 0, "xanchor": "left"})
    return fig


def _fill_colour(name: str, alpha: float = 0.25) -> str:
    hexa = NET_COLORS[name].lstrip("#")
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def landscape_reproduction_figure(nets: dict, title: str = "", height: int = 420) -> go.Figure:
    """Santurkar et al.'s Fig. 4 for a run: over training, the range (shaded, min to max over
    the step sizes along the gradient) of the loss (a) and of the gradient change (b), and the
    effective beta-smoothness (c), one colour per net."""
    panels = ("(a) loss along the gradient", "(b) gradient change along it",
              "(c) effective beta-smoothness")
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09, subplot_titles=panels)
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0 or "scape_loss" not in ics:
            continue
        steps = np.asarray(ics["step"])
        for col, key in ((1, "scape_loss"), (2, "scape_grad_change")):
            values = np.asarray(ics[key], np.float64)
            with np.errstate(all="ignore"):
                lo, hi = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
            fig.add_trace(go.Scatter(x=steps, y=f32(hi), mode="lines", line={"width": 0},
                                     legendgroup=name, showlegend=False, hoverinfo="skip"),
                          row=1, col=col)
            fig.add_trace(go.Scatter(x=steps, y=f32(lo), mode="lines", fill="tonexty",
                                     fillcolor=_fill_colour(name), name=net_label(name),
                                     line={"color": NET_COLORS[name], "width": 1},
                                     legendgroup=name, showlegend=col == 1), row=1, col=col)
        fig.add_trace(_line(name, steps, ics["beta_smoothness"], legendgroup=name,
                            showlegend=False), row=1, col=3)
    base_layout(fig, title or "Loss landscape along the gradient (Santurkar et al. 2018, "
                "Fig. 4)", "training step", "", height)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="training loss", row=1, col=1)
    fig.update_yaxes(title_text="||delta grad||", row=1, col=2)
    fig.update_yaxes(title_text="||delta grad|| / ||eta g||", row=1, col=3)
    fig.update_layout(hovermode="closest", margin={"b": 110},
                      legend={"y": -0.25, "yanchor": "top", "x": 0, "xanchor": "left"})
    return fig
