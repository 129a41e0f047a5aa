"""The BN paper's Figure 1: held-out accuracy (a) and percentile bands of a sigmoid input (b, c)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.nets.probes import SATURATION_THRESHOLD
from bn_core.figures.style import NET_COLORS, NET_DASH, base_layout, f32, net_label, shade_sigmoid_zones


def accuracy_figure(nets: dict, metric: str = "heldout_acc", title: str | None = None,
                    height: int = 340) -> go.Figure:
    """Accuracy of each net against training steps."""
    fig = go.Figure()
    for name, view in nets.items():
        ev = view.evals
        if metric not in ev:
            continue
        label = net_label(name) + ("" if view.status != "diverged" else f" ({view.status_text})")
        fig.add_trace(go.Scatter(x=ev["step"], y=f32(ev[metric]), mode="lines", name=label,
                                 line={"color": NET_COLORS[name], "dash": NET_DASH[name],
                                       "width": 3}))
    which = {"heldout_acc": "held-out", "test_acc": "test", "train_acc": "training"}
    base_layout(fig, title or f"(a) {which.get(metric, metric)} accuracy",
                "training step", "accuracy (fraction correct)", height)
    fig.update_yaxes(range=[0, 1.02])
    return fig


def band_traces(view, layer: int, pooled: bool, color: str, name: str) -> list[go.Scatter]:
    """The 15/50/85th (or configured) percentile band of one net as three lines and a fill."""
    pr = view.probes
    if "unit_pct" not in pr or len(pr["step"]) == 0:
        return []
    pct = pr["pooled_pct" if pooled else "unit_pct"][:, layer, :]
    steps = pr["step"]
    lo, mid, hi = f32(pct[:, 0]), f32(pct[:, pct.shape[1] // 2]), f32(pct[:, -1])
    fill = color + "33"
    return [
        go.Scatter(x=steps, y=lo, mode="lines", line={"color": color, "width": 1.5},
                   name=f"{name} low", legendgroup=name, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=steps, y=hi, mode="lines", line={"color": color, "width": 1.5},
                   fill="tonexty", fillcolor=fill, name=f"{name} band", legendgroup=name,
                   showlegend=False, hoverinfo="skip"),
        go.Scatter(x=steps, y=mid, mode="lines", line={"color": color, "width": 3},
                   name=name, legendgroup=name),
    ]


def percentile_band_figure(nets: dict, layer: int, activation: str, percentiles,
                           pooled: bool = False, unit: int = 0, shared_y: bool = True,
                           height: int = 360) -> go.Figure:
    """Figure 1 (b, c): one panel per net, the percentile band of the nonlinearity's input."""
    names = [n for n in nets if len(nets[n].probes.get("step", ())) > 0] or list(nets)
    what = "all units pooled" if pooled else f"unit {unit}"
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=shared_y, horizontal_spacing=0.04,
                        subplot_titles=[f"({chr(98 + i)}) {net_label(n)}"
                                        for i, n in enumerate(names)])
    for i, name in enumerate(names):
        for tr in band_traces(nets[name], layer, pooled, NET_COLORS[name], net_label(name)):
            fig.add_trace(tr, row=1, col=i + 1)
        shade_sigmoid_zones(fig, activation, row=1, col=i + 1)
        fig.update_xaxes(title_text="training step", row=1, col=i + 1)
    q = "/".join(f"{p:g}" for p in percentiles)
    base_layout(fig, f"{q}th percentiles of the {activation} input, layer {layer + 1}, {what}",
                "training step", "input to the nonlinearity", height)
    fig.update_layout(hovermode="closest")
    lim = _band_limit(nets, names, layer, pooled, activation)
    fig.update_yaxes(range=[-lim, lim])
    return fig


def _band_limit(nets, names, layer, pooled, activation) -> float:
    values = [np.abs(nets[n].probes["pooled_pct" if pooled else "unit_pct"][:, layer, :]).max()
              for n in names if len(nets[n].probes.get("step", ())) > 0]
    top = max(values) if values else 1.0
    top = max(top * 1.1, SATURATION_THRESHOLD.get(activation, 1.0) + 1.0)
    return float(min(top, 30.0))


def figure1(nets: dict, layer: int, activation: str, percentiles, unit: int,
            title: str = "") -> go.Figure:
    """The whole Figure 1 in one figure: accuracy, then one band panel per net."""
    names = list(nets)
    fig = make_subplots(rows=1, cols=1 + len(names), horizontal_spacing=0.06,
                        subplot_titles=["(a) held-out accuracy"] +
                        [f"({chr(98 + i)}) {net_label(n)}: {'/'.join(f'{p:g}' for p in percentiles)}"
                         f"th percentiles" for i, n in enumerate(names)])
    for tr in accuracy_figure(nets).data:
        fig.add_trace(tr, row=1, col=1)
    for i, name in enumerate(names):
        for tr in band_traces(nets[name], layer, False, NET_COLORS[name], net_label(name)):
            fig.add_trace(tr, row=1, col=i + 2)
        shade_sigmoid_zones(fig, activation, row=1, col=i + 2)
    base_layout(fig, title or f"Figure 1 reproduced: layer {layer + 1}, unit {unit}",
                "training step", "", 420)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=1)
    lim = _band_limit(nets, names, layer, False, activation)
    for i in range(len(names)):
        fig.update_yaxes(title_text="sigmoid input", range=[-lim, lim], row=1, col=i + 2)
        fig.update_xaxes(title_text="training step", row=1, col=i + 2)
    fig.update_xaxes(title_text="training step", row=1, col=1)
    fig.update_layout(hovermode="closest", width=1400)
    return fig
