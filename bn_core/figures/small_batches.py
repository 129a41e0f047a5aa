"""Charts of "BN, LayerNorm and GroupNorm at tiny batches": held-out accuracy against the batch
size (finished runs filled, runs still training hollow at their latest value), the noise of
batch statistics against the batch size, BN's accuracy in eval and in training mode, and one
run's accuracy curves. Plain figure dicts from sweep points, snapshots or a StatisticsNoise."""
from __future__ import annotations

import math

import numpy as np

from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.style import (BAR_LINE, GUIDE, NET_COLORS, NET_DASH, base_layout, empty_note,
                                   f32, figure, hline, layout_key, log_axis, net_label, on,
                                   step_ticks, subplot_grid, update_axes)
from bn_core.i18n import N_, _
from bn_core.lessons.small_batches import SWEEP_NETS, StatisticsNoise, SweepPoint

NOISE_COLOR = "#0072B2"
TRUE_LINE = {"color": "#222222", "width": 2, "dash": "longdash"}
TRAIN_MODE_COLOR = "#D55E00"


def _batch_axis(sizes) -> dict:
    """A log-2 batch-size axis with a tick at every size of the sweep."""
    sizes = sorted(int(s) for s in sizes) or [2, 128]
    return {"type": "log", "tickmode": "array", "tickvals": [float(s) for s in sizes],
            "ticktext": [str(s) for s in sizes],
            "range": [math.log10(sizes[0]) - 0.08, math.log10(sizes[-1]) + 0.08]}


def sweep_accuracy_chart(points: list[SweepPoint], sizes=None, height: int = 380) -> dict:
    """Held-out accuracy (eval mode) of each net against the batch size: a filled marker per
    finished run, a hollow one (the value so far) per run still training."""
    points = sorted(points, key=lambda p: p.batch_size)
    sizes = sizes or [p.batch_size for p in points]
    layout = base_layout(N_("Held-out accuracy by batch size (hollow: still training)"),
                         N_("batch size (images per batch, log scale)"), N_("held-out accuracy"),
                         height, hovermode="closest")
    data = []
    for name in SWEEP_NETS:
        done = [(p.batch_size, p.nets[name].heldout_acc) for p in points
                if p.finished and name in p.nets]
        going = [(p.batch_size, p.nets[name].heldout_acc) for p in points
                 if not p.finished and name in p.nets and math.isfinite(p.nets[name].heldout_acc)]
        color, label = NET_COLORS[name], net_label(name)
        if done:
            x, y = zip(*done)
            data.append({"type": "scatter", "x": np.array(x, np.int32), "y": f32(y),
                         "mode": "lines+markers", "name": label, "legendgroup": name,
                         "line": {"color": color, "dash": NET_DASH[name], "width": 3},
                         "marker": {"size": 10, "color": color},
                         "hovertemplate": _("{net}, batch %{{x}}: %{{y:.1%}}").format(
                             net=label) + "<extra></extra>"})
        if going:
            x, y = zip(*going)
            data.append({"type": "scatter", "x": np.array(x, np.int32), "y": f32(y),
                         "mode": "markers", "name": _("{net} (training)").format(net=label),
                         "legendgroup": name,
                         "showlegend": not done,
                         "marker": {"size": 10, "color": "white", "symbol": "circle",
                                    "line": {"color": color, "width": 2.5}},
                         "hovertemplate": _("{net}, batch %{{x}}, so far: %{{y:.1%}}").format(
                             net=label) + "<extra></extra>"})
    layout["xaxis"].update(_batch_axis(sizes))
    layout["yaxis"]["range"] = [0, 1.02]
    layout["shapes"] = [hline(0.1, {"color": GUIDE, "dash": "dot", "width": 1.5})]
    if not data:
        layout["annotations"] = [empty_note(N_("The runs are starting..."))]
    return figure(data, layout)


def statistics_noise_chart(noise: StatisticsNoise, height: int = 380) -> dict:
    """Two panels against the batch size: the batch mean's error (population standard
    deviations) and the batch variance over the population variance, 5th-95th percentiles of
    many batches with their median; the population value as a dashed line."""
    labels = [float(s) for s in noise.sizes]
    layout = base_layout(_("Batch statistics of unit {unit} of layer {layer}, over many "
                           "batches of each size").format(unit=noise.unit, layer=noise.layer + 1),
                         height=height + 40, hovermode="closest")
    cells = subplot_grid(layout, 1, 2, h_spacing=0.12,
                         titles=[N_("batch mean - true mean (in stds)"),
                                 N_("batch variance / true variance")],
                         x_title=N_("batch size"))[0]
    data = []
    for col, (cell, pct, truth) in enumerate(((cells[0], noise.mean_error, 0.0),
                                              (cells[1], noise.var_ratio, 1.0))):
        data += [
            on({"type": "scatter", "x": labels, "y": f32(pct[:, 0]), "mode": "lines",
                "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
                "legendgroup": "band"}, cell),
            on({"type": "scatter", "x": labels, "y": f32(pct[:, 2]), "mode": "lines",
                "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(0, 114, 178, 0.25)",
                "name": _("5th-95th percentile of batches"), "legendgroup": "band",
                "showlegend": col == 0, "hoverinfo": "skip"}, cell),
            on({"type": "scatter", "x": labels, "y": f32(pct[:, 1]), "mode": "lines+markers",
                "line": {"color": NOISE_COLOR, "width": 3}, "name": _("median batch"),
                "legendgroup": "median", "showlegend": col == 0,
                "hovertemplate": _("batch %{x}: %{y:.3g}") + "<extra></extra>"}, cell),
            on({"type": "scatter", "x": [labels[0], labels[-1]], "y": [truth, truth],
                "mode": "lines", "name": _("true value"), "legendgroup": "true",
                "showlegend": col == 0, "line": TRUE_LINE, "hoverinfo": "skip"}, cell),
        ]
    update_axes(layout, "x", **_batch_axis(noise.sizes))
    positive = noise.var_ratio[np.isfinite(noise.var_ratio) & (noise.var_ratio > 0)]
    layout[layout_key(cells[1]["y"])].update(log_axis(np.append(positive, 1.0)))
    return figure(data, layout)


def mode_gap_chart(points: list[SweepPoint], height: int = 360) -> dict:
    """For each finished run that recorded it (BN nets at batch 16 or less): BN's held-out
    accuracy in eval mode (running statistics) and in training mode (each batch of the run's
    size normalised with its own statistics)."""
    rows = [p for p in sorted(points, key=lambda p: p.batch_size)
            if p.finished and "bn" in p.nets and math.isfinite(p.nets["bn"].train_mode_acc)]
    layout = base_layout(N_("BN's held-out accuracy in its two modes"), N_("batch size"),
                         N_("held-out accuracy"), height, hovermode="closest", barmode="group",
                         bargap=0.25)
    if not rows:
        layout["annotations"] = [
            empty_note(N_("Waiting for the runs at batch 16 or less to finish"))]
        return figure([], layout)
    labels = [str(p.batch_size) for p in rows]
    data = [
        {"type": "bar", "x": labels, "y": f32([p.nets["bn"].heldout_acc for p in rows]),
         "name": _("eval mode (running statistics)"), "marker": {"color": NET_COLORS["bn"],
                                                              "line": BAR_LINE},
         "hovertemplate": _("batch %{x}, eval mode: %{y:.1%}") + "<extra></extra>"},
        {"type": "bar", "x": labels, "y": f32([p.nets["bn"].train_mode_acc for p in rows]),
         "name": _("training mode (batch statistics)"),
         "marker": {"color": TRAIN_MODE_COLOR, "line": BAR_LINE},
         "hovertemplate": _("batch %{x}, training mode: %{y:.1%}") + "<extra></extra>"},
    ]
    layout["xaxis"]["type"] = "category"
    layout["yaxis"]["range"] = [0, 1.02]
    return figure(data, layout)


def run_accuracy_chart(snap, height: int = 340) -> dict:
    """One run of the sweep: each net's held-out accuracy against its steps."""
    cfg = snap.config
    fig = accuracy_figure(snap.nets, "heldout_acc",
                          _("Batch {batch}: held-out accuracy ({steps:,} steps, lr {lr:g})").format(
                              batch=cfg.batch_size, steps=cfg.steps, lr=cfg.lr), height)
    fig["layout"]["xaxis"].update(step_ticks(snap.total_steps))
    return fig
