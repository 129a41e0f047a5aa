"""The BN paper's Figure 1: held-out accuracy (a) and percentile bands of a sigmoid input (b, c),
built as plain figure dicts (see `style`)."""
from __future__ import annotations

import numpy as np

from bn_core.i18n import N_, _
from bn_core.nets.zones import SATURATION_THRESHOLD
from bn_core.figures.style import (NET_COLORS, NET_DASH, axis, base_layout, f32, figure,
                                   layout_key, net_label, on, sigmoid_zone_shapes, step_ticks, steps32,
                                   subplot_grid, update_axes)

METRIC_TITLES = {"heldout_acc": N_("(a) held-out accuracy"), "test_acc": N_("(a) test accuracy"),
                 "train_acc": N_("(a) training accuracy")}


def accuracy_traces(nets: dict, metric: str = "heldout_acc") -> list[dict]:
    """One line per net: its accuracy against training steps (diverged nets say so)."""
    traces = []
    for name, view in nets.items():
        ev = view.evals
        if metric not in ev:
            continue
        label = net_label(name) + ("" if view.status != "diverged" else
                                   _(" (diverged at step {step})").format(step=view.diverged_at))
        traces.append({"type": "scatter", "x": steps32(ev["step"]), "y": f32(ev[metric]),
                       "mode": "lines", "name": label,
                       "line": {"color": NET_COLORS[name], "dash": NET_DASH[name], "width": 3}})
    return traces


def accuracy_figure(nets: dict, metric: str = "heldout_acc", title: str | None = None,
                    height: int = 340) -> dict:
    """Accuracy of each net against training steps."""
    layout = base_layout(title or METRIC_TITLES.get(metric, f"(a) {metric} accuracy"),
                         N_("training step"), N_("accuracy (fraction correct)"), height)
    layout["yaxis"]["range"] = [0, 1.02]
    layout["xaxis"].update(step_ticks())
    return figure(accuracy_traces(nets, metric), layout)


def band_traces(view, layer: int, pooled: bool, color: str, name: str) -> list[dict]:
    """The 15/50/85th (or configured) percentile band of one net as three lines and a fill."""
    pr = view.probes
    if "unit_pct" not in pr or len(pr["step"]) == 0:
        return []
    pct = pr["pooled_pct" if pooled else "unit_pct"][:, layer, :]
    steps = steps32(pr["step"])
    lo, mid, hi = f32(pct[:, 0]), f32(pct[:, pct.shape[1] // 2]), f32(pct[:, -1])
    return [
        {"type": "scatter", "x": steps, "y": lo, "mode": "lines",
         "line": {"color": color, "width": 1.5}, "name": f"{name} low", "legendgroup": name,
         "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": steps, "y": hi, "mode": "lines",
         "line": {"color": color, "width": 1.5}, "fill": "tonexty", "fillcolor": color + "33",
         "name": f"{name} band", "legendgroup": name, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": steps, "y": mid, "mode": "lines",
         "line": {"color": color, "width": 3}, "name": name, "legendgroup": name},
    ]


def band_limit(nets, names, layer, pooled, activation) -> float:
    """Half the y range of the band panels: the largest percentile shown, at least past the
    saturation threshold (so the shaded zones show), at most 30."""
    values = [np.abs(nets[n].probes["pooled_pct" if pooled else "unit_pct"][:, layer, :]).max()
              for n in names if len(nets[n].probes.get("step", ())) > 0]
    top = max(values) if values else 1.0
    top = max(top * 1.1, SATURATION_THRESHOLD.get(activation, 1.0) + 1.0)
    return round(float(min(top, 30.0)), 3)


def percentile_band_figure(nets: dict, layer: int, activation: str, percentiles,
                           pooled: bool = False, unit: int = 0, shared_y: bool = True,
                           height: int = 360) -> dict:
    """Figure 1 (b, c): one panel per net, the percentile band of the nonlinearity's input."""
    names = [n for n in nets if len(nets[n].probes.get("step", ())) > 0] or list(nets)
    what = _("all units pooled") if pooled else _("unit {unit}").format(unit=unit)
    q = "/".join(f"{p:g}" for p in percentiles)
    layout = base_layout(_("{percentiles}th percentiles of the {activation} input, layer {layer}, "
                           "{what}").format(percentiles=q, activation=activation,
                                            layer=layer + 1, what=what),
                         height=height, hovermode="closest")
    # 0.1 apart: at 0.06 the left panel's last step tick ("3,000") ran into the next one's "0"
    cells = subplot_grid(layout, 1, max(1, len(names)), h_spacing=0.1, shared_y=shared_y,
                         titles=[f"({chr(98 + i)}) {net_label(n)}" for i, n in enumerate(names)],
                         x_title=N_("training step"), y_title=N_("input to the nonlinearity"))[0]
    data, shapes = [], []
    for cell, name in zip(cells, names):
        data += [on(t, cell) for t in band_traces(nets[name], layer, pooled, NET_COLORS[name],
                                                  net_label(name))]
        shapes += sigmoid_zone_shapes(activation, x_ref=cell["x"], y_ref=cell["y"])
    layout["shapes"] = shapes
    lim = band_limit(nets, names, layer, pooled, activation)
    update_axes(layout, "y", range=[-lim, lim])
    update_axes(layout, "x", **step_ticks())
    return figure(data, layout)


def figure1(nets: dict, layer: int, activation: str, percentiles, unit: int,
            title: str = "") -> dict:
    """The whole Figure 1 in one figure: accuracy, then one band panel per net."""
    names = list(nets)
    q = "/".join(f"{p:g}" for p in percentiles)
    layout = base_layout(title or _("Figure 1 reproduced: layer {layer}, unit {unit}").format(
                             layer=layer + 1, unit=unit),
                         height=420, hovermode="closest", width=1400)
    cells = subplot_grid(layout, 1, 1 + len(names), h_spacing=0.06,
                         titles=[N_("(a) held-out accuracy")] +
                         [_("({panel}) {net}: {percentiles}th percentiles").format(
                             panel=chr(98 + i), net=net_label(n), percentiles=q)
                          for i, n in enumerate(names)], x_title=N_("training step"))[0]
    data = [on(t, cells[0]) for t in accuracy_traces(nets)]
    shapes = []
    for cell, name in zip(cells[1:], names):
        data += [on(t, cell) for t in band_traces(nets[name], layer, False, NET_COLORS[name],
                                                  net_label(name))]
        shapes += sigmoid_zone_shapes(activation, x_ref=cell["x"], y_ref=cell["y"])
    layout["shapes"] = shapes
    lim = band_limit(nets, names, layer, False, activation)
    layout["yaxis"].update(axis(N_("accuracy"), range=[0, 1.02]))
    for cell in cells[1:]:
        layout[layout_key(cell["y"])].update(axis(_("{activation} input").format(
            activation=activation), range=[-lim, lim]))
    update_axes(layout, "x", **step_ticks())
    return figure(data, layout)
