"""Figures of "Does BN really reduce internal covariate shift?" (Santurkar et al. 2018, T13):
gradient-measured ICS per layer and over training, each net's training loss, and the
loss-landscape probes. Pure functions from a run's NetViews to plain figure dicts."""
from __future__ import annotations

import warnings

import numpy as np

from bn_core.i18n import N_, _
from bn_core.lessons.santurkar import LANDSCAPE_PROBES
from bn_core.figures.style import (NET_COLORS, NET_DASH, base_layout, cosine_range, f32, figure,
                                   hline, layout_key, log_axis, net_label, on,
                                   step_ticks, steps32, subplot_grid)

METRICS = {
    "cos": ("cos(G, G')", N_("cos(G, G')  (1 = no shift)")),
    "dist": ("||G - G'||", N_("||G - G'||  (0 = no shift, log scale)")),
}
PROBE_TITLES = {"loss_range": N_("range of the loss L"),
                "grad_change": N_("largest change of grad L"),
                "beta_smoothness": N_("effective beta-smoothness")}
NO_SHIFT_LINE = {"color": "#000000", "width": 1.5, "dash": "dot"}


def _line(name, x, y, **kw) -> dict:
    return {"type": "scatter", "x": x, "y": f32(y), "mode": kw.pop("mode", "lines+markers"),
            "name": net_label(name),
            "line": {"color": NET_COLORS[name], "dash": NET_DASH[name], "width": 3},
            "marker": {"size": 7, "color": NET_COLORS[name]}, **kw}


def _finite_mean(values, axis: int) -> np.ndarray:
    """Mean over `axis` of the finite values (NaN where there are none)."""
    values = np.asarray(values, np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as meant
        return np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=axis)


def ics_by_layer_figure(nets: dict, metric: str = "cos", height: int = 360) -> dict:
    """Each net's ICS per layer (1 = lowest hidden layer, last = output), averaged over the
    measurements so far."""
    short, axis_title = METRICS[metric]
    data, shown = [], []
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        per_layer = _finite_mean(ics[metric], 0)
        shown.append(per_layer)
        layers = np.arange(1, len(per_layer) + 1, dtype=np.int32)
        hover = _("{net}, layer %{{x}}: %{{y:.3f}}").format(net=net_label(name)) + \
            "<extra></extra>"
        data.append(_line(name, layers, per_layer, hovertemplate=hover))
    layout = base_layout(_("{metric} per layer, averaged over the run").format(metric=short),
                         N_("layer (1 = lowest; the last is the output layer)"), axis_title, height,
                         hovermode="closest")
    layout["xaxis"]["tickformat"] = ",d"
    layout["xaxis"]["dtick"] = 1  # one tick per layer: at 0.5 a wide chart showed 1 2 2 3 3
    return figure(_metric_axis(data, layout, metric, shown), layout)


def ics_over_time_figure(nets: dict, metric: str = "cos", height: int = 360) -> dict:
    """Each net's ICS averaged over layers 2..L+1 (layer 1 has nothing below it), per step."""
    short, axis_title = METRICS[metric]
    data, shown = [], []
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        mean = _finite_mean(np.asarray(ics[metric], np.float64)[:, 1:], 1)
        shown.append(mean)
        data.append(_line(name, steps32(ics["step"]), mean))
    layout = base_layout(_("{metric} over training (mean of layers 2 and up)").format(
                         metric=short), N_("training step"),
                         axis_title, height)
    layout["xaxis"].update(step_ticks())
    return figure(_metric_axis(data, layout, metric, shown), layout)


def _metric_axis(data: list, layout: dict, metric: str, shown: list) -> list:
    """The y axis of an ICS chart: cosines on a range chosen from the data (so a spread from
    1 shows, and noise around 1 is not blown up), with a dotted line at 1 (the axis title
    says 1 = no shift; a label on the line would sit on the data); distances on a log axis
    with readable ticks."""
    values = np.concatenate([np.ravel(v) for v in shown]) if shown else np.zeros(0)
    if metric == "cos":
        layout["yaxis"]["range"] = cosine_range(values)
        layout["shapes"] = [hline(1.0, NO_SHIFT_LINE, layer="below")]
    else:
        layout["yaxis"].update(log_axis(values))
    return data


def training_loss_figure(nets: dict, regression: bool, height: int = 360) -> dict:
    """Each net's training loss in training mode (the average over the steps since the last
    probe), the loss the net actually descends."""
    data, losses = [], []
    for name, view in nets.items():
        pr = view.probes
        if len(pr.get("step", ())) == 0:
            continue
        trace = _line(name, steps32(pr["step"]), pr["loss"], mode="lines")
        if view.status == "diverged":
            trace["name"] = _("{net} (diverged at step {step})").format(
                net=trace["name"], step=view.diverged_at)
        losses.append(pr["loss"])
        data.append(trace)
    layout = base_layout(N_("Training loss of each net (training mode)"), N_("training step"),
                         N_("mean squared error (log scale)") if regression else
                         N_("cross-entropy (log scale)"), height)
    layout["yaxis"].update(log_axis(np.concatenate(losses) if losses else []))
    layout["xaxis"].update(step_ticks())
    return figure(data, layout)


def landscape_figure(nets: dict, height: int = 340) -> dict:
    """Santurkar's loss-landscape probes along the gradient, one panel each, over training."""
    layout = base_layout(N_("Loss-landscape probes along the gradient (lower = smoother)"),
                         height=height + 50, hovermode="closest")
    cells = subplot_grid(layout, 1, len(LANDSCAPE_PROBES), h_spacing=0.09,
                         titles=[PROBE_TITLES[k] for k in LANDSCAPE_PROBES],
                         x_title=N_("training step"))[0]
    data, shown = [], {k: [] for k in LANDSCAPE_PROBES}
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0:
            continue
        for col, (cell, key) in enumerate(zip(cells, LANDSCAPE_PROBES)):
            data.append(on(_line(name, steps32(ics["step"]), ics[key], legendgroup=name,
                                 showlegend=col == 0), cell))
            shown[key].append(np.asarray(ics[key], np.float64))
    for cell, key in zip(cells, LANDSCAPE_PROBES):
        values = np.concatenate(shown[key]) if shown[key] else []
        layout[layout_key(cell["y"])].update(log_axis(values))
        layout[layout_key(cell["x"])].update(step_ticks())
    return figure(data, layout)


def _fill_colour(name: str, alpha: float = 0.25) -> str:
    hexa = NET_COLORS[name].lstrip("#")
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def landscape_reproduction_figure(nets: dict, title: str = "", height: int = 420) -> dict:
    """Santurkar et al.'s Fig. 4 for a run: over training, the range (shaded, min to max over
    the step sizes along the gradient) of the loss (a) and of the gradient change (b), and the
    effective beta-smoothness (c), one colour per net."""
    panels = [N_("(a) loss along the gradient"), N_("(b) gradient change along it"),
              N_("(c) effective beta-smoothness")]
    layout = base_layout(title or N_("Loss landscape along the gradient (Santurkar et al. 2018, "
                                     "Fig. 4)"), height=height, hovermode="closest")
    cells = subplot_grid(layout, 1, 3, h_spacing=0.09, titles=panels,
                         x_title=N_("training step"))[0]
    data, shown = [], [[], [], []]
    for name, view in nets.items():
        ics = view.ics
        if len(ics.get("step", ())) == 0 or "scape_loss" not in ics:
            continue
        steps = steps32(ics["step"])
        for col, key in ((0, "scape_loss"), (1, "scape_grad_change")):
            values = np.asarray(ics[key], np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows: no probe yet
                lo, hi = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
            data.append(on({"type": "scatter", "x": steps, "y": f32(hi), "mode": "lines",
                            "line": {"width": 0}, "legendgroup": name, "showlegend": False,
                            "hoverinfo": "skip"}, cells[col]))
            data.append(on({"type": "scatter", "x": steps, "y": f32(lo), "mode": "lines",
                            "fill": "tonexty", "fillcolor": _fill_colour(name),
                            "name": net_label(name),
                            "line": {"color": NET_COLORS[name], "width": 1},
                            "legendgroup": name, "showlegend": col == 0}, cells[col]))
            shown[col] += [lo, hi]
        data.append(on(_line(name, steps, ics["beta_smoothness"], legendgroup=name,
                             showlegend=False), cells[2]))
        shown[2].append(np.asarray(ics["beta_smoothness"], np.float64))
    for cell, values in zip(cells, shown):
        layout[layout_key(cell["y"])].update(log_axis(np.concatenate(values) if values else []))
        layout[layout_key(cell["x"])].update(step_ticks())
    return figure(data, layout)
