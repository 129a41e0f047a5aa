"""Decision boundaries on 2-D data: each net's predicted class over a fixed viewport, with the
training points and the (shifted) test points drawn over it."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.figures.style import base_layout, net_label

CLASS_COLORS = ("#CC79A7", "#56B4E9", "#F0E442", "#999999", "#000000")


def _class_scale(n_classes: int) -> list:
    """A discrete colour scale for class indices 0..n-1."""
    scale = []
    for k in range(n_classes):
        lo, hi = k / n_classes, (k + 1) / n_classes
        scale += [[lo, CLASS_COLORS[k]], [hi, CLASS_COLORS[k]]]
    return scale


def boundary_traces(grid: np.ndarray, viewport, n_classes: int) -> list:
    """Regions shaded by predicted class (stronger where the net is confident) and the
    boundary lines between classes."""
    res = grid.shape[0]
    xmin, xmax, ymin, ymax = viewport
    xs = np.linspace(xmin, xmax, res, dtype=np.float32)
    ys = np.linspace(ymin, ymax, res, dtype=np.float32)
    cls = grid[..., 0].astype(np.uint8)
    return [
        go.Heatmap(x=xs, y=ys, z=cls, zmin=-0.5, zmax=n_classes - 0.5,
                   colorscale=_class_scale(n_classes), showscale=False, opacity=0.35,
                   hoverinfo="skip", showlegend=False),
        go.Contour(x=xs, y=ys, z=cls, showscale=False, hoverinfo="skip", showlegend=False,
                   contours={"coloring": "none", "start": 0.5, "end": n_classes - 1.5 + 1e-6,
                             "size": 1.0},
                   line={"color": "#222222", "width": 2.5}),
    ]


def point_traces(data, show_train: bool = True, show_test: bool = True,
                 max_points: int = 600) -> list:
    """Training points (filled circles) and test points (crosses), coloured by class."""
    traces = []
    sets = ((data.x_train, data.y_train, "train", "circle", show_train),
            (data.x_test, data.y_test, "test (shifted)", "x", show_test))
    for x, y, label, symbol, show in sets:
        if not show:
            continue
        x, y = x[:max_points], y[:max_points]
        for k in range(data.n_classes):
            pts = x[y == k].astype(np.float32)
            traces.append(go.Scatter(
                x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"{label}: class {k}",
                legendgroup=label,
                marker={"color": CLASS_COLORS[k], "symbol": symbol, "size": 6 if symbol == "circle" else 7,
                        "line": {"width": 1, "color": "#333333"}}))
    return traces


def boundary_figure(snap, nets: list[str] | None = None, initial: bool = False,
                    show_test: bool = True, height: int = 420) -> go.Figure:
    """One panel per net: its current (or initial) decision regions with the data."""
    names = nets or list(snap.nets)
    when = "at initialisation" if initial else f"at step {snap.step:,}"
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"{net_label(n)} {when}" for n in names])
    data = snap.data
    for i, name in enumerate(names):
        view = snap.nets.get(name)
        grid = None if view is None else (view.initial_grid if initial else view.latest.get("grid"))
        if grid is not None and snap.viewport is not None:
            for tr in boundary_traces(grid, snap.viewport, data.n_classes):
                fig.add_trace(tr, row=1, col=i + 1)
        if data is not None:
            for tr in point_traces(data, show_test=show_test):
                tr.showlegend = i == 0
                fig.add_trace(tr, row=1, col=i + 1)
        fig.update_xaxes(title_text="x1", row=1, col=i + 1)
    base_layout(fig, "Decision regions: shaded by predicted class, black line = boundary",
                "x1", "x2", height)
    fig.update_layout(hovermode="closest", margin={"b": 110},
                      legend={"font": {"size": 12}, "orientation": "h", "yanchor": "top",
                              "y": -0.18, "x": 0.0, "xanchor": "left"})
    if snap.viewport is not None:
        xmin, xmax, ymin, ymax = snap.viewport
        fig.update_xaxes(range=[xmin, xmax])
        fig.update_yaxes(range=[ymin, ymax])
    return fig
