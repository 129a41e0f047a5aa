"""Internal covariate shift made visible (T3, T6): how each hidden layer's input distribution
moves during training, and what BN normalises.

Builders take a RunSnapshot first (so pages can cache them per step with `ui.chart`).
Histograms are drawn from the counts the run recorded on fixed edges, never from samples;
heatmaps carry uint8 levels (log10 of each bin's share, quantised) to keep payloads small.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.lessons.distributions import (LOG_DENSITY_FLOOR, bin_centres, evenly_spaced, fractions,
                             log_density)
from bn_core.nets.probes import SATURATION_THRESHOLD
from bn_core.figures.style import NET_COLORS, base_layout, f32, net_label

MAX_HEATMAP_COLUMNS = 150   # probe steps drawn per heatmap (evenly thinned beyond that)
LEVELS = 250                # uint8 levels of the heatmap colour
DARK = "#1a1a1a"
SATURATION_LINE = {"color": "#D55E00", "dash": "dash", "width": 1.5}


def first_y_title(fig: go.Figure, cols: int, title: str, row: int = 1) -> go.Figure:
    """Shared y axes: the title on the first panel only."""
    for c in range(2, cols + 1):
        fig.update_yaxes(title_text="", row=row, col=c)
    fig.update_yaxes(title_text=title, row=row, col=1)
    return fig


def legend_below(fig: go.Figure) -> go.Figure:
    """Legend under the x axis titles, clear of the panel titles."""
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0,
                              "xanchor": "left"},
                      margin={"b": 90}, height=(fig.layout.height or 360) + 30)
    return fig


def _steps(steps) -> np.ndarray:
    """Step numbers as int32 (half the payload of the recorded int64)."""
    return np.asarray(steps, dtype=np.int32)


def _probed(nets: dict) -> list[str]:
    return [n for n, v in nets.items() if len(v.probes.get("step", ())) > 0]


def _net_scale(name: str) -> list:
    """White -> the net's colour: stronger colour means more of the values."""
    return [[0.0, "#ffffff"], [0.02, "#f2f2f2"], [1.0, NET_COLORS[name]]]


def _levels(counts: np.ndarray) -> np.ndarray:
    """Quantised log10 share of each bin: 0 = empty (or below 0.01 %), LEVELS = all values."""
    q = (log_density(counts) - LOG_DENSITY_FLOOR) / -LOG_DENSITY_FLOOR * LEVELS
    return np.round(q).astype(np.uint8)


def _colorbar(x: float) -> dict:
    ticks = np.arange(LOG_DENSITY_FLOOR, 0.5, 1.0)
    return {"title": {"text": "share of<br>values", "side": "top"}, "x": x, "len": 0.9,
            "thickness": 14,
            "tickvals": ((ticks - LOG_DENSITY_FLOOR) / -LOG_DENSITY_FLOOR * LEVELS).tolist(),
            "ticktext": [f"{10 ** t * 100:g}%" for t in ticks]}


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 16, "color": "#555"})
    return fig


def input_histogram_heatmaps(snap, layer: int, height: int = 420) -> go.Figure:
    """Per net, a step-by-value heatmap of the distribution of one hidden layer's
    nonlinearity input over training, with the pooled percentile lines drawn over it."""
    cfg = snap.config
    names = _probed(snap.nets)
    title = f"Layer {layer + 1}: distribution of the {cfg.activation} input over training"
    if not names or snap.edges is None:
        fig = go.Figure()
        base_layout(fig, title, "training step", "input to the nonlinearity", height)
        return _empty(fig, "waiting for the first probe...")
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=[net_label(n) for n in names])
    centres = f32(bin_centres(snap.edges))
    qs = cfg.percentiles
    for i, name in enumerate(names):
        pr = snap.nets[name].probes
        keep = evenly_spaced(len(pr["step"]), MAX_HEATMAP_COLUMNS)
        steps = _steps(pr["step"][keep])
        z = _levels(pr["hist"][keep, layer, :]).T  # (bins, steps)
        last = i == len(names) - 1  # one colour bar: the levels mean the same in every panel
        fig.add_trace(go.Heatmap(
            x=steps, y=centres, z=z, zmin=0, zmax=LEVELS, colorscale=_net_scale(name),
            showscale=last, colorbar=_colorbar(1.02) if last else None, name=net_label(name),
            hovertemplate="step %{x}<br>input %{y:.2f}<extra>" + net_label(name) + "</extra>"),
            row=1, col=i + 1)
        pct = pr["pooled_pct"][keep, layer, :]
        lines = ((0, "dot", 1.5, "#444", f"{qs[0]:g}th / {qs[-1]:g}th percentile (all units)"),
                 (len(qs) // 2, "solid", 2.5, DARK, "median (all units)"),
                 (len(qs) - 1, "dot", 1.5, "#444", None))
        for col, dash, width, color, legend in lines:
            fig.add_trace(go.Scatter(
                x=steps, y=f32(pct[:, col]), mode="lines",
                line={"color": color, "dash": dash, "width": width},
                name=legend or "", legendgroup=dash, showlegend=i == 0 and legend is not None,
                hovertemplate=f"{qs[col]:g}th percentile %{{y:.2f}}<extra></extra>"),
                row=1, col=i + 1)
        fig.update_xaxes(title_text="training step", row=1, col=i + 1)
    sat = SATURATION_THRESHOLD.get(cfg.activation)
    if sat is not None:
        for i in range(len(names)):
            for y in (sat, -sat):
                fig.add_hline(y=y, line=SATURATION_LINE, row=1, col=i + 1)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=SATURATION_LINE,
                                 name=f"|input| = {sat:g}: saturation begins"), row=1, col=1)
    base_layout(fig, title, "training step", "input to the nonlinearity", height)
    fig.update_layout(hovermode="closest", margin={"r": 90})
    fig.update_yaxes(range=[float(snap.edges[0]), float(snap.edges[-1])])
    return legend_below(first_y_title(fig, len(names), "input to the nonlinearity"))


def moment_drift_figure(snap, layers: list[int], height: int = 440) -> go.Figure:
    """Mean (top) and variance (bottom, log scale) of each shown layer's nonlinearity input,
    pooled over units and probe examples, against training steps; one line per net."""
    names = _probed(snap.nets)
    title = "Mean and variance of each layer's nonlinearity input"
    if not names:
        fig = go.Figure()
        base_layout(fig, title, "training step", "mean", height)
        return _empty(fig, "waiting for the first probe...")
    fig = make_subplots(rows=2, cols=len(layers), shared_xaxes=True, shared_yaxes="rows",
                        vertical_spacing=0.1, horizontal_spacing=0.03,
                        subplot_titles=[f"layer {l + 1}" for l in layers])
    for name in names:
        pr, view = snap.nets[name].probes, snap.nets[name]
        label = net_label(name) + (f" ({view.status_text})" if view.status == "diverged" else "")
        for c, layer in enumerate(layers):
            for r, what in ((1, "mean"), (2, "var")):
                fig.add_trace(go.Scatter(
                    x=_steps(pr["step"]), y=f32(pr[what][:, layer]), mode="lines", name=label,
                    line={"color": NET_COLORS[name], "width": 2.5}, legendgroup=name,
                    showlegend=c == 0 and r == 1,
                    hovertemplate=f"{label}, layer {layer + 1}: {what} %{{y:.3g}}<extra></extra>"),
                    row=r, col=c + 1)
    base_layout(fig, title, "", "", height)
    fig.update_yaxes(title_text="mean", row=1, col=1)
    fig.update_yaxes(title_text="variance (log scale)", type="log", row=2, col=1)
    for c in range(len(layers)):
        fig.update_yaxes(type="log", row=2, col=c + 1)
        fig.update_xaxes(title_text="training step", row=2, col=c + 1)
    fig.update_layout(hovermode="closest")
    return legend_below(fig)


def bn_input_figure(snap, layers: list[int], height: int = 360) -> go.Figure:
    """What BN normalises in each shown layer of the BN net(s): its input's histogram now
    (bars) and at step 0 (grey line). Before the activation it is the linear output; after a
    ReLU, every negative input became exactly 0."""
    cfg = snap.config
    names = [n for n in _probed(snap.nets) if "bn_hist" in snap.nets[n].probes
             and n.endswith("bn")]
    where = "linear output" if cfg.placement == "before" else f"{cfg.activation} output"
    title = f"What BN sees: the {where} it normalises (BN {cfg.placement} the {cfg.activation})"
    if not names or snap.bn_edges is None:
        fig = go.Figure()
        base_layout(fig, title, "value BN receives", "share of values (%)", height)
        return _empty(fig, "waiting for the first probe of a BN net...")
    fig = make_subplots(rows=1, cols=len(layers), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"layer {l + 1}" for l in layers])
    centres = f32(bin_centres(snap.bn_edges))
    width = float(snap.bn_edges[1] - snap.bn_edges[0])
    for name in names:
        pr = snap.nets[name].probes
        step_now = int(pr["step"][-1])
        for c, layer in enumerate(layers):
            now = f32(fractions(pr["bn_hist"][-1, layer]) * 100)
            start = f32(fractions(pr["bn_hist"][0, layer]) * 100)
            fig.add_trace(go.Bar(x=centres, y=now, width=width, marker={"color": NET_COLORS[name]},
                                 name=f"{net_label(name)}, step {step_now:,}", legendgroup=name,
                                 showlegend=c == 0,
                                 hovertemplate="value %{x:.2f}: %{y:.1f}%<extra></extra>"),
                          row=1, col=c + 1)
            if len(names) == 1:
                fig.add_trace(go.Scatter(x=centres, y=start, mode="lines", line_shape="hvh",
                                         line={"color": "#555", "width": 1.5},
                                         name="step 0", legendgroup="start", showlegend=c == 0,
                                         hovertemplate="step 0, value %{x:.2f}: %{y:.1f}%"
                                                       "<extra></extra>"),
                              row=1, col=c + 1)
            fig.update_xaxes(title_text="value BN receives", row=1, col=c + 1)
    base_layout(fig, title, "value BN receives", "share of values (%)", height)
    fig.update_layout(hovermode="closest", bargap=0, barmode="overlay")
    return legend_below(first_y_title(fig, len(layers), "share of values (%)"))
