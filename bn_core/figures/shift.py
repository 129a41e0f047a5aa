"""Charts of the covariate-shift lesson: training vs shifted-test accuracy and the accuracy of
the current boundary as the test data drifts (T1); the initial first-layer boundaries over data
far from the origin, and training accuracy with and without whitening (T2). Plain figure
dicts (see `style`)."""
from __future__ import annotations

import numpy as np

from bn_core.lessons.covariate_shift import (SHIFT_FRACTIONS, WHITENING_NAMES,  # noqa: F401
                                             first_layer_lines, shift_sweep, steps_to_accuracy,
                                             units_cutting_data, whitening_name)
from bn_core.i18n import N_, _
from bn_core.figures.boundaries import boundary_traces, point_traces, region_panels
from bn_core.figures.style import (GUIDE, INK, NET_COLORS, base_layout, f32, figure, hline,
                                   layout_key, net_label, note, on, step_ticks, steps32,
                                   subplot_grid)

WHITENING_DASH = {"none": "dot"}  # whitened runs are drawn solid
MAX_LINES = 16  # first-layer units drawn per panel


def _chance(layout: dict, n_classes: int) -> None:
    """The chance level: a dashed line and its label."""
    chance = 1.0 / n_classes
    layout.setdefault("shapes", []).append(hline(chance, {"color": GUIDE, "dash": "dash",
                                                          "width": 1}))
    layout.setdefault("annotations", []).append(
        note(_("chance"), 1.0, chance, "x domain", "y", xanchor="right", yanchor="top",
             font={"color": GUIDE}))


# ---------------------------------------------------------------------------- T1

LEGEND = {"font": {"size": 13}}


def decision_regions_chart(snap, show_test: bool = True, height: int = 500) -> dict:
    """One panel per net: its decision regions now, the training points (circles) and, if
    `show_test`, the shifted test points (crosses), coloured by class; legend below."""
    names = list(snap.nets) or list(snap.config.nets)
    panels = [(_("{net} net, step {step:,}").format(
                   net=net_label(n), step=snap.nets[n].step if n in snap.nets else 0),
               snap.nets[n].latest.get("grid") if n in snap.nets else None) for n in names]
    layout = base_layout(N_("Decision regions (shaded by predicted class; the solid line is "
                            "the boundary)"), height=height, hovermode="closest", legend=dict(LEGEND))
    traces = region_panels(layout, panels, snap.data, snap.viewport, show_test, 300,
                           x_title="x1 (data units)", y_title="x2 (data units)")
    return figure(traces, layout)


def train_test_accuracy_chart(snap, height: int = 420) -> dict:
    """Each net's accuracy on its training data (solid) and on the shifted test data (dotted)."""
    data = []
    for name, view in snap.nets.items():
        ev = view.evals
        if len(ev.get("step", ())) == 0:
            continue
        for metric, what, dash in (("train_acc", N_("{net}: training data"), "solid"),
                                   ("test_acc", N_("{net}: shifted test data"), "dot")):
            data.append({"type": "scatter", "x": steps32(ev["step"]), "y": f32(ev[metric]),
                         "mode": "lines", "name": _(what).format(net=net_label(name)),
                         "line": {"color": NET_COLORS[name], "dash": dash, "width": 3}})
    layout = base_layout(N_("Accuracy on the training data vs on the shifted test data"),
                         "training step", "accuracy (fraction correct)", height,
                         legend=dict(LEGEND))
    if snap.data is not None:
        _chance(layout, snap.data.n_classes)
    layout["yaxis"]["range"] = [0, 1.02]
    layout["xaxis"].update(step_ticks(snap.total_steps))
    return figure(data, layout)


def shift_sweep_chart(snap, fractions=SHIFT_FRACTIONS, height: int = 360) -> dict:
    """Accuracy of each net's current boundary on the test data moved by 0 %, 10 %, ... 100 %
    of the chosen shift (read off the decision grid)."""
    cfg, data_set = snap.config, snap.data
    pct = f32(np.asarray(fractions) * 100)
    data = []
    for name, view in snap.nets.items():
        grid = view.latest.get("grid")
        if grid is None or data_set is None or snap.viewport is None:
            continue
        acc = shift_sweep(data_set, cfg, grid, snap.viewport, fractions)
        data.append({"type": "scatter", "x": pct, "y": f32(acc), "mode": "lines+markers",
                     "name": net_label(name), "line": {"color": NET_COLORS[name], "width": 3},
                     "marker": {"size": 8}})
    layout = base_layout(_("The boundary of step {step:,} on test data shifted part of the "
                           "way").format(step=snap.step),
                         N_("share of your shift applied to the test data (%)"),
                         N_("test accuracy (fraction correct)"), height)
    if data_set is not None:
        _chance(layout, data_set.n_classes)
    layout["yaxis"]["range"] = [0, 1.02]
    layout["xaxis"]["range"] = [-3, 103]
    return figure(data, layout)


# ---------------------------------------------------------------------------- T2

def _span_with_origin(snap, lines_anchor) -> tuple[float, float, float, float]:
    """A square-ish view holding the data's viewport, the origin and the lines' anchor."""
    xmin, xmax, ymin, ymax = snap.viewport
    xs = [xmin, xmax, 0.0, float(lines_anchor[0])]
    ys = [ymin, ymax, 0.0, float(lines_anchor[1])]
    lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
    pad = 0.08 * max(hi_x - lo_x, hi_y - lo_y, 1.0)
    return (round(float(lo_x - pad), 4), round(float(hi_x + pad), 4),
            round(float(lo_y - pad), 4), round(float(hi_y + pad), 4))


def initial_boundaries_chart(snaps: list, net: str = "plain", height: int = 500) -> dict:
    """One panel per run: the net's decision regions at initialisation over the training data,
    the first hidden layer's lines (bias 0) and the origin, on axes that include the origin."""
    titles = []
    for snap in snaps:
        title = whitening_name(snap.config.whitening)
        if snap.data is not None and snap.viewport is not None:
            lines = first_layer_lines(snap.config, snap.data.whitener, snap.data.n_classes)
            cuts = units_cutting_data(lines, snap.data.x_train)
            title = _("{method}: {cut} of {units} lines cut the data").format(
                method=title, cut=int(cuts.sum()), units=len(cuts))
        titles.append(title)
    layout = base_layout(_("At initialisation: the {net} net's boundaries and its first {n} "
                           "hidden units' lines").format(net=net_label(net), n=MAX_LINES),
                         height=height,
                         hovermode="closest", legend=dict(LEGEND))
    cells = subplot_grid(layout, 1, max(1, len(snaps)), h_spacing=0.08, titles=titles,
                         x_title="x1 (data units)", y_title="x2 (data units)")[0]
    data = []
    for i, (cell, snap) in enumerate(zip(cells, snaps)):
        data_set, view = snap.data, snap.nets.get(net)
        if data_set is None or snap.viewport is None:
            continue
        lines = first_layer_lines(snap.config, data_set.whitener, data_set.n_classes)
        box = _span_with_origin(snap, lines.anchor)
        if view is not None and view.initial_grid is not None:
            data += [on(t, cell) for t in boundary_traces(view.initial_grid, snap.viewport,
                                                          data_set.n_classes)]
        shown = min(MAX_LINES, len(lines.normals))
        part = type(lines)(lines.normals[:shown], lines.anchor)
        lx, ly = part.segments(4.0 * max(box[1] - box[0], box[3] - box[2]))
        data.append(on({"type": "scatter", "x": lx, "y": ly, "mode": "lines",
                        "name": _("first-layer unit lines at init"), "legendgroup": "lines",
                        "showlegend": i == 0, "hoverinfo": "skip",
                        "line": {"color": "#555555", "width": 1.2}}, cell))
        for t in point_traces(data_set, show_test=False):
            t["showlegend"] = i == 0
            data.append(on(t, cell))
        data.append(on({"type": "scatter", "x": [0.0], "y": [0.0], "mode": "markers",
                        "name": _("origin (0, 0)"), "legendgroup": "origin", "showlegend": i == 0,
                        "hoverinfo": "skip",
                        "marker": {"symbol": "x-thin", "size": 14, "color": "#000000",
                                   "line": {"width": 3, "color": "#000000"}}}, cell))
        layout[layout_key(cell["x"])]["range"] = [box[0], box[1]]
        layout[layout_key(cell["y"])]["range"] = [box[2], box[3]]
    return figure(data, layout)


def whitening_accuracy_chart(snaps: list, target: float, height: int = 440) -> dict:
    """Training accuracy of every net of every run (colour = net, dotted = not whitened), the
    target accuracy, and a marker where each first reached it."""
    data = []
    for snap in snaps:
        method = snap.config.whitening
        dash = WHITENING_DASH.get(method, "solid")
        for name, view in snap.nets.items():
            ev = view.evals
            if len(ev.get("step", ())) == 0:
                continue
            label = _("{net}, {method}").format(net=net_label(name), method=whitening_name(method))
            data.append({"type": "scatter", "x": steps32(ev["step"]), "y": f32(ev["train_acc"]),
                         "mode": "lines", "name": label, "legendgroup": label,
                         "line": {"color": NET_COLORS[name], "dash": dash, "width": 3}})
            hit = steps_to_accuracy(ev["step"], ev["train_acc"], target)
            if hit is not None:
                data.append({"type": "scatter", "x": [int(hit)], "y": [float(target)],
                             "mode": "markers", "name": label, "legendgroup": label,
                             "showlegend": False,
                             "hovertemplate": _("{label}: step {step:,}").format(
                                 label=label, step=hit) + "<extra></extra>",
                             "marker": {"color": NET_COLORS[name], "size": 12,
                                        "symbol": "diamond",
                                        "line": {"width": 1.5, "color": INK}}})
    end = max((s.total_steps for s in snaps), default=1)
    data.append({"type": "scatter", "x": [0, int(end)], "y": [float(target)] * 2,
                 "mode": "lines",
                 "name": _("target {target:.0%} (diamond: first reached)").format(target=target),
                 "hoverinfo": "skip", "line": {"color": "#444444", "dash": "dash", "width": 1.5}})
    layout = base_layout(N_("Training accuracy: whitened (solid) vs not whitened (dotted)"),
                         "training step", "training accuracy (fraction correct)", height,
                         legend=dict(LEGEND))
    layout["yaxis"]["range"] = [0, 1.02]
    layout["xaxis"].update(step_ticks(end if snaps else None))
    return figure(data, layout)


def current_boundaries_chart(snaps: list, height: int = 620) -> dict:
    """Rows = runs (not whitened, whitened), columns = nets: the decision regions now."""
    names = list(snaps[0].nets) if snaps and snaps[0].nets else ["plain", "bn"]
    titles = [_("{net}, {method}, step {step:,}").format(
                  net=net_label(n), method=whitening_name(s.config.whitening), step=s.step)
              for s in snaps for n in names]
    layout = base_layout(N_("Decision regions now (shaded by predicted class; the solid line is "
                            "the boundary)"), height=height, hovermode="closest", showlegend=False)
    grid = subplot_grid(layout, max(1, len(snaps)), len(names), h_spacing=0.08,
                        v_spacing=0.18, titles=titles, x_title="x1 (data units)",
                        y_title="x2 (data units)")
    data = []
    for r, snap in enumerate(snaps):
        data_set = snap.data
        for c, name in enumerate(names):
            cell, view = grid[r][c], snap.nets.get(name)
            grid_ = None if view is None else view.latest.get("grid")
            if grid_ is not None and snap.viewport is not None:
                data += [on(t, cell) for t in boundary_traces(grid_, snap.viewport,
                                                              data_set.n_classes)]
            if data_set is not None:
                for t in point_traces(data_set, show_test=False, max_points=300):
                    t["showlegend"] = False
                    data.append(on(t, cell))
            if snap.viewport is not None:
                xmin, xmax, ymin, ymax = (float(v) for v in snap.viewport)
                layout[layout_key(cell["x"])]["range"] = [xmin, xmax]
                layout[layout_key(cell["y"])]["range"] = [ymin, ymax]
    return figure(data, layout)
