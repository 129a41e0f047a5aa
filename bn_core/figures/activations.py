"""What the nonlinearity sees (T7): each net's latest input distribution drawn over the
sigmoid (or ReLU) curve, the fractions of near-linear, saturated or switched-off inputs over
training, and the BN net's gamma and beta."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.nets.probes import LINEAR_ZONE, SATURATION_THRESHOLD
from bn_core.figures.style import NET_COLORS, base_layout, f32, net_label, shade_sigmoid_zones

CURVE_POINTS = 201
OUTPUT_MASS = (2.5, 97.5)   # the central 95% of inputs, for the "outputs lie in [a, b]" sentence
EPS = 1e-5                  # BatchNorm1d's eps: undo mode's gamma = sqrt(var_B + eps)
ZERO_FILL = "rgba(120, 120, 120, 0.10)"
CURVE_RANGE = {"sigmoid": (0.0, 1.05), "tanh": (-1.1, 1.1)}
CURVE_TICKS = {"sigmoid": [0, 0.25, 0.5, 0.75, 1], "tanh": [-1, -0.5, 0, 0.5, 1]}
LAYER_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def activation_curve(activation: str, x: np.ndarray) -> np.ndarray:
    """The nonlinearity's output at x (numpy, float32)."""
    x = np.asarray(x, dtype=np.float64)
    if activation == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-x))
    elif activation == "tanh":
        y = np.tanh(x)
    elif activation == "relu":
        y = np.maximum(x, 0.0)
    elif activation == "linear":
        y = x
    else:
        raise ValueError(f"activation: got {activation!r}; allowed: sigmoid, tanh, relu, linear")
    return y.astype(np.float32)


def histogram_quantiles(counts, edges, qs) -> np.ndarray:
    """Approximate qs-th percentiles (0-100) of the values behind histogram `counts` on `edges`,
    interpolating linearly inside a bin (values are taken as spread evenly across their bin)."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return np.full(len(qs), np.nan, np.float32)
    cum = np.concatenate([[0.0], np.cumsum(counts)]) / total
    out = []
    for q in qs:
        target = min(max(q / 100.0, 0.0), 1.0)
        i = int(np.searchsorted(cum, target, side="left"))
        i = min(max(i, 1), len(edges) - 1)
        lo, hi = cum[i - 1], cum[i]
        frac = 0.0 if hi <= lo else (target - lo) / (hi - lo)
        out.append(edges[i - 1] + frac * (edges[i] - edges[i - 1]))
    return np.array(out, np.float32)


def output_range(counts, edges, activation: str, mass=OUTPUT_MASS) -> tuple[float, float]:
    """Where the central part (default 95%) of the nonlinearity's outputs lie, from the
    histogram of its inputs (the nonlinearities here are monotone)."""
    lo, hi = histogram_quantiles(counts, edges, mass)
    ys = activation_curve(activation, np.array([lo, hi]))
    return float(ys[0]), float(ys[1])


def zone_names(activation: str) -> dict[str, str]:
    """The probe series that describe the activation's zones, with their names in words."""
    if activation in SATURATION_THRESHOLD:
        return {"linear_zone": "near-linear", "saturated": "saturated"}
    if activation == "relu":
        return {"zero_outputs": "output 0 (input <= 0)", "dead_units": "dead units"}
    return {}


def zone_rule(activation: str) -> str:
    """The zones' definitions in words, for captions."""
    if activation in SATURATION_THRESHOLD:
        return (f"near-linear: |input| < {LINEAR_ZONE[activation]:g}; "
                f"saturated: |input| > {SATURATION_THRESHOLD[activation]:g}")
    if activation == "relu":
        return ("output 0: inputs <= 0 (share of all values); dead units: units whose input is "
                "<= 0 for every probe example")
    return "a linear activation has no zones"


def latest_value(view, series: str, layer: int) -> float:
    """The last recorded value of a per-layer probe series (nan if none)."""
    col = view.probes.get(series)
    if col is None or len(col) == 0 or layer >= col.shape[1]:
        return math.nan
    return float(col[-1, layer])


def step_range(snap) -> list[float]:
    """The x range of a live chart over training: the whole run, so the axis never jumps."""
    return [0, max(1, snap.total_steps or snap.step)]


def _bar_fraction(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return f32(counts / total * 100.0 if total > 0 else counts)


def activation_input_figure(snap, layer: int, height: int = 380) -> go.Figure:
    """One panel per net: the latest histogram of layer `layer`'s nonlinearity input (bars,
    left axis) under the nonlinearity's curve (right axis), zones shaded."""
    activation = snap.config.activation
    edges = snap.edges
    names = list(snap.nets)
    fig = make_subplots(rows=1, cols=max(1, len(names)), horizontal_spacing=0.08,
                        specs=[[{"secondary_y": True}] * max(1, len(names))],
                        subplot_titles=[net_label(n) for n in names] or [""])
    step, top = None, 1.0
    for i, name in enumerate(names):
        view = snap.nets[name]
        hist = view.latest.get("hist")
        col = i + 1
        if edges is not None and hist is not None and layer < len(hist):
            centres = f32((edges[:-1] + edges[1:]) / 2)
            shares = _bar_fraction(hist[layer])
            top = max(top, float(shares.max()))
            fig.add_trace(go.Bar(x=centres, y=shares,
                                 width=float(edges[1] - edges[0]), name=f"{net_label(name)}: "
                                 f"inputs at step {view.latest.get('step', 0):,}",
                                 marker={"color": NET_COLORS[name], "line": {"width": 0}},
                                 opacity=0.65, hovertemplate="input %{x:.2f}: %{y:.1f}%"),
                          row=1, col=col, secondary_y=False)
            step = view.latest.get("step", step)
        if edges is not None:
            xs = np.linspace(edges[0], edges[-1], CURVE_POINTS)
            fig.add_trace(go.Scatter(x=f32(xs), y=activation_curve(activation, xs), mode="lines",
                                     line={"color": "#222222", "width": 3},
                                     name=f"{activation}(input)", legendgroup="curve",
                                     showlegend=i == 0, hoverinfo="skip"),
                          row=1, col=col, secondary_y=True)
            shade_sigmoid_zones(fig, activation, axis="x", row=1, col=col,
                                limit=float(max(abs(edges[0]), abs(edges[-1]))))
            if activation == "relu":
                fig.add_vrect(float(edges[0]), 0.0, fillcolor=ZERO_FILL, line_width=0,
                              layer="below", row=1, col=col)
    when = f" at step {step:,}" if step is not None else ""
    base_layout(fig, f"What the {activation} sees: layer {layer + 1}'s inputs{when}, drawn "
                     f"under the {activation} curve",
                f"input to the {activation} (layer {layer + 1})", "", height)
    curve_range = CURVE_RANGE.get(activation)
    if curve_range is None and edges is not None:
        hi = float(edges[-1]) * 1.05
        curve_range = (0.0, hi) if activation == "relu" else (float(edges[0]) * 1.05, hi)
    for i in range(len(names)):
        last = i == len(names) - 1
        fig.update_yaxes(title_text="share of inputs (%)" if i == 0 else None,
                         range=[0, top * 1.08], secondary_y=False, row=1, col=i + 1)
        fig.update_yaxes(title_text=f"{activation} output" if last else None, range=curve_range,
                         secondary_y=True, row=1, col=i + 1, showgrid=False,
                         showticklabels=last, tickvals=CURVE_TICKS.get(activation))
    for i, name in enumerate(names):  # panel titles in the net's colour
        if i < len(fig.layout.annotations):
            fig.layout.annotations[i].update(text=f"<b>{net_label(name)}</b>",
                                             font={"color": NET_COLORS[name]})
    fig.update_layout(hovermode="closest", bargap=0, margin={"b": 90},
                      legend={"y": -0.22, "yanchor": "top", "x": 0.0, "xanchor": "left"})
    if edges is not None:
        fig.update_xaxes(range=[float(edges[0]), float(edges[-1])])
    return fig


def zone_fraction_figure(snap, layer: int, height: int = 340) -> go.Figure:
    """The fraction of layer `layer`'s nonlinearity inputs in each zone over training, per net
    (sigmoid/tanh: near-linear and saturated; ReLU: zero outputs and dead units)."""
    activation = snap.config.activation
    zones = zone_names(activation)
    fig = go.Figure()
    for name, view in snap.nets.items():
        pr = view.probes
        steps = pr.get("step")
        if steps is None or len(steps) == 0:
            continue
        for k, (series, words) in enumerate(zones.items()):
            values = pr[series][:, layer] if layer < pr[series].shape[1] else None
            if values is None:
                continue
            fig.add_trace(go.Scatter(
                x=steps, y=f32(values), mode="lines", name=f"{net_label(name)}: {words}",
                line={"color": NET_COLORS[name], "width": 3 if k == 0 else 2,
                      "dash": "solid" if k == 0 else "dot"}))
    title = (f"Layer {layer + 1}: share of {activation} inputs in each zone" if zones
             else "A linear activation has no saturated or near-linear zone")
    base_layout(fig, title, "training step", "fraction of inputs", height)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(range=step_range(snap))
    return fig


def effective_affine(view, layer: int, mode: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Per unit of one BN layer, the (gamma, beta) the layer applies now: its parameters, or in
    undo mode sqrt(var_B + eps) and mu_B of the last training batch."""
    layers = view.latest.get("bn")
    if not layers or layer >= len(layers):
        return None
    entry = layers[layer]
    if mode == "undo":
        if entry.get("batch_var") is None:
            return None
        return (f32(np.sqrt(np.asarray(entry["batch_var"], np.float64) + EPS)),
                f32(entry["batch_mean"]))
    return f32(entry["gamma"]), f32(entry["beta"])


def affine_figure(snap, layer: int, net: str = "bn", height: int = 360) -> go.Figure:
    """The BN net's gamma and beta: their mean over units per layer over training (one line
    per layer), and every unit of layer `layer` now (beta across, gamma up)."""
    mode = snap.config.affine
    view = snap.nets.get(net)
    color = NET_COLORS.get(net, NET_COLORS["bn"])
    undo = mode == "undo"
    unit = snap.config.probe_unit
    titles = ([f"gamma = sqrt(var_B + eps), unit {unit}", f"beta = mu_B, unit {unit}"] if undo
              else ["mean |gamma| per layer", "mean beta per layer"])
    fig = make_subplots(rows=1, cols=3, column_widths=[0.34, 0.34, 0.32],
                        horizontal_spacing=0.08,
                        subplot_titles=titles + [f"each unit of layer {layer + 1} now"])
    if view is not None and len(view.probes.get("step", ())) > 0:
        pr, steps = view.probes, view.probes["step"]
        if undo:
            gam = pr.get("bn_batch_var")
            gam = None if gam is None else np.sqrt(np.asarray(gam, np.float64) + EPS)
            bet = pr.get("bn_batch_mean")
        else:
            gam, bet = pr.get("gamma_mean_abs"), pr.get("beta_mean")
        if gam is not None and bet is not None and np.ndim(gam) == 2:
            for j in range(gam.shape[1]):
                line = {"color": color, "width": 3 if j == layer else 1.5,
                        "dash": LAYER_DASHES[j % len(LAYER_DASHES)]}
                fig.add_trace(go.Scatter(x=steps, y=f32(gam[:, j]), mode="lines",
                                         name=f"layer {j + 1}", legendgroup=f"l{j}",
                                         line=line), row=1, col=1)
                fig.add_trace(go.Scatter(x=steps, y=f32(np.asarray(bet)[:, j]), mode="lines",
                                         name=f"layer {j + 1}", legendgroup=f"l{j}",
                                         showlegend=False, line=line), row=1, col=2)
        current = effective_affine(view, layer, mode)
        if current is not None:
            gamma, beta = current
            fig.add_trace(go.Scatter(x=beta, y=gamma, mode="markers",
                                     name=f"units of layer {layer + 1}",
                                     marker={"color": color, "size": 9, "opacity": 0.8,
                                             "line": {"width": 1, "color": "#222222"}},
                                     hovertemplate="beta %{x:.2f}, gamma %{y:.2f}"),
                          row=1, col=3)
    fig.add_hline(1.0, line={"color": "#888888", "width": 1, "dash": "dot"}, row=1, col=1)
    fig.add_hline(0.0, line={"color": "#888888", "width": 1, "dash": "dot"}, row=1, col=2)
    what = "set to undo the normalisation" if undo else mode
    base_layout(fig, f"{net_label(net)} net: scale gamma and shift beta ({what})",
                "training step", "gamma (scale)", height)
    fig.update_yaxes(title_text="beta (shift)", row=1, col=2)
    fig.update_xaxes(title_text="training step", range=step_range(snap), row=1, col=2)
    fig.update_xaxes(range=step_range(snap), row=1, col=1)
    fig.update_xaxes(title_text="beta (shift)", row=1, col=3)
    fig.update_yaxes(title_text="gamma (scale)", row=1, col=3)
    fig.update_layout(hovermode="closest", margin={"b": 100},
                      legend={"font": {"size": 12}, "y": -0.25, "yanchor": "top", "x": 0.0,
                              "xanchor": "left"})
    return fig


def first_disagreement(steps, a, b, tolerance: float) -> int | None:
    """The first step at which two recorded curves (same steps) differ by more than
    `tolerance`, or None if they agree everywhere so far."""
    n = min(len(a), len(b), len(steps))
    gap = np.abs(np.asarray(a[:n], np.float64) - np.asarray(b[:n], np.float64))
    apart = np.flatnonzero(~(gap <= tolerance))
    return int(steps[apart[0]]) if len(apart) else None
