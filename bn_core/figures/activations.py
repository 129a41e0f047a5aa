"""What the nonlinearity sees (T7): each net's latest input distribution drawn over the
sigmoid (or ReLU) curve, the fractions of near-linear, saturated or switched-off inputs over
training, and the BN net's gamma and beta (plain figure dicts)."""
from __future__ import annotations

import math

import numpy as np

from bn_core.config import CHOICE_LABELS
from bn_core.i18n import N_, _
from bn_core.nets.zones import LINEAR_ZONE, SATURATION_THRESHOLD
from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.style import (GUIDE, INK, NET_COLORS, axis, band, base_layout,
                                   f32, figure, hline, layout_key, net_label, on,
                                   sigmoid_zone_shapes, step_ticks, steps32, subplot_grid)

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
    """The probe series that describe the activation's zones, with their names in words
    (English, marked for translation: show them with _())."""
    if activation in SATURATION_THRESHOLD:
        return {"linear_zone": N_("near-linear"), "saturated": N_("saturated")}
    if activation == "relu":
        return {"zero_outputs": N_("output 0 (input <= 0)"), "dead_units": N_("dead units")}
    return {}


def zone_rule(activation: str) -> str:
    """The zones' definitions in words, for captions."""
    if activation in SATURATION_THRESHOLD:
        return _("near-linear: |input| < {linear:g}; saturated: |input| > {saturated:g}").format(
            linear=LINEAR_ZONE[activation], saturated=SATURATION_THRESHOLD[activation])
    if activation == "relu":
        return _("output 0: inputs <= 0 (share of all values); dead units: units whose input "
                 "is <= 0 for every probe example")
    return _("a linear activation has no zones")


def latest_value(view, series: str, layer: int) -> float:
    """The last recorded value of a per-layer probe series (nan if none)."""
    col = view.probes.get(series)
    if col is None or len(col) == 0 or layer >= col.shape[1]:
        return math.nan
    return float(col[-1, layer])


def step_range(snap) -> list[int]:
    """The x range of a live chart over training: the whole run, so the axis never jumps."""
    return [0, max(1, int(snap.total_steps or snap.step))]


def _bar_fraction(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return f32(counts / total * 100.0 if total > 0 else counts)


def activation_input_figure(snap, layer: int, height: int = 380) -> dict:
    """One panel per net: the latest histogram of layer `layer`'s nonlinearity input (bars,
    left axis) under the nonlinearity's curve (right axis), zones shaded."""
    activation = snap.config.activation
    edges = snap.edges
    names = list(snap.nets)
    steps = [v.latest.get("step") for v in snap.nets.values() if v.latest.get("hist") is not None]
    if steps and steps[0] is not None:
        title = _("What the {activation} sees: layer {layer}'s inputs at step {step:,}, drawn "
                  "under the {activation} curve").format(activation=activation, layer=layer + 1,
                                                          step=steps[0])
    else:
        title = _("What the {activation} sees: layer {layer}'s inputs, drawn under the "
                  "{activation} curve").format(activation=activation, layer=layer + 1)
    layout = base_layout(title, height=height + 30, hovermode="closest", bargap=0)
    cells = subplot_grid(layout, 1, max(1, len(names)), h_spacing=0.1,
                         titles=[f"<b>{net_label(n)}</b>" for n in names],
                         x_title=_("input to the {activation} (layer {layer})").format(
                             activation=activation, layer=layer + 1))[0]
    for note_, name in zip(layout["annotations"][-len(names):] if names else [], names):
        note_["font"]["color"] = NET_COLORS[name]  # panel titles in the net's colour
    # each panel's right axis (the curve), numbered after the panels' own axes
    curves = [dict(cell, y=f"y{len(cells) + 1 + i}") for i, cell in enumerate(cells)]
    for cell, curve in zip(cells, curves):
        x0, x1 = cell["xdomain"]
        layout[layout_key(cell["x"])]["domain"] = [x0, round(x1 - 0.03, 4)]  # room for ticks
        layout[layout_key(curve["y"])] = axis(anchor=cell["x"], overlaying=cell["y"],
                                              side="right", showgrid=False)
    data, shapes, top = [], [], 1.0
    for i, (cell, curve, name) in enumerate(zip(cells, curves, names)):
        view = snap.nets[name]
        hist = view.latest.get("hist")
        if edges is not None and hist is not None and layer < len(hist):
            shares = _bar_fraction(hist[layer])
            top = max(top, float(shares.max()))
            data.append(on({"type": "bar", "x": f32((edges[:-1] + edges[1:]) / 2), "y": shares,
                            "width": float(edges[1] - edges[0]),
                            "name": _("{net}: inputs at step {step:,}").format(
                                net=net_label(name), step=view.latest.get('step', 0)),
                            "marker": {"color": NET_COLORS[name], "line": {"width": 0}},
                            "opacity": 0.65,
                            "hovertemplate": _("input %{x:.2f}: %{y:.1f}%")},
                           cell))
        if edges is not None:
            xs = np.linspace(edges[0], edges[-1], CURVE_POINTS)
            data.append(on({"type": "scatter", "x": f32(xs), "y": activation_curve(activation, xs),
                            "mode": "lines", "line": {"color": INK, "width": 3},
                            "name": _("{activation}(input)").format(activation=activation),
                            "legendgroup": "curve",
                            "showlegend": i == 0, "hoverinfo": "skip"}, curve))
            shapes += sigmoid_zone_shapes(activation, "x", cell["x"], cell["y"],
                                          limit=float(max(abs(edges[0]), abs(edges[-1]))))
            if activation == "relu":
                shapes.append(band(float(edges[0]), 0.0, ZERO_FILL, "x", cell["x"], cell["y"]))
    curve_range = CURVE_RANGE.get(activation)
    if curve_range is None and edges is not None:
        hi = float(edges[-1]) * 1.05
        curve_range = (0.0, hi) if activation == "relu" else (float(edges[0]) * 1.05, hi)
    for i, (cell, curve) in enumerate(zip(cells, curves)):
        last = i == len(cells) - 1
        left, right = layout[layout_key(cell["y"])], layout[layout_key(curve["y"])]
        left["range"] = [0, round(top * 1.08, 3)]
        if i == 0:
            left["title"] = {"text": _("share of inputs (%)")}
        right["showticklabels"] = last
        if curve_range is not None:
            right["range"] = [round(float(v), 4) for v in curve_range]
        if activation in CURVE_TICKS:
            right.update(tickmode="array", tickvals=CURVE_TICKS[activation])
        if last:
            right["title"] = {"text": _("{activation} output").format(activation=activation)}
        if edges is not None:
            layout[layout_key(cell["x"])]["range"] = [float(edges[0]), float(edges[-1])]
    if shapes:
        layout["shapes"] = shapes
    return figure(data, layout)


def zone_fraction_figure(snap, layer: int, height: int = 340) -> dict:
    """The fraction of layer `layer`'s nonlinearity inputs in each zone over training, per net
    (sigmoid/tanh: near-linear and saturated; ReLU: zero outputs and dead units)."""
    activation = snap.config.activation
    zones = zone_names(activation)
    data = []
    for name, view in snap.nets.items():
        pr = view.probes
        steps = pr.get("step")
        if steps is None or len(steps) == 0:
            continue
        for k, (series, words) in enumerate(zones.items()):
            if layer >= pr[series].shape[1]:
                continue
            data.append({"type": "scatter", "x": steps32(steps), "y": f32(pr[series][:, layer]),
                         "mode": "lines", "name": _("{net}: {zone}").format(
                             net=net_label(name), zone=_(words)),
                         "line": {"color": NET_COLORS[name], "width": 3 if k == 0 else 2,
                                  "dash": "solid" if k == 0 else "dot"}})
    title = (_("Layer {layer}: share of {activation} inputs in each zone").format(
                 layer=layer + 1, activation=activation) if zones
             else N_("A linear activation has no saturated or near-linear zone"))
    layout = base_layout(title, N_("training step"), N_("fraction of inputs"), height)
    layout["yaxis"]["range"] = [0, 1.02]
    layout["xaxis"].update(step_ticks(step_range(snap)[1]))
    return figure(data, layout)


def heldout_accuracy_chart(snap, height: int = 320) -> dict:
    """Held-out accuracy of both nets over the whole run's steps (the gamma and beta page)."""
    fig = accuracy_figure(snap.nets, "heldout_acc", N_("Held-out accuracy of both nets"), height)
    fig["layout"]["xaxis"].update(step_ticks(step_range(snap)[1]))
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


def affine_figure(snap, layer: int, net: str = "bn", height: int = 360) -> dict:
    """The BN net's gamma and beta: their mean over units per layer over training (one line
    per layer), and every unit of layer `layer` now (beta across, gamma up)."""
    mode = snap.config.affine
    view = snap.nets.get(net)
    color = NET_COLORS.get(net, NET_COLORS["bn"])
    undo = mode == "undo"
    unit = snap.config.probe_unit
    titles = ([_("gamma (scale) = sqrt(var_B + eps), unit {unit}").format(unit=unit),
               _("beta (shift) = mu_B, unit {unit}").format(unit=unit)] if undo
              else [N_("mean |gamma| (scale) per layer"), N_("mean beta (shift) per layer")])
    what = (_("set to undo the normalisation") if undo
            else _(CHOICE_LABELS["affine"].get(mode, mode)))
    layout = base_layout(_("{net} net: scale gamma and shift beta ({mode})").format(
                             net=net_label(net), mode=what),
                         height=height + 40, hovermode="closest", legend={"font": {"size": 12}})
    cells = subplot_grid(layout, 1, 3, h_spacing=0.1, column_widths=[0.34, 0.34, 0.32],
                         titles=titles + [_("layer {layer} now, per unit").format(
                             layer=layer + 1)])[0]
    data = []
    if view is not None and len(view.probes.get("step", ())) > 0:
        pr, steps = view.probes, steps32(view.probes["step"])
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
                data.append(on({"type": "scatter", "x": steps, "y": f32(gam[:, j]),
                                "mode": "lines", "name": _("layer {layer}").format(layer=j + 1),
                                "legendgroup": f"l{j}", "line": line}, cells[0]))
                data.append(on({"type": "scatter", "x": steps, "y": f32(np.asarray(bet)[:, j]),
                                "mode": "lines", "name": _("layer {layer}").format(layer=j + 1),
                                "legendgroup": f"l{j}", "showlegend": False, "line": dict(line)},
                               cells[1]))
        current = effective_affine(view, layer, mode)
        if current is not None:
            gamma, beta = current
            data.append(on({"type": "scatter", "x": beta, "y": gamma, "mode": "markers",
                            "name": _("units of layer {layer}").format(layer=layer + 1),
                            "marker": {"color": color, "size": 9, "opacity": 0.8,
                                       "line": {"width": 1, "color": INK}},
                            "hovertemplate": "beta %{x:.2f}, gamma %{y:.2f}"}, cells[2]))
    layout["shapes"] = [hline(1.0, {"color": GUIDE, "width": 1, "dash": "dot"}, "x", "y"),
                        hline(0.0, {"color": GUIDE, "width": 1, "dash": "dot"}, "x2", "y2")]
    last = step_range(snap)[1]
    # y titles only on the left (the panel titles name the other panels' quantities): a
    # title between two narrow panels lands on the neighbour's data
    layout["yaxis"]["title"] = {"text": _("gamma (scale)")}
    for cell, x_title in zip(cells, (N_("training step"), N_("training step"),
                                     N_("beta (shift)"))):
        layout[layout_key(cell["x"])]["title"] = {"text": _(x_title)}
    for cell in cells[:2]:
        layout[layout_key(cell["x"])].update(step_ticks(last))
    return figure(data, layout)


def first_disagreement(steps, a, b, tolerance: float) -> int | None:
    """The first step at which two recorded curves (same steps) differ by more than
    `tolerance`, or None if they agree everywhere so far."""
    n = min(len(a), len(b), len(steps))
    gap = np.abs(np.asarray(a[:n], np.float64) - np.asarray(b[:n], np.float64))
    apart = np.flatnonzero(~(gap <= tolerance))
    return int(steps[apart[0]]) if len(apart) else None
