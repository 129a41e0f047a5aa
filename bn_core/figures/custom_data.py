"""Charts of "Your own data": each net's decision regions over the student's points (classes by
their own names, training points filled, held-out points as crosses), the nets' accuracy, and
the drawing canvas. Plain figure dicts."""
from __future__ import annotations

import numpy as np

from bn_core.data import custom
from bn_core.figures.boundaries import CLASS_COLORS, POINT_EDGE, boundary_traces
from bn_core.figures.figure1 import accuracy_figure
from bn_core.figures.style import (GRID_COLOR, base_layout, figure, net_label, on, step_ticks,
                                   subplot_grid, update_axes)
from bn_core.i18n import N_, _
from bn_core.lessons.custom_data import CANVAS_RANGE, canvas_grid

MAX_POINTS_DRAWN = 2000


def class_names(dataset: str, n_classes: int) -> tuple:
    points = custom.STORE.get(dataset) if custom.is_custom(dataset) else None
    return points.classes if points is not None else tuple(str(k) for k in range(n_classes))


def _points(x, y, names, label: str, symbol: str, showlegend: bool) -> list[dict]:
    traces = []
    for k, name in enumerate(names):
        pts = np.asarray(x[y == k][:MAX_POINTS_DRAWN], np.float32)
        traces.append({"type": "scatter", "x": np.ascontiguousarray(pts[:, 0]),
                       "y": np.ascontiguousarray(pts[:, 1]), "mode": "markers",
                       "name": _("{name} ({label})").format(name=name, label=_(label)),
                       "legendgroup": f"{label}{k}",
                       "showlegend": showlegend,
                       "marker": {"color": CLASS_COLORS[k % len(CLASS_COLORS)], "symbol": symbol,
                                  "size": 7 if symbol == "circle" else 8,
                                  "line": {"width": 1, "color": POINT_EDGE}}})
    return traces


def custom_boundary_chart(snap, height: int = 400) -> dict:
    """One panel per net: its decision regions at the snapshot's step, with the data."""
    data = snap.data
    names = list(snap.nets) or list(snap.config.nets)
    layout = base_layout(_("Decision regions at step {step:,}").format(step=snap.step),
                         height=height,
                         hovermode="closest",
                         legend={"font": {"size": 12}})
    cells = subplot_grid(layout, 1, len(names), h_spacing=0.05, shared_y=True,
                         titles=[net_label(n) for n in names], x_title="x1", y_title="x2")[0]
    traces = []
    classes = class_names(snap.config.dataset, data.n_classes if data is not None else 2)
    for i, (cell, name) in enumerate(zip(cells, names)):
        view = snap.nets.get(name)
        grid = None if view is None else view.latest.get("grid")
        if grid is not None and snap.viewport is not None and data is not None:
            traces += [on(t, cell) for t in boundary_traces(grid, snap.viewport, data.n_classes)]
        if data is not None:
            traces += [on(t, cell) for t in _points(data.x_train, data.y_train, classes,
                                                    N_("trained on"), "circle", i == 0)]
            traces += [on(t, cell) for t in _points(data.x_heldout, data.y_heldout, classes,
                                                    N_("held out"), "x", i == 0)]
    if snap.viewport is not None:
        xmin, xmax, ymin, ymax = (float(v) for v in snap.viewport)
        update_axes(layout, "x", range=[xmin, xmax])
        update_axes(layout, "y", range=[ymin, ymax])
    return figure(traces, layout)


def custom_accuracy_chart(snap, height: int = 320) -> dict:
    fig = accuracy_figure(snap.nets, "heldout_acc", N_("Held-out accuracy of both nets "
                                                       "(points never trained on)"), height)
    fig["layout"]["xaxis"].update(step_ticks(snap.total_steps))
    return fig


def canvas_chart(draft: list, classes: tuple, height: int = 420) -> dict:
    """The drawing canvas: the points drawn so far, by class, over a faint grid of the spots a
    click lands on (the grid points are what the click selects)."""
    grid = canvas_grid().astype(np.float32)
    lo, hi = CANVAS_RANGE
    layout = base_layout(N_("Click to add a point of the chosen class"), "x1", "x2", height,
                         hovermode="closest", clickmode="event+select", dragmode=False)
    data = [{"type": "scatter", "x": np.ascontiguousarray(grid[:, 0]),
             "y": np.ascontiguousarray(grid[:, 1]), "mode": "markers", "name": "grid",
             "showlegend": False,
             "hovertemplate": "(%{x}, %{y})<extra>" + _("click to add") + "</extra>",
             "marker": {"size": 11, "color": "rgba(120, 120, 120, 0.08)"},
             "selected": {"marker": {"opacity": 1}}, "unselected": {"marker": {"opacity": 1}}}]
    for k, name in enumerate(classes):
        pts = [(p[0], p[1]) for p in draft if p[2] == name]
        if not pts:
            continue
        xy = np.array(pts, np.float32)
        data.append({"type": "scatter", "x": np.ascontiguousarray(xy[:, 0]),
                     "y": np.ascontiguousarray(xy[:, 1]), "mode": "markers",
                     "name": _("class {name} ({count})").format(name=name, count=len(pts)),
                     "hoverinfo": "skip",
                     "marker": {"size": 11, "color": CLASS_COLORS[k % len(CLASS_COLORS)],
                                "line": {"width": 1, "color": POINT_EDGE}}})
    pad = 0.2
    update_axes(layout, "x", range=[lo - pad, hi + pad], gridcolor=GRID_COLOR, dtick=1)
    update_axes(layout, "y", range=[lo - pad, hi + pad], gridcolor=GRID_COLOR, dtick=1,
                scaleanchor="x")
    return figure(data, layout)
