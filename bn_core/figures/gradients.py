"""Gradients and learning rates (T5, T9): how large each weight matrix's gradient is, layer by
layer and over training, and what a larger learning rate does to each net (divergence marked)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.figures.activations import step_range
from bn_core.figures.style import NET_COLORS, NET_DASH, base_layout, f32, net_label

HEATMAP_SCALE = "Viridis"
DIVERGED_LINE = {"width": 2, "dash": "dash"}


def layer_labels(n_weights: int) -> list[str]:
    """Names of the weight matrices bottom to top: hidden layers 1..L, then the output."""
    return [f"layer {i + 1}" for i in range(n_weights - 1)] + ["output"]


def finite_rows(grad_norm) -> np.ndarray:
    """Indices of the probe rows where every layer's gradient norm is a finite number
    (the first probe, before any update, has none)."""
    g = np.asarray(grad_norm, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.isfinite(g).all(axis=1))


def latest_profile(view) -> tuple[int, np.ndarray] | None:
    """(step, gradient norm per weight matrix) of the net's last probe with gradients."""
    g = view.probes.get("grad_norm")
    if g is None:
        return None
    rows = finite_rows(g)
    if len(rows) == 0:
        return None
    i = int(rows[-1])
    return int(view.probes["step"][i]), np.asarray(g[i], np.float64)


def orders_of_magnitude(profile) -> float:
    """log10(output layer's gradient norm / first hidden layer's): how many powers of ten the
    error signal lost (positive) or gained (negative) on its way down."""
    p = np.asarray(profile, dtype=np.float64)
    if p.size < 2 or not np.all(np.isfinite(p[[0, -1]])) or p[0] <= 0 or p[-1] <= 0:
        return math.nan
    return float(np.log10(p[-1] / p[0]))


def _log10(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
    return f32(out)


def log_ticks(values) -> dict:
    """Tick settings for a log axis: every power of ten over a wide range; over a narrow one,
    the 1-2-5 values in range written out in full (0.5, not plotly's bare "5")."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0 or np.log10(v.max() / v.min()) > 2:
        return {"dtick": 1}
    lo, hi = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    ladder = [m * 10.0 ** e for e in np.arange(lo, hi + 1) for m in (1, 2, 5)]
    ticks = [t for t in ladder if v.min() / 2.5 <= t <= v.max() * 2.5]
    return {"tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}


def _mark_divergence(fig: go.Figure, name: str, view, row=None, col=None,
                     label: bool = True) -> None:
    if view.status != "diverged" or view.diverged_at is None:
        return
    kw = {"row": row, "col": col} if row is not None else {}
    fig.add_vline(x=view.diverged_at, line={"color": NET_COLORS[name], **DIVERGED_LINE}, **kw)
    if label:
        fig.add_annotation(x=view.diverged_at, y=1.0, yref="y domain" if row is None else
                           "paper", text=f"{net_label(name)} diverged at step "
                           f"{view.diverged_at:,}", showarrow=False, xanchor="left",
                           yanchor="top", font={"color": NET_COLORS[name], "size": 14},
                           bgcolor="rgba(255,255,255,0.8)", **({} if row is None else
                                                                {"row": row, "col": col}))


def gradient_profile_figure(snap, height: int = 360) -> go.Figure:
    """Gradient norm of each weight matrix, bottom to top, at each net's latest probe (solid)
    and at its first probe with gradients (faint): a vanishing gradient is a steep slope."""
    fig = go.Figure()
    labels, shown = None, []
    for name, view in snap.nets.items():
        g = view.probes.get("grad_norm")
        rows = finite_rows(g) if g is not None else np.zeros(0, np.int64)
        if len(rows) == 0:
            continue
        labels = layer_labels(g.shape[1])
        first, last = int(rows[0]), int(rows[-1])
        shown += [g[first], g[last]]
        steps = view.probes["step"]
        if first != last:
            fig.add_trace(go.Scatter(x=labels, y=f32(g[first]), mode="lines+markers",
                                     name=f"{net_label(name)} at step {int(steps[first]):,}",
                                     line={"color": NET_COLORS[name], "width": 1.5, "dash": "dot"},
                                     marker={"size": 6}, opacity=0.6))
        note = (f" (last before diverging at {view.diverged_at:,})"
                if view.status == "diverged" else "")
        fig.add_trace(go.Scatter(x=labels, y=f32(g[last]), mode="lines+markers",
                                 name=f"{net_label(name)} at step {int(steps[last]):,}{note}",
                                 line={"color": NET_COLORS[name], "width": 3.5,
                                       "dash": NET_DASH[name]},
                                 marker={"size": 9}))
    base_layout(fig, "Gradient size of each weight matrix, from the input (left) to the output",
                "weight matrix (bottom to top)", "gradient norm ||dL/dW|| (log scale)", height)
    fig.update_layout(showlegend=True)
    fig.update_yaxes(type="log", exponentformat="power", **log_ticks(shown))
    fig.update_layout(hovermode="closest")
    if labels is not None:
        fig.update_xaxes(categoryorder="array", categoryarray=labels)
    return fig


def gradient_heatmap_figure(snap, height: int = 380) -> go.Figure:
    """One panel per net: log10 of each weight matrix's gradient norm (rows, bottom to top)
    over training (columns), on one shared colour scale; divergence marked."""
    names = list(snap.nets) or ["plain"]
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[net_label(n) for n in names])
    logs = {}
    for name in names:
        view = snap.nets.get(name)
        g = None if view is None else view.probes.get("grad_norm")
        if g is not None and len(g):
            logs[name] = _log10(g)
    finite = [v[np.isfinite(v)] for v in logs.values()]
    finite = np.concatenate(finite) if finite else np.zeros(0)
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 0.0)
    if zmax - zmin < 1.0:
        zmin, zmax = zmin - 0.5, zmax + 0.5
    for i, name in enumerate(names):
        view = snap.nets.get(name)
        if name not in logs or not np.isfinite(logs[name]).any():
            why = (f"no gradients recorded: diverged at step {view.diverged_at:,},<br>before "
                   "its first probe" if view is not None and view.status == "diverged"
                   else "no gradients recorded yet")
            fig.add_annotation(x=0.5, y=0.5, xref=f"x{i + 1 if i else ''} domain",
                               yref=f"y{i + 1 if i else ''} domain", text=why, showarrow=False,
                               font={"size": 14, "color": "#555555"})
        if name in logs:
            z = logs[name]
            fig.add_trace(go.Heatmap(
                x=view.probes["step"], y=layer_labels(z.shape[1]), z=z.T, zmin=zmin, zmax=zmax,
                colorscale=HEATMAP_SCALE, showscale=i == len(names) - 1, name=net_label(name),
                colorbar={"title": {"text": "log10 ||dL/dW||", "side": "right"}},
                hovertemplate="step %{x}, %{y}: 10^%{z:.1f}<extra>" + net_label(name) +
                              "</extra>"), row=1, col=i + 1)
        if view is not None:
            _mark_divergence(fig, name, view, row=1, col=i + 1, label=False)
        fig.update_xaxes(title_text="training step", range=step_range(snap), row=1, col=i + 1)
    for i, name in enumerate(names):  # the panel title in the net's colour
        if i < len(fig.layout.annotations):
            view = snap.nets.get(name)
            text = net_label(name)
            if view is not None and view.status == "diverged":
                text += f" (diverged at step {view.diverged_at:,}, dashed line)"
            fig.layout.annotations[i].update(text=f"<b>{text}</b>",
                                             font={"color": NET_COLORS.get(name, "#222")})
    base_layout(fig, "Gradient norm of every weight matrix over training (colour = power of ten)",
                "training step", "", height)
    fig.update_yaxes(title_text="weight matrix (bottom to top)", row=1, col=1)
    fig.update_layout(hovermode="closest")
    return fig


def vanishing_ratio_figure(snap, height: int = 320) -> go.Figure:
    """Per net over training: the first hidden layer's gradient norm divided by the output
    layer's (1 = the signal arrives undiminished; 1e-6 = it has all but vanished)."""
    fig = go.Figure()
    shown = [1.0]
    for name, view in snap.nets.items():
        g = view.probes.get("grad_norm")
        rows = finite_rows(g) if g is not None else np.zeros(0, np.int64)
        if len(rows) == 0:
            continue
        g = np.asarray(g, np.float64)[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(g[:, -1] > 0, g[:, 0] / g[:, -1], np.nan)
        shown.append(ratio)
        fig.add_trace(go.Scatter(x=view.probes["step"][rows], y=f32(ratio), mode="lines",
                                 name=net_label(name) + (f" ({view.status_text})"
                                                         if view.status == "diverged" else ""),
                                 line={"color": NET_COLORS[name], "width": 3,
                                       "dash": NET_DASH[name]}))
        _mark_divergence(fig, name, view)
    fig.add_hline(1.0, line={"color": "#888888", "width": 1, "dash": "dot"})
    fig.update_layout(showlegend=True)
    base_layout(fig, "Layer 1's gradient as a fraction of the output layer's",
                "training step", "||dL/dW1|| / ||dL/dW_out|| (log scale)", height)
    fig.update_yaxes(type="log", exponentformat="power",
                     **log_ticks(np.concatenate([np.ravel(v) for v in shown])))
    fig.update_xaxes(range=step_range(snap))
    return fig


def training_curves_figure(snap, metric: str = "heldout_acc", height: int = 340) -> go.Figure:
    """Loss (left, log scale) and accuracy (right) of each net over training; a net that
    diverged ends with a cross and a dashed line at the step it diverged."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["training loss (mean over steps since last probe)",
                                        "held-out accuracy"])
    for name, view in snap.nets.items():
        color, dash = NET_COLORS[name], NET_DASH[name]
        label = net_label(name) + (f" ({view.status_text})" if view.status == "diverged" else "")
        pr, ev = view.probes, view.evals
        if len(pr.get("step", ())) > 0:
            fig.add_trace(go.Scatter(x=pr["step"], y=f32(pr["loss"]), mode="lines", name=label,
                                     legendgroup=name, line={"color": color, "dash": dash,
                                                             "width": 3}), row=1, col=1)
        if metric in ev and len(ev[metric]):
            fig.add_trace(go.Scatter(x=ev["step"], y=f32(ev[metric]), mode="lines", name=label,
                                     legendgroup=name, showlegend=False,
                                     line={"color": color, "dash": dash, "width": 3}),
                          row=1, col=2)
            if view.status == "diverged":
                fig.add_trace(go.Scatter(x=[view.diverged_at], y=[float(ev[metric][-1])],
                                         mode="markers+text", text=["diverged"],
                                         textposition="top right", showlegend=False,
                                         marker={"symbol": "x", "size": 14, "color": color},
                                         textfont={"color": color}, hoverinfo="skip"),
                              row=1, col=2)
        for col in (1, 2):
            _mark_divergence(fig, name, view, row=1, col=col, label=False)
    base_layout(fig, "How each net learns", "training step", "cross-entropy loss (log scale)",
                height)
    losses = [v.probes["loss"] for v in snap.nets.values() if len(v.probes.get("step", ()))]
    fig.update_yaxes(type="log", row=1, col=1,
                     **log_ticks(np.concatenate(losses) if losses else []))
    fig.update_yaxes(title_text="accuracy (fraction correct)", range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(range=step_range(snap))
    fig.update_layout(hovermode="closest", showlegend=True, margin={"b": 90},
                      legend={"y": -0.25, "yanchor": "top", "x": 0.0, "xanchor": "left"})
    return fig
