"""Internal covariate shift made visible (T3, T6): how each hidden layer's input distribution
moves during training, and what BN normalises.

Builders take a RunSnapshot first (so pages can cache them per step with `ui.chart`) and return
plain figure dicts. Histograms are drawn from the counts the run recorded on fixed edges, never
from samples; heatmaps carry uint8 levels (log10 of each bin's share, quantised) to keep
payloads small.
"""
from __future__ import annotations

import numpy as np

from bn_core.i18n import N_, _
from bn_core.lessons.distributions import (LOG_DENSITY_FLOOR, bin_centres, evenly_spaced,
                                           fractions, log_density)
from bn_core.nets.zones import SATURATION_THRESHOLD
from bn_core.figures.style import (BAR_LINE, COLORBAR, NET_COLORS, base_layout, empty_note, f32,
                                   figure, hline, layout_key, legend_line, log_axis, net_label,
                                   on, step_ticks, steps32, subplot_grid, update_axes)

MAX_HEATMAP_COLUMNS = 150   # probe steps drawn per heatmap (evenly thinned beyond that)
LEVELS = 250                # uint8 levels of the heatmap colour
DARK = "#1a1a1a"
PERCENTILE_LINE = "#444444"
SATURATION_LINE = {"color": "#D55E00", "dash": "dash", "width": 1.5}
START_LINE = "#555555"


def _probed(nets: dict) -> list[str]:
    return [n for n, v in nets.items() if len(v.probes.get("step", ())) > 0]


def _net_scale(name: str) -> list:
    """White -> the net's colour: stronger colour means more of the values."""
    return [[0.0, "#ffffff"], [0.02, "#f2f2f2"], [1.0, NET_COLORS[name]]]


def _levels(counts: np.ndarray) -> np.ndarray:
    """Quantised log10 share of each bin: 0 = empty (or below 0.01 %), LEVELS = all values."""
    q = (log_density(counts) - LOG_DENSITY_FLOOR) / -LOG_DENSITY_FLOOR * LEVELS
    return np.round(q).astype(np.uint8)


def _colorbar(x: float) -> dict:
    ticks = np.arange(LOG_DENSITY_FLOOR, 0.5, 1.0)
    return {**COLORBAR, "title": {"text": _("share of<br>values"), "side": "top"}, "x": x,
            "len": 0.9,
            "tickvals": [round(float(v), 3) for v in
                         (ticks - LOG_DENSITY_FLOOR) / -LOG_DENSITY_FLOOR * LEVELS],
            "ticktext": [f"{10 ** t * 100:g}%" for t in ticks]}


def _waiting(title: str, x_title: str, y_title: str, height: int, text: str) -> dict:
    layout = base_layout(title, x_title, y_title, height, annotations=[empty_note(text)])
    return figure([], layout)


def input_histogram_heatmaps(snap, layer: int, height: int = 420) -> dict:
    """Per net, a step-by-value heatmap of the distribution of one hidden layer's
    nonlinearity input over training, with the pooled percentile lines drawn over it."""
    cfg = snap.config
    names = _probed(snap.nets)
    title = _("Layer {layer}: distribution of the {activation} input over training").format(
        layer=layer + 1, activation=cfg.activation)
    if not names or snap.edges is None:
        return _waiting(title, N_("training step"), N_("input to the nonlinearity"), height,
                        N_("waiting for the first probe..."))
    layout = base_layout(title, height=height + 30, hovermode="closest", margin={"r": 90})
    cells = subplot_grid(layout, 1, len(names), h_spacing=0.06, shared_y=True,
                         titles=[net_label(n) for n in names], x_title=N_("training step"),
                         y_title=N_("input to the nonlinearity"))[0]
    centres = f32(bin_centres(snap.edges))
    qs = cfg.percentiles
    data = []
    for i, (cell, name) in enumerate(zip(cells, names)):
        pr = snap.nets[name].probes
        keep = evenly_spaced(len(pr["step"]), MAX_HEATMAP_COLUMNS)
        steps = steps32(pr["step"][keep])
        z = np.ascontiguousarray(_levels(pr["hist"][keep, layer, :]).T)  # (bins, steps)
        last = i == len(names) - 1  # one colour bar: the levels mean the same in every panel
        heat = {"type": "heatmap", "x": steps, "y": centres, "z": z, "zmin": 0, "zmax": LEVELS,
                "colorscale": _net_scale(name), "showscale": last, "name": net_label(name),
                "hovertemplate": _("step %{x}<br>input %{y:.2f}") + "<extra>" + net_label(name)
                                 + "</extra>"}
        if last:
            heat["colorbar"] = _colorbar(1.02)
        data.append(on(heat, cell))
        pct = pr["pooled_pct"][keep, layer, :]
        lines = ((0, "dot", 1.5, PERCENTILE_LINE,
                  _("{lo:g}th / {hi:g}th percentile (all units)").format(lo=qs[0], hi=qs[-1])),
                 (len(qs) // 2, "solid", 2.5, DARK, _("median (all units)")),
                 (len(qs) - 1, "dot", 1.5, PERCENTILE_LINE, None))
        for col, dash, width, color, legend in lines:
            trace = {"type": "scatter", "x": steps, "y": f32(pct[:, col]), "mode": "lines",
                     "line": {"color": color, "dash": dash, "width": width},
                     "legendgroup": dash, "showlegend": i == 0 and legend is not None,
                     "hovertemplate": _("{q:g}th percentile %{{y:.2f}}").format(q=qs[col])
                                      + "<extra></extra>"}
            if legend:
                trace["name"] = legend
            data.append(on(trace, cell))
    sat = SATURATION_THRESHOLD.get(cfg.activation)
    if sat is not None:
        layout["shapes"] = [hline(y, SATURATION_LINE, cell["x"], cell["y"])
                            for cell in cells for y in (sat, -sat)]
        data.append(on(legend_line(_("|input| = {threshold:g}: saturation begins").format(
            threshold=sat), SATURATION_LINE), cells[0]))
    update_axes(layout, "y", range=[float(snap.edges[0]), float(snap.edges[-1])])
    update_axes(layout, "x", **step_ticks())
    return figure(data, layout)


def moment_drift_figure(snap, layers: list[int], height: int = 440) -> dict:
    """Mean (top) and variance (bottom, log scale) of each shown layer's nonlinearity input,
    pooled over units and probe examples, against training steps; one line per net."""
    names = _probed(snap.nets)
    title = N_("Mean and variance of each layer's nonlinearity input")
    if not names:
        return _waiting(title, N_("training step"), N_("mean"), height,
                        N_("waiting for the first probe..."))
    layout = base_layout(title, height=height + 30, hovermode="closest")
    grid = subplot_grid(layout, 2, len(layers), h_spacing=0.06, v_spacing=0.12, shared_x=True,
                        shared_y="rows",
                        titles=[_("layer {layer}").format(layer=l + 1) for l in layers],
                        x_title=N_("training step"))
    data, variances = [], []
    for name in names:
        pr, view = snap.nets[name].probes, snap.nets[name]
        label = net_label(name) + (_(" (diverged at step {step})").format(step=view.diverged_at)
                                   if view.status == "diverged" else "")
        for c, layer in enumerate(layers):
            for r, what, word in ((0, "mean", _("mean")), (1, "var", _("var"))):
                values = f32(pr[what][:, layer])
                if what == "var":
                    variances.append(values)
                data.append(on({
                    "type": "scatter", "x": steps32(pr["step"]), "y": values, "mode": "lines",
                    "name": label, "line": {"color": NET_COLORS[name], "width": 2.5},
                    "legendgroup": name, "showlegend": c == 0 and r == 0,
                    "hovertemplate": _("{net}, layer {layer}: {what} %{{y:.3g}}").format(
                        net=label, layer=layer + 1, what=word) + "<extra></extra>"},
                    grid[r][c]))
    layout["yaxis"]["title"] = {"text": _("mean")}
    bottom = [grid[1][c]["y"] for c in range(len(layers))]
    ticks = log_axis(np.concatenate(variances) if variances else [])
    for y in bottom:
        layout[layout_key(y)].update(ticks)
    layout[layout_key(bottom[0])]["title"] = {"text": _("variance (log scale)")}
    update_axes(layout, "x", **step_ticks())
    return figure(data, layout)


def bn_input_figure(snap, layers: list[int], height: int = 360) -> dict:
    """What BN normalises in each shown layer of the BN net(s): its input's histogram now
    (bars) and at step 0 (grey line). Before the activation it is the linear output; after a
    ReLU, every negative input became exactly 0."""
    cfg = snap.config
    names = [n for n in _probed(snap.nets) if "bn_hist" in snap.nets[n].probes
             and n.endswith("bn")]
    if cfg.placement == "before":
        title = _("What BN sees: the linear output it normalises (BN before the "
                  "{activation})").format(activation=cfg.activation)
    else:
        title = _("What BN sees: the {activation} output it normalises (BN after the "
                  "{activation})").format(activation=cfg.activation)
    if not names or snap.bn_edges is None:
        return _waiting(title, N_("value BN receives"), N_("share of values (%)"), height,
                        N_("waiting for the first probe of a BN net..."))
    layout = base_layout(title, height=height + 30, hovermode="closest", bargap=0,
                         barmode="overlay")
    cells = subplot_grid(layout, 1, len(layers), h_spacing=0.04, shared_y=True,
                         titles=[_("layer {layer}").format(layer=l + 1) for l in layers],
                         x_title=N_("value BN receives"), y_title=N_("share of values (%)"))[0]
    centres = f32(bin_centres(snap.bn_edges))
    width = float(snap.bn_edges[1] - snap.bn_edges[0])
    data = []
    for name in names:
        pr = snap.nets[name].probes
        step_now = int(pr["step"][-1])
        for c, (cell, layer) in enumerate(zip(cells, layers)):
            now = f32(fractions(pr["bn_hist"][-1, layer]) * 100)
            data.append(on({"type": "bar", "x": centres, "y": now, "width": width,
                            "marker": {"color": NET_COLORS[name], "line": dict(BAR_LINE)},
                            "name": _("{net}, step {step:,}").format(net=net_label(name),
                                                                      step=step_now),
                            "legendgroup": name, "showlegend": c == 0,
                            "hovertemplate": _("value %{x:.2f}: %{y:.1f}%") + "<extra></extra>"},
                           cell))
            if len(names) == 1:
                start = f32(fractions(pr["bn_hist"][0, layer]) * 100)
                data.append(on({"type": "scatter", "x": centres, "y": start, "mode": "lines",
                                "line": {"color": START_LINE, "width": 1.5, "shape": "hvh"},
                                "name": _("step 0"), "legendgroup": "start",
                                "showlegend": c == 0,
                                "hovertemplate": _("step 0, value %{x:.2f}: %{y:.1f}%")
                                                 + "<extra></extra>"}, cell))
    return figure(data, layout)
