"""Figures of the "Inside the BN layer" lesson: Algorithm 1 on a small batch, the gradient
check node by node, running statistics and Algorithm 2, batch-size noise, and one channel's
statistics slab in an (N, C, H, W) tensor. Pure functions from arrays to plotly figures."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.lessons.inside_bn import (
    FLOAT64_AGREEMENT,
    GRADCHECK_TOLERANCE,
    BackwardCheck,
    BatchNoise,
    RunningStatistics,
)
from bn_core.figures.style import NET_COLORS, base_layout, f32

# Okabe-Ito, without the yellow that vanishes on a projector: one colour per example row.
EXAMPLE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000",
                  "#999999")
BATCH_COLOR = NET_COLORS["bn"]          # what BN computes from the batch
RUNNING_COLOR = NET_COLORS["noisy_bn"]  # what the layer remembers (running averages)
BIASED_COLOR = NET_COLORS["plain"]      # the biased average, the one to avoid
TRUE_COLOR = "#000000"
SCATTER_COLOR = "rgba(0, 114, 178, 0.25)"
AGREE_COLOR = NET_COLORS["noisy_bn"]
DISAGREE_COLOR = NET_COLORS["noisy_plain"]
ZERO_FLOOR = 1e-17  # where a relative error of exactly 0 is drawn on the log axis


def algorithm1_figure(x, xhat, y, feature_names=None, height: int = 340) -> go.Figure:
    """Three panels, one row per feature: the inputs x_i, the normalised xhat_i and the
    outputs y_i, each with its batch mean (tick) +- its batch standard deviation (bar): for x
    that is mu +- sqrt(var), for xhat 0 +- 1 (less a hair for eps), for y beta +- |gamma|.
    One colour per example."""
    x, xhat, y = (np.asarray(a, dtype=np.float64) for a in (x, xhat, y))
    n, d = x.shape
    names = list(feature_names or [f"x{j + 1}" for j in range(d)])
    panels = (("1. input x", x), ("2. xhat = (x - mu) / sqrt(var + eps)", xhat),
              ("3. y = gamma xhat + beta", y))
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[p[0] for p in panels])
    centre_name = "batch mean +- batch std"
    for col, (_, values) in enumerate(panels, start=1):
        centre, spread = values.mean(axis=0), values.std(axis=0)
        fig.add_trace(go.Scatter(
            x=f32(centre), y=names, mode="markers", name=centre_name,
            marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": TRUE_COLOR}},
            error_x={"type": "data", "array": f32(spread), "color": "rgba(0,0,0,0.35)",
                     "thickness": 6, "width": 0},
            showlegend=False, hovertemplate=f"{centre_name}: %{{x:.3f}}<extra></extra>"),
            row=1, col=col)
        for i in range(n):
            fig.add_trace(go.Scatter(
                x=f32(values[i]), y=names, mode="markers", name=f"example {i + 1}",
                legendgroup=f"ex{i}", showlegend=col == 1,
                marker={"size": 13, "color": EXAMPLE_COLORS[i % len(EXAMPLE_COLORS)],
                        "line": {"width": 1, "color": "white"}},
                hovertemplate=f"example {i + 1}: %{{x:.4f}}<extra></extra>"),
                row=1, col=col)
        fig.update_xaxes(title_text="value", row=1, col=col)
    base_layout(fig, "Algorithm 1 on your batch: each dot is one example's value of one feature",
                "value", "feature", height)
    fig.update_layout(hovermode="closest", height=height + 50, margin={"b": 100},
                      legend={"y": -0.22, "yanchor": "top", "x": 0, "xanchor": "left"})
    fig.update_yaxes(autorange="reversed", title_text="")
    fig.update_yaxes(title_text="feature", row=1, col=1)
    fig.update_annotations(font_size=14)
    return fig


def gradient_check_figure(check: BackwardCheck, height: int = 340) -> go.Figure:
    """Relative error between backprop and centred differences, per graph node and for the
    gradients the layer returns (x, gamma, beta), on a log axis."""
    rows = list(check.nodes) + list(check.params)
    names = [f"d{r.name}" for r in rows]
    errors = np.array([r.rel_error for r in rows])
    shown = np.where(errors > 0, errors, ZERO_FLOOR)
    colors = [AGREE_COLOR if r.agrees else DISAGREE_COLOR for r in rows]
    text = ["0" if e == 0 else f"{e:.0e}" for e in errors]
    fig = go.Figure(go.Bar(x=names, y=f32(shown), marker_color=colors, text=text,
                           textposition="outside", name="relative error",
                           hovertemplate="%{x}: %{text}<extra></extra>"))
    fig.add_hline(y=GRADCHECK_TOLERANCE, line_dash="dot", line_color=TRUE_COLOR,
                  annotation_text=f"agree below {GRADCHECK_TOLERANCE:.0e}",
                  annotation_position="top left")
    fig.add_hrect(y0=1e-13, y1=FLOAT64_AGREEMENT, fillcolor="rgba(0, 158, 115, 0.10)",
                  line_width=0, layer="below")
    fig.add_vrect(x0=len(check.nodes) - 0.5, x1=len(rows) - 0.5, fillcolor="rgba(0,0,0,0.05)",
                  line_width=0, layer="below", annotation_text="returned by backward",
                  annotation_position="top right")
    base_layout(fig, "Backprop vs centred differences: relative error per node (lower is better)",
                "gradient of the loss with respect to ... (graph nodes in forward order)",
                "relative error (log scale)", height)
    fig.update_yaxes(type="log", range=[-17.5, 0.5], exponentformat="power")
    fig.update_layout(showlegend=False, hovermode="closest")
    return fig


def running_statistics_figure(rs: RunningStatistics, height: int = 380) -> go.Figure:
    """Batch statistics of every training batch, the layer's running averages, Algorithm 2's
    estimates, and the population's true mean and variance."""
    t = np.arange(1, len(rs.batch_mean) + 1)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=["mean", f"variance (batch size m = {rs.m})"])
    fig.add_trace(go.Scatter(x=t, y=f32(rs.batch_mean), mode="markers", name="batch statistic",
                             legendgroup="batch", marker={"color": SCATTER_COLOR, "size": 5}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.running_mean), mode="lines",
                             name=f"running average (momentum {rs.momentum:g})",
                             legendgroup="running", line={"color": RUNNING_COLOR, "width": 3}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.population_mean), mode="lines",
                             name="Algorithm 2 estimate (m/(m-1) x mean of batch variances)",
                             legendgroup="alg2", line={"color": BATCH_COLOR, "width": 3,
                                                       "dash": "dash"}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.batch_var), mode="markers", name="batch variance",
                             legendgroup="batch", showlegend=False,
                             marker={"color": SCATTER_COLOR, "size": 5}), row=1, col=2)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.running_var), mode="lines",
                             name="running var (unbiased, as torch)", legendgroup="running",
                             showlegend=False, line={"color": RUNNING_COLOR, "width": 3}),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.population_var), mode="lines",
                             name="m/(m-1) x mean of batch variances", legendgroup="alg2",
                             showlegend=False, line={"color": BATCH_COLOR, "width": 3,
                                                     "dash": "dash"}), row=1, col=2)
    fig.add_trace(go.Scatter(x=t, y=f32(rs.average_batch_var), mode="lines",
                             name="mean of batch variances, uncorrected (biased)",
                             line={"color": BIASED_COLOR, "width": 3, "dash": "dot"}),
                  row=1, col=2)
    for col, value in ((1, rs.true_mean), (2, rs.true_var)):
        fig.add_trace(go.Scatter(x=[t[0], t[-1]], y=[value, value], mode="lines",
                                 name="population (true) value", legendgroup="true",
                                 showlegend=col == 1,
                                 line={"color": TRUE_COLOR, "width": 2, "dash": "longdash"}),
                      row=1, col=col)
    base_layout(fig, "Training mode: batch statistics and what the layer keeps for inference",
                "training batch t", "value", height)
    fig.update_xaxes(title_text="training batch t")
    fig.update_yaxes(title_text="mean (input units)", row=1, col=1)
    fig.update_yaxes(title_text="variance (input units squared)", row=1, col=2)
    fig.update_layout(legend={"y": -0.25, "yanchor": "top", "x": 0, "xanchor": "left"},
                      margin={"b": 130}, height=height + 90, hovermode="closest")
    return fig


def train_eval_figure(rs: RunningStatistics, bins: int = 30, height: int = 320) -> go.Figure:
    """The same input x0 normalised in training mode (inside each batch: a spread) and in
    eval mode (with the running statistics: one value)."""
    values = rs.train_xhat
    lo = min(float(values.min()), rs.eval_xhat, 1.0)
    hi = max(float(values.max()), rs.eval_xhat, 1.0)
    pad = 0.05 * (hi - lo) + 1e-6
    counts, edges = np.histogram(values, bins=bins, range=(lo - pad, hi + pad))
    centres = 0.5 * (edges[:-1] + edges[1:])
    fig = go.Figure(go.Bar(x=f32(centres), y=counts.astype(np.int32),
                           width=float(edges[1] - edges[0]),
                           marker_color=BATCH_COLOR, name="training mode: one count per batch",
                           hovertemplate="xhat %{x:.2f}: %{y} batches<extra></extra>"))
    top = float(counts.max()) * 1.1 + 1
    fig.add_trace(go.Scatter(x=[rs.eval_xhat] * 2, y=[0, top], mode="lines",
                             name=f"eval mode: {rs.eval_xhat:.3f}",
                             line={"color": RUNNING_COLOR, "width": 4}))
    fig.add_trace(go.Scatter(x=[1.0, 1.0], y=[0, top], mode="lines",
                             name="true z-score: 1", line={"color": TRUE_COLOR, "width": 2,
                                                           "dash": "longdash"}))
    base_layout(fig, f"x0 = {rs.probe_value:g} normalised, in {len(values)} training batches "
                     "and in eval mode", "xhat of x0 (standard deviations)", "batches", height)
    fig.update_layout(hovermode="closest", bargap=0.05)
    return fig


def _band(fig, sizes, pct, color, name, row, col, showlegend):
    labels = [str(int(s)) for s in sizes]
    fig.add_trace(go.Scatter(x=labels, y=f32(pct[:, 0]), mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip", legendgroup=name),
                  row=row, col=col)
    fig.add_trace(go.Scatter(x=labels, y=f32(pct[:, 2]), mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(0, 114, 178, 0.25)",
                             name="5th-95th percentile of batches", legendgroup="band",
                             showlegend=showlegend, hoverinfo="skip"), row=row, col=col)
    fig.add_trace(go.Scatter(x=labels, y=f32(pct[:, 1]), mode="lines+markers",
                             line={"color": color, "width": 3}, name="median batch",
                             legendgroup="median", showlegend=showlegend,
                             hovertemplate="m=%{x}: %{y:.3f}<extra></extra>"), row=row, col=col)


def batch_noise_figure(noise: BatchNoise, height: int = 380) -> go.Figure:
    """Spread of the batch mean, the batch variance and x0's normalised value against m."""
    sizes = noise.sizes
    labels = [str(int(s)) for s in sizes]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.07,
                        subplot_titles=["batch mean", "batch variance (biased, as BN uses)",
                                        "xhat of x0 = mean + 1 std"])
    for col, pct in enumerate((noise.mean_pct, noise.var_pct, noise.xhat_pct), start=1):
        _band(fig, sizes, pct, BATCH_COLOR, "", 1, col, col == 1)
    for col, value in ((1, noise.true_mean), (2, noise.true_var), (3, 1.0)):
        fig.add_trace(go.Scatter(x=[labels[0], labels[-1]], y=[value, value], mode="lines",
                                 name="population (true) value", legendgroup="true",
                                 showlegend=col == 1,
                                 line={"color": TRUE_COLOR, "width": 2, "dash": "longdash"}),
                      row=1, col=col)
    fig.add_trace(go.Scatter(x=labels, y=f32(noise.expected_var), mode="lines",
                             name="expected batch variance (m-1)/m x var",
                             line={"color": BIASED_COLOR, "width": 2, "dash": "dot"}),
                  row=1, col=2)
    base_layout(fig, "Smaller batches, noisier statistics (m = 1: variance 0, xhat 0)",
                "batch size m", "value", height)
    fig.update_xaxes(title_text="batch size m", type="category")
    fig.update_yaxes(title_text="input units", row=1, col=1)
    fig.update_yaxes(title_text="input units squared", row=1, col=2)
    fig.update_yaxes(title_text="standard deviations", row=1, col=3)
    fig.update_layout(legend={"y": -0.25, "yanchor": "top", "x": 0, "xanchor": "left"},
                      margin={"b": 110}, height=height + 60, hovermode="closest")
    return fig


def channel_slab_figure(x, channel: int, height_per_row: int = 190) -> go.Figure:
    """An (N, C, H, W) tensor as an N x C grid of H x W heatmaps; the chosen channel's column,
    the slab of N*H*W values its statistics are taken over, is outlined."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    fig = make_subplots(rows=n, cols=c, horizontal_spacing=0.02, vertical_spacing=0.06,
                        subplot_titles=[f"example {i + 1}, channel {k + 1}"
                                        for i in range(n) for k in range(c)])
    text = h * w <= 36
    for i in range(n):
        for k in range(c):
            fig.add_trace(go.Heatmap(
                z=f32(x[i, k]), coloraxis="coloraxis", name=f"example {i + 1}, channel {k + 1}",
                texttemplate="%{z:.1f}" if text else None, textfont={"size": 11},
                hovertemplate=f"example {i + 1}, channel {k + 1}, "
                              "row %{y}, column %{x}: %{z:.2f}<extra></extra>"),
                row=i + 1, col=k + 1)
    fig.update_xaxes(showticklabels=False, fixedrange=True)
    fig.update_yaxes(showticklabels=False, autorange="reversed", fixedrange=True)
    for k in range(c):
        fig.update_xaxes(title_text=f"W = {w} columns", row=n, col=k + 1)
    for i in range(n):
        fig.update_yaxes(title_text=f"H = {h} rows", row=i + 1, col=1)
    # outline the chosen channel's column across every example
    axis = fig.get_subplot(1, channel + 1)
    x0, x1 = axis.xaxis.domain
    fig.add_shape(type="rect", xref="paper", yref="paper", x0=x0 - 0.008, x1=x1 + 0.008,
                  y0=-0.02, y1=1.0, line={"color": BIASED_COLOR, "width": 5})
    fig.update_layout(
        title={"text": f"(N, C, H, W) = ({n}, {c}, {h}, {w}): channel {channel + 1}'s "
                       f"statistics use the outlined {n * h * w} values", "x": 0.0},
        coloraxis={"colorscale": "Cividis", "colorbar": {"title": {"text": "value"}}},
        height=max(260, height_per_row * n + 90), template="plotly_white",
        font={"size": 15}, margin={"l": 20, "r": 20, "t": 90, "b": 30}, dragmode=False)
    return fig
