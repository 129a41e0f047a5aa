"""Charts of the covariate-shift lesson: training vs shifted-test accuracy and the accuracy of
the current boundary as the test data drifts (T1); the initial first-layer boundaries over data
far from the origin, and training accuracy with and without whitening (T2)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.lessons.covariate_shift import (SHIFT_FRACTIONS, first_layer_lines, shift_sweep,
                               steps_to_accuracy, units_cutting_data)
from bn_core.figures.boundaries import boundary_traces, point_traces
from bn_core.figures.style import NET_COLORS, base_layout, f32, net_label

WHITENING_NAMES = {"none": "not whitened", "standardize": "standardized",
                   "pca": "PCA-whitened", "zca": "ZCA-whitened"}
WHITENING_DASH = {"none": "dot"}  # whitened runs are drawn solid
MAX_LINES = 16  # first-layer units drawn per panel


def whitening_name(method: str) -> str:
    return WHITENING_NAMES.get(method, method)


def _chance_line(fig: go.Figure, n_classes: int) -> None:
    fig.add_hline(y=1.0 / n_classes, line={"color": "#888", "dash": "dash", "width": 1},
                  annotation_text="chance", annotation_position="bottom right")


# ---------------------------------------------------------------------------- T1

LEGEND_GAP_PX = 62  # from the bottom of the plot area to the legend: room for the axis title


def _legend_below(fig: go.Figure) -> None:
    """A horizontal legend under the x-axis title (long legends collide with the title above)."""
    top, bottom = 80, 125
    plot_height = max(fig.layout.height - top - bottom, 100)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "x": 0.0, "xanchor": "left",
                              "y": -LEGEND_GAP_PX / plot_height, "font": {"size": 13}},
                      margin={"l": 60, "r": 20, "t": top, "b": bottom})


def decision_regions_chart(snap, show_test: bool = True, height: int = 500) -> go.Figure:
    """One panel per net: its decision regions now, the training points (circles) and, if
    `show_test`, the shifted test points (crosses), coloured by class; legend below."""
    names = list(snap.nets) or list(snap.config.nets)
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"{net_label(n)} net, step "
                                        f"{snap.nets[n].step if n in snap.nets else 0:,}"
                                        for n in names])
    data = snap.data
    for i, name in enumerate(names):
        grid = snap.nets[name].latest.get("grid") if name in snap.nets else None
        if grid is not None and snap.viewport is not None:
            for tr in boundary_traces(grid, snap.viewport, data.n_classes):
                fig.add_trace(tr, row=1, col=i + 1)
        if data is not None:
            for tr in point_traces(data, show_test=show_test, max_points=300):
                tr.showlegend = i == 0
                fig.add_trace(tr, row=1, col=i + 1)
        fig.update_xaxes(title_text="x1 (data units)", row=1, col=i + 1)
    base_layout(fig, "Decision regions (shaded by predicted class, black line = boundary)",
                "x1 (data units)", "x2 (data units)", height)
    for c in range(2, len(names) + 1):
        fig.update_yaxes(title_text="", row=1, col=c)
    _legend_below(fig)
    fig.update_layout(hovermode="closest")
    if snap.viewport is not None:
        xmin, xmax, ymin, ymax = snap.viewport
        fig.update_xaxes(range=[xmin, xmax])
        fig.update_yaxes(range=[ymin, ymax])
    return fig


def train_test_accuracy_chart(snap, height: int = 420) -> go.Figure:
    """Each net's accuracy on its training data (solid) and on the shifted test data (dotted)."""
    fig = go.Figure()
    for name, view in snap.nets.items():
        ev = view.evals
        if len(ev.get("step", ())) == 0:
            continue
        for metric, what, dash in (("train_acc", "training data", "solid"),
                                   ("test_acc", "shifted test data", "dot")):
            fig.add_trace(go.Scatter(
                x=ev["step"], y=f32(ev[metric]), mode="lines", name=f"{net_label(name)}: {what}",
                line={"color": NET_COLORS[name], "dash": dash, "width": 3}))
    base_layout(fig, "Accuracy on the training data vs on the shifted test data",
                "training step", "accuracy (fraction correct)", height)
    if snap.data is not None:
        _chance_line(fig, snap.data.n_classes)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(range=[0, snap.total_steps])
    _legend_below(fig)
    return fig


def shift_sweep_chart(snap, fractions=SHIFT_FRACTIONS, height: int = 360) -> go.Figure:
    """Accuracy of each net's current boundary on the test data moved by 0 %, 10 %, ... 100 %
    of the chosen shift (read off the decision grid)."""
    fig = go.Figure()
    cfg, data = snap.config, snap.data
    pct = f32(np.asarray(fractions) * 100)
    for name, view in snap.nets.items():
        grid = view.latest.get("grid")
        if grid is None or data is None or snap.viewport is None:
            continue
        acc = shift_sweep(data, cfg, grid, snap.viewport, fractions)
        fig.add_trace(go.Scatter(x=pct, y=acc, mode="lines+markers", name=net_label(name),
                                 line={"color": NET_COLORS[name], "width": 3},
                                 marker={"size": 8}))
    base_layout(fig, f"The boundary of step {snap.step:,} on test data shifted part of the way",
                "share of your shift applied to the test data (%)",
                "test accuracy (fraction correct)", height)
    if data is not None:
        _chance_line(fig, data.n_classes)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(range=[-3, 103])
    return fig


# ---------------------------------------------------------------------------- T2

def _span_with_origin(snap, lines_anchor) -> tuple[float, float, float, float]:
    """A square-ish view holding the data's viewport, the origin and the lines' anchor."""
    xmin, xmax, ymin, ymax = snap.viewport
    xs = [xmin, xmax, 0.0, float(lines_anchor[0])]
    ys = [ymin, ymax, 0.0, float(lines_anchor[1])]
    lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
    pad = 0.08 * max(hi_x - lo_x, hi_y - lo_y, 1.0)
    return lo_x - pad, hi_x + pad, lo_y - pad, hi_y + pad


def initial_boundaries_chart(snaps: list, net: str = "plain", height: int = 500) -> go.Figure:
    """One panel per run: the net's decision regions at initialisation over the training data,
    the first hidden layer's lines (bias 0) and the origin, on axes that include the origin."""
    fig = make_subplots(rows=1, cols=len(snaps), horizontal_spacing=0.06,
                        subplot_titles=[whitening_name(s.config.whitening) for s in snaps])
    for i, snap in enumerate(snaps):
        col = i + 1
        data, view = snap.data, snap.nets.get(net)
        if data is None or snap.viewport is None:
            continue
        lines = first_layer_lines(snap.config, data.whitener, data.n_classes)
        box = _span_with_origin(snap, lines.anchor)
        if view is not None and view.initial_grid is not None:
            for tr in boundary_traces(view.initial_grid, snap.viewport, data.n_classes):
                fig.add_trace(tr, row=1, col=col)
        shown = min(MAX_LINES, len(lines.normals))
        cuts = units_cutting_data(lines, data.x_train)
        part = type(lines)(lines.normals[:shown], lines.anchor)
        lx, ly = part.segments(4.0 * max(box[1] - box[0], box[3] - box[2]))
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", name="first-layer unit lines at init",
                                 legendgroup="lines", showlegend=i == 0, hoverinfo="skip",
                                 line={"color": "#555555", "width": 1.2}), row=1, col=col)
        for tr in point_traces(data, show_test=False):
            tr.showlegend = i == 0
            fig.add_trace(tr, row=1, col=col)
        fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name="origin (0, 0)",
                                 legendgroup="origin", showlegend=i == 0, hoverinfo="skip",
                                 marker={"symbol": "x-thin", "size": 14, "color": "#000000",
                                         "line": {"width": 3, "color": "#000000"}}),
                      row=1, col=col)
        fig.layout.annotations[i].text = (f"{whitening_name(snap.config.whitening)}: "
                                          f"{int(cuts.sum())} of {len(cuts)} lines cut the data")
        fig.update_xaxes(range=[box[0], box[1]], title_text="x1 (data units)", row=1, col=col)
        fig.update_yaxes(range=[box[2], box[3]], row=1, col=col,
                         title_text="x2 (data units)" if col == 1 else "")
    base_layout(fig, f"At initialisation: the {net_label(net)} net's boundaries and its "
                f"first {MAX_LINES} hidden units' lines", "x1 (data units)", "x2 (data units)",
                height)
    fig.update_layout(hovermode="closest")
    _legend_below(fig)
    return fig


def whitening_accuracy_chart(snaps: list, target: float, height: int = 440) -> go.Figure:
    """Training accuracy of every net of every run (colour = net, dotted = not whitened), the
    target accuracy, and a marker where each first reached it."""
    fig = go.Figure()
    for snap in snaps:
        method = snap.config.whitening
        dash = WHITENING_DASH.get(method, "solid")
        for name, view in snap.nets.items():
            ev = view.evals
            if len(ev.get("step", ())) == 0:
                continue
            label = f"{net_label(name)}, {whitening_name(method)}"
            fig.add_trace(go.Scatter(x=ev["step"], y=f32(ev["train_acc"]), mode="lines",
                                     name=label, legendgroup=label,
                                     line={"color": NET_COLORS[name], "dash": dash, "width": 3}))
            hit = steps_to_accuracy(ev["step"], ev["train_acc"], target)
            if hit is not None:
                fig.add_trace(go.Scatter(x=[hit], y=[target], mode="markers", name=label,
                                         legendgroup=label, showlegend=False,
                                         hovertemplate=f"{label}: step {hit:,}<extra></extra>",
                                         marker={"color": NET_COLORS[name], "size": 12,
                                                 "symbol": "diamond",
                                                 "line": {"width": 1.5, "color": "#222"}}))
    end = max((s.total_steps for s in snaps), default=1)
    fig.add_trace(go.Scatter(x=[0, end], y=[target, target], mode="lines",
                             name=f"target {target:.0%} (diamond: first reached)",
                             hoverinfo="skip", line={"color": "#444", "dash": "dash", "width": 1.5}))
    base_layout(fig, "Training accuracy: whitened (solid) vs not whitened (dotted)",
                "training step", "training accuracy (fraction correct)", height)
    fig.update_yaxes(range=[0, 1.02])
    if snaps:
        fig.update_xaxes(range=[0, max(s.total_steps for s in snaps)])
    _legend_below(fig)
    return fig


def current_boundaries_chart(snaps: list, height: int = 620) -> go.Figure:
    """Rows = runs (not whitened, whitened), columns = nets: the decision regions now."""
    names = list(snaps[0].nets) if snaps and snaps[0].nets else ["plain", "bn"]
    titles = [f"{net_label(n)}, {whitening_name(s.config.whitening)}, step {s.step:,}"
              for s in snaps for n in names]
    fig = make_subplots(rows=len(snaps), cols=len(names), subplot_titles=titles,
                        horizontal_spacing=0.06, vertical_spacing=0.16)
    for r, snap in enumerate(snaps):
        data = snap.data
        for c, name in enumerate(names):
            view = snap.nets.get(name)
            grid = None if view is None else view.latest.get("grid")
            if grid is not None and snap.viewport is not None:
                for tr in boundary_traces(grid, snap.viewport, data.n_classes):
                    fig.add_trace(tr, row=r + 1, col=c + 1)
            if data is not None:
                for tr in point_traces(data, show_test=False, max_points=300):
                    tr.showlegend = r == 0 and c == 0
                    fig.add_trace(tr, row=r + 1, col=c + 1)
            if snap.viewport is not None:
                xmin, xmax, ymin, ymax = snap.viewport
                fig.update_xaxes(range=[xmin, xmax], row=r + 1, col=c + 1)
                fig.update_yaxes(range=[ymin, ymax], row=r + 1, col=c + 1)
    base_layout(fig, "Decision regions now (shaded by predicted class, black line = boundary)",
                "x1 (data units)", "x2 (data units)", height)
    for r in range(1, len(snaps)):
        fig.update_xaxes(title_text="", row=r)
    for c in range(2, len(names) + 1):
        fig.update_yaxes(title_text="", col=c)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
