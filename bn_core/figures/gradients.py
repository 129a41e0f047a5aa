"""Gradients and learning rates (T5, T9): how large each weight matrix's gradient is, layer by
layer and over training, and what a larger learning rate does to each net (divergence marked).
Plain figure dicts (see `style`)."""
from __future__ import annotations

import math

import numpy as np

from bn_core.i18n import N_, _
from bn_core.figures.activations import step_range
from bn_core.figures.style import (COLORBAR, GUIDE, VIRIDIS, NET_COLORS, NET_DASH, SOFT_TEXT, base_layout,
                                   f32, figure, hline, log_axis, net_label, note, on,
                                   step_ticks, steps32, subplot_grid, update_axes, vline)
from bn_core.figures.style import log_ticks  # noqa: F401 (the tick rule, once, in style)

HEATMAP_SCALE = VIRIDIS
DIVERGED_LINE = {"width": 2, "dash": "dash"}


def layer_labels(n_weights: int) -> list[str]:
    """Names of the weight matrices bottom to top: hidden layers 1..L, then the output."""
    return [_("layer {n}").format(n=i + 1) for i in range(n_weights - 1)] + [_("output")]


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


def divergence_marks(name: str, view, x_ref: str = "x", y_ref: str = "y",
                     label: bool = True) -> tuple[list, list]:
    """(shapes, annotations) marking the step a net diverged at, in its colour."""
    if view.status != "diverged" or view.diverged_at is None:
        return [], []
    shapes = [vline(view.diverged_at, {"color": NET_COLORS[name], **DIVERGED_LINE}, x_ref, y_ref)]
    notes = []
    if label:
        notes.append(note(_("{net} diverged at step {step:,}").format(net=net_label(name),
                                                                       step=view.diverged_at),
                          view.diverged_at, 1.0, x_ref, f"{y_ref} domain", xanchor="left",
                          yanchor="top", font={"color": NET_COLORS[name], "size": 14},
                          bgcolor="rgba(255,255,255,0.8)"))
    return shapes, notes


def gradient_profile_figure(snap, height: int = 360) -> dict:
    """Gradient norm of each weight matrix, bottom to top, at each net's latest probe (solid)
    and at its first probe with gradients (faint): a vanishing gradient is a steep slope."""
    data, labels, shown = [], None, []
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
            data.append({"type": "scatter", "x": labels, "y": f32(g[first]),
                         "mode": "lines+markers",
                         "name": _("{net} at step {step:,}").format(net=net_label(name),
                                                                    step=int(steps[first])),
                         "line": {"color": NET_COLORS[name], "width": 1.5, "dash": "dot"},
                         "marker": {"size": 6}, "opacity": 0.6})
        name_ = (_("{net} at step {step:,} (last before diverging at {diverged:,})").format(
                     net=net_label(name), step=int(steps[last]), diverged=view.diverged_at)
                 if view.status == "diverged" else
                 _("{net} at step {step:,}").format(net=net_label(name), step=int(steps[last])))
        data.append({"type": "scatter", "x": labels, "y": f32(g[last]), "mode": "lines+markers",
                     "name": name_,
                     "line": {"color": NET_COLORS[name], "width": 3.5, "dash": NET_DASH[name]},
                     "marker": {"size": 9}})
    layout = base_layout(N_("Gradient size of each weight matrix, from the input (left) to the "
                            "output"), "weight matrix (bottom to top)",
                         N_("gradient norm ||dL/dW|| (log scale)"), height, showlegend=True,
                         hovermode="closest")
    layout["yaxis"].update(log_axis(np.concatenate(shown) if shown else []))
    if labels is not None:
        layout["xaxis"].update(categoryorder="array", categoryarray=labels)
    return figure(data, layout)


def gradient_heatmap_figure(snap, height: int = 380) -> dict:
    """One panel per net: log10 of each weight matrix's gradient norm (rows, bottom to top)
    over training (columns), on one shared colour scale; divergence marked."""
    names = list(snap.nets) or ["plain"]
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
    titles = []
    for name in names:
        view = snap.nets.get(name)
        text = net_label(name)
        if view is not None and view.status == "diverged":
            text = _("{net} (diverged at step {step:,}, dashed line)").format(
                net=text, step=view.diverged_at)
        titles.append(f"<b>{text}</b>")
    layout = base_layout(N_("Gradient norm of every weight matrix over training (colour = "
                            "power of ten)"), height=height, hovermode="closest")
    cells = subplot_grid(layout, 1, len(names), h_spacing=0.06, shared_y=True, titles=titles,
                         x_title="training step", y_title="weight matrix (bottom to top)")[0]
    for note_, name in zip(layout["annotations"][-len(names):], names):
        note_["font"]["color"] = NET_COLORS.get(name, "#222222")  # titles in the net's colour
    data, shapes, notes = [], [], []
    for i, (cell, name) in enumerate(zip(cells, names)):
        view = snap.nets.get(name)
        if name not in logs or not np.isfinite(logs[name]).any():
            why = (_("no gradients recorded: diverged at step {step:,},<br>before its first "
                     "probe").format(step=view.diverged_at)
                   if view is not None and view.status == "diverged"
                   else _("no gradients recorded yet"))
            notes.append(note(why, 0.5, 0.5, f"{cell['x']} domain", f"{cell['y']} domain",
                              font={"size": 14, "color": SOFT_TEXT}))
        if name in logs:
            z = logs[name]
            heat = {"type": "heatmap", "x": steps32(view.probes["step"]),
                    "y": layer_labels(z.shape[1]), "z": np.ascontiguousarray(z.T),
                    "zmin": round(zmin, 3), "zmax": round(zmax, 3), "colorscale": HEATMAP_SCALE,
                    "showscale": i == len(names) - 1, "name": net_label(name),
                    "hovertemplate": _("step %{x}, %{y}: 10^%{z:.1f}") + "<extra>" + net_label(name)
                                     + "</extra>"}
            if i == len(names) - 1:
                heat["colorbar"] = {**COLORBAR, "title": {"text": "log10 ||dL/dW||",
                                                          "side": "right"}}
            data.append(on(heat, cell))
        if view is not None:
            shapes += divergence_marks(name, view, cell["x"], cell["y"], label=False)[0]
    layout["annotations"] += notes
    if shapes:
        layout["shapes"] = shapes
    update_axes(layout, "x", **step_ticks(step_range(snap)[1]))
    return figure(data, layout)


def vanishing_ratio_figure(snap, height: int = 320) -> dict:
    """Per net over training: the first hidden layer's gradient norm divided by the output
    layer's (1 = the signal arrives undiminished; 1e-6 = it has all but vanished)."""
    data, notes, shown = [], [], [1.0]
    shapes = [hline(1.0, {"color": GUIDE, "width": 1, "dash": "dot"})]
    for name, view in snap.nets.items():
        marks = divergence_marks(name, view)  # also for a net that diverged before any probe
        shapes += marks[0]
        notes += marks[1]
        g = view.probes.get("grad_norm")
        rows = finite_rows(g) if g is not None else np.zeros(0, np.int64)
        if len(rows) == 0:
            continue
        g = np.asarray(g, np.float64)[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(g[:, -1] > 0, g[:, 0] / g[:, -1], np.nan)
        shown.append(ratio)
        data.append({"type": "scatter", "x": steps32(view.probes["step"][rows]), "y": f32(ratio),
                     "mode": "lines",
                     "name": net_label(name) + (f" ({view.status_shown})"
                                                if view.status == "diverged" else ""),
                     "line": {"color": NET_COLORS[name], "width": 3, "dash": NET_DASH[name]}})
    layout = base_layout(N_("Layer 1's gradient as a fraction of the output layer's"),
                         "training step", N_("||dL/dW1|| / ||dL/dW_out|| (log scale)"), height,
                         showlegend=True, shapes=shapes)
    if notes:
        layout["annotations"] = notes
    layout["yaxis"].update(log_axis(np.concatenate([np.ravel(v) for v in shown])))
    layout["xaxis"].update(step_ticks(step_range(snap)[1]))
    return figure(data, layout)


def training_curves_figure(snap, metric: str = "heldout_acc", height: int = 340) -> dict:
    """Loss (left, log scale) and accuracy (right) of each net over training; a net that
    diverged ends with a cross and a dashed line at the step it diverged."""
    layout = base_layout(N_("How each net learns"), height=height + 20, hovermode="closest",
                         showlegend=True)
    cells = subplot_grid(layout, 1, 2, h_spacing=0.12,
                         titles=[N_("training loss (log scale; mean since the last probe)"),
                                 N_("held-out accuracy (fraction correct)")],
                         x_title="training step")[0]
    data, shapes = [], []
    for name, view in snap.nets.items():
        color, dash = NET_COLORS[name], NET_DASH[name]
        label = net_label(name) + (f" ({view.status_shown})" if view.status == "diverged" else "")
        pr, ev = view.probes, view.evals
        if len(pr.get("step", ())) > 0:
            data.append(on({"type": "scatter", "x": steps32(pr["step"]), "y": f32(pr["loss"]),
                            "mode": "lines", "name": label, "legendgroup": name,
                            "line": {"color": color, "dash": dash, "width": 3}}, cells[0]))
        if metric in ev and len(ev[metric]):
            data.append(on({"type": "scatter", "x": steps32(ev["step"]), "y": f32(ev[metric]),
                            "mode": "lines", "name": label, "legendgroup": name,
                            "showlegend": False,
                            "line": {"color": color, "dash": dash, "width": 3}}, cells[1]))
            if view.status == "diverged":
                data.append(on({"type": "scatter", "x": [int(view.diverged_at)],
                                "y": [float(ev[metric][-1])], "mode": "markers+text",
                                "text": [_("diverged")], "textposition": "top right",
                                "showlegend": False,
                                "marker": {"symbol": "x", "size": 14, "color": color},
                                "textfont": {"color": color}, "hoverinfo": "skip"}, cells[1]))
        for cell in cells:
            shapes += divergence_marks(name, view, cell["x"], cell["y"], label=False)[0]
    if shapes:
        layout["shapes"] = shapes
    losses = [v.probes["loss"] for v in snap.nets.values() if len(v.probes.get("step", ()))]
    layout["yaxis"].update(log_axis(np.concatenate(losses) if losses else []))
    layout["yaxis2"]["range"] = [0, 1.02]
    update_axes(layout, "x", **step_ticks(step_range(snap)[1]))
    return figure(data, layout)
