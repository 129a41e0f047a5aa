"""Charts of "A live convolutional net" (T12): the twins' held-out accuracy, each channel's
statistics over N, H and W during training (what the nonlinearity receives, per net), and the
feature maps of one held-out digit. Plain figure dicts from a snapshot."""
from __future__ import annotations

import numpy as np

from bn_core.figures.figure1_page import heldout_accuracy_chart
from bn_core.figures.style import (CIVIDIS, COLORBAR, base_layout, empty_note, f32, figure,
                                   layout_key, log_axis, net_label, on, step_ticks, steps32,
                                   subplot_grid, update_axes)
from bn_core.i18n import N_, _
from bn_core.lessons.conv_bn import EARLY_STEP, RELU_EARLY_STEP

# Eight channel colours (Okabe-Ito and two darker tones): readable on white and told apart.
CHANNEL_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
                  "#999999")
MAX_MAP_CHANNELS = 8


def channel_color(c: int) -> str:
    return CHANNEL_COLORS[c % len(CHANNEL_COLORS)]


def cnn_accuracy_chart(snap, height: int = 360) -> dict:
    """Held-out accuracy of both CNNs, the step the lesson quotes marked."""
    mark = EARLY_STEP if snap.config.activation == "sigmoid" else RELU_EARLY_STEP
    fig = heldout_accuracy_chart(snap, mark_step=mark, height=height)
    fig["layout"]["title"]["text"] = _("Held-out accuracy of the two convolutional nets")
    return fig


def _nets_with_channels(snap) -> list[str]:
    return [n for n in ("plain", "bn") if n in snap.nets
            and "pre_channel_mean" in snap.nets[n].probes
            and len(snap.nets[n].probes["step"])]


def channel_statistics_chart(snap, layer: int, height: int = 520) -> dict:
    """Per channel of conv layer `layer`, over training: the mean (top) and variance (bottom,
    log scale) over N, H, W of what the nonlinearity receives, one panel per net; the probed
    channel drawn thicker."""
    cfg = snap.config
    names = _nets_with_channels(snap)
    layout = base_layout(_("Each channel of conv layer {layer}: the {activation}'s input over "
                           "N, H, W").format(layer=layer + 1, activation=cfg.activation),
                         height=height, hovermode="closest")
    if not names:
        layout["annotations"] = [empty_note(N_("No probe recorded yet"))]
        return figure([], layout)
    grid = subplot_grid(layout, 2, len(names), h_spacing=0.08, v_spacing=0.16, shared_x=True,
                        shared_y="rows",
                        titles=[_("{net}: mean").format(net=net_label(n)) for n in names]
                        + [_("{net}: variance").format(net=net_label(n)) for n in names],
                        x_title=N_("training step"))
    data, variances = [], []
    for col, name in enumerate(names):
        pr = snap.nets[name].probes
        steps = steps32(pr["step"])
        means = np.asarray(pr["pre_channel_mean"][:, layer, :], np.float64)
        var = np.asarray(pr["pre_channel_var"][:, layer, :], np.float64)
        variances.append(var)
        for c in range(means.shape[1]):
            probed = c == cfg.probe_unit
            line = {"color": channel_color(c), "width": 3.5 if probed else 1.5}
            label = (_("channel {channel} (probed)") if probed else
                     _("channel {channel}")).format(channel=c)
            for row, values in ((0, means[:, c]), (1, var[:, c])):
                data.append(on({"type": "scatter", "x": steps, "y": f32(values), "mode": "lines",
                                "name": label, "legendgroup": f"c{c}", "line": line,
                                "showlegend": False,
                                "hovertemplate": _("{net}, {channel}, step {x}: {y}").format(
                                    net=net_label(name), channel=label, x="%{x}",
                                    y="%{y:.3g}") + "<extra></extra>"}, grid[row][col]))
    update_axes(layout, "x", **step_ticks(snap.total_steps))
    positive = np.concatenate([v.ravel() for v in variances])
    positive = positive[np.isfinite(positive) & (positive > 0)]
    for cell in grid[1]:
        layout[layout_key(cell["y"])].update(log_axis(positive))
    return figure(data, layout)


def feature_maps_chart(snap, layer: int, height_per_row: int = 150) -> dict:
    """The nonlinearity's output in conv layer `layer` for the first held-out digit at the
    latest probe: one row per net, one heatmap per channel (at most MAX_MAP_CHANNELS), the
    digit itself first."""
    cfg = snap.config
    names = [n for n in ("plain", "bn") if n in snap.nets
             and snap.nets[n].latest.get("maps") is not None
             and layer < len(snap.nets[n].latest["maps"])]
    layout = base_layout(_("Feature maps of conv layer {layer} for one held-out digit").format(
                             layer=layer + 1),
                         height=max(260, height_per_row * max(1, len(names)) + 110),
                         hovermode="closest", margin={"l": 20, "r": 20})
    if not names:
        layout["annotations"] = [empty_note(N_("No feature maps recorded yet"))]
        return figure([], layout)
    shown = min(MAX_MAP_CHANNELS, snap.nets[names[0]].latest["maps"][layer].shape[0])
    image = None
    if snap.data is not None and getattr(snap.data, "image_shape", None):
        image = np.asarray(snap.data.x_heldout[0], np.float32).reshape(snap.data.image_shape)
    cols = shown + (1 if image is not None else 0)
    titles = ([_("digit")] if image is not None else []) + [
        _("ch {channel}").format(channel=c) for c in range(shown)]
    grid = subplot_grid(layout, len(names), cols, h_spacing=0.012, v_spacing=0.12,
                        titles=titles + [""] * (cols * (len(names) - 1)))
    data = []
    values = []
    for r, name in enumerate(names):
        maps = np.asarray(snap.nets[name].latest["maps"][layer], np.float32)[:shown]
        values.append(maps)
        k = 0
        if image is not None:
            data.append(on({"type": "heatmap", "z": f32(image), "colorscale": "Greys",
                            "reversescale": False, "showscale": False, "name": _("digit"),
                            "hovertemplate": _("digit pixel {z}").format(z="%{z:.2f}")
                            + "<extra></extra>"},
                           grid[r][0]))
            k = 1
        for c in range(shown):
            data.append(on({"type": "heatmap", "z": f32(maps[c]), "coloraxis": "coloraxis",
                            "name": _("{net}, channel {channel}").format(net=net_label(name),
                                                                          channel=c),
                            "hovertemplate": _("{net}, channel {channel}: {z}").format(
                                net=net_label(name), channel=c, z="%{z:.2f}")
                            + "<extra></extra>"}, grid[r][k + c]))
        layout[layout_key(grid[r][0]["y"])]["title"] = {"text": net_label(name)}
    update_axes(layout, "x", showticklabels=False, showgrid=False, zeroline=False)
    update_axes(layout, "y", showticklabels=False, showgrid=False, zeroline=False,
                autorange="reversed")
    top = float(max(v.max() for v in values)) if values else 1.0
    lo = 0.0 if cfg.activation in ("sigmoid", "relu") else float(min(v.min() for v in values))
    hi = 1.0 if cfg.activation == "sigmoid" else max(top, lo + 1e-6)
    layout["coloraxis"] = {"colorscale": CIVIDIS, "cmin": lo, "cmax": hi,
                           "colorbar": {**COLORBAR, "title": {"text": cfg.activation}}}
    return figure(data, layout)
