"""Decision boundaries on 2-D data: each net's predicted class over a fixed viewport, with the
training points and the (shifted) test points drawn over it (plain figure dicts)."""
from __future__ import annotations

import numpy as np

from bn_core.i18n import N_, _
from bn_core.figures.style import base_layout, figure, net_label, on, subplot_grid, update_axes

CLASS_COLORS = ("#CC79A7", "#56B4E9", "#F0E442", "#999999", "#000000",
                # classes 6-10 (a student's own data has up to 10)
                "#E69F00", "#009E73", "#0072B2", "#D55E00", "#8B4513")
POINT_EDGE = "#333333"
BOUNDARY_LINE = {"color": "#222222", "width": 2.5}


REGION_ALPHA = 0.35  # how strongly the regions are shaded (the points and line stay opaque)


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _class_scale(n_classes: int) -> list:
    """A discrete, translucent colour scale for class indices 0..n-1."""
    scale = []
    for k in range(n_classes):
        lo, hi = k / n_classes, (k + 1) / n_classes
        color = _rgba(CLASS_COLORS[k], REGION_ALPHA)
        scale += [[round(lo, 4), color], [round(hi, 4), color]]
    return scale


def boundary_traces(grid: np.ndarray, viewport, n_classes: int) -> list[dict]:
    """The regions shaded by predicted class (a heatmap of the grid's cells) and the boundary
    lines between classes over them. The predicted class per cell travels once, as a uint8
    grid, the cell positions as x0/dx; the lines are traced here, not in the browser: a
    contour trace made every student's browser trace them on each refresh, about half of what
    redrawing this chart cost there (docs/benchmarks.md, section 9)."""
    res = grid.shape[0]
    xmin, xmax, ymin, ymax = (float(v) for v in viewport)
    cls = np.ascontiguousarray(grid[..., 0]).astype(np.uint8)
    dx, dy = (xmax - xmin) / max(res - 1, 1), (ymax - ymin) / max(res - 1, 1)
    heat = {"type": "heatmap", "z": cls, "x0": xmin, "dx": dx, "y0": ymin, "dy": dy,
            "zmin": -0.5, "zmax": n_classes - 0.5, "colorscale": _class_scale(n_classes),
            "showscale": False, "hoverinfo": "skip", "showlegend": False}
    u, v = boundary_lines(cls, n_classes)
    line = {"type": "scatter", "x": (xmin + dx * u).astype(np.float32),
            "y": (ymin + dy * v).astype(np.float32), "mode": "lines", "hoverinfo": "skip",
            "showlegend": False, "line": dict(BOUNDARY_LINE, shape="spline", smoothing=1.0)}
    return [heat, line]


# marching squares: a cell's corners (bottom-left, bottom-right, top-right, top-left) above
# the level give its case; each case joins midpoints of the cell's edges (0 bottom, 1 right,
# 2 top, 3 left). The two saddles are joined as the contour of Plotly's did by default.
_SEGMENTS = {1: ((3, 0),), 2: ((0, 1),), 3: ((3, 1),), 4: ((1, 2),), 5: ((3, 0), (1, 2)),
             6: ((0, 2),), 7: ((3, 2),), 8: ((2, 3),), 9: ((0, 2),), 10: ((0, 1), (2, 3)),
             11: ((1, 2),), 12: ((1, 3),), 13: ((0, 1),), 14: ((3, 0),)}
# each edge's midpoint within its cell, in half cells (column, row): exact integers, so the
# cells on either side of an edge name its midpoint alike
_EDGE_MID = ((1, 0), (2, 1), (1, 2), (0, 1))


def boundary_lines(cls: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the predicted class index crosses k + 0.5 (k = 0 .. n-2), traced by marching
    squares through the midpoints of the grid's cell edges and smoothed (`_smoothed`):
    (columns, rows) in grid units, one polyline per piece, NaN between pieces (Plotly leaves a
    gap there)."""
    us: list[float] = []
    vs: list[float] = []
    for level in range(n_classes - 1):
        above = (cls > level).astype(np.uint8)
        case = (above[:-1, :-1] | above[:-1, 1:] << 1 | above[1:, 1:] << 2 | above[1:, :-1] << 3)
        # the segments as links between edge midpoints (in half cells), then joined into chains
        links: dict[tuple, list] = {}
        for r, c in zip(*np.nonzero((case > 0) & (case < 15))):
            for a, b in _SEGMENTS[int(case[r, c])]:
                pa = (2 * int(c) + _EDGE_MID[a][0], 2 * int(r) + _EDGE_MID[a][1])
                pb = (2 * int(c) + _EDGE_MID[b][0], 2 * int(r) + _EDGE_MID[b][1])
                links.setdefault(pa, []).append(pb)
                links.setdefault(pb, []).append(pa)
        for chain in _chains(links):
            if us:
                us.append(np.nan)
                vs.append(np.nan)
            points = _smoothed(np.asarray(chain, dtype=np.float64) / 2)
            us += points[:, 0].tolist()
            vs += points[:, 1].tolist()
    return np.asarray(us, dtype=np.float64), np.asarray(vs, dtype=np.float64)


def _smoothed(points: np.ndarray, passes: int = 2) -> np.ndarray:
    """A chain of cell-edge midpoints steps in half cells where the boundary runs at a slant;
    averaging each point with its neighbours (1-2-1, twice) straightens the steps, within a
    quarter of a cell of where they were. An open chain keeps its ends (on the grid's border);
    a closed one (first point == last) wraps around."""
    if len(points) < 3:
        return points
    closed = bool((points[0] == points[-1]).all())
    p = points[:-1] if closed else points
    for _pass in range(passes):
        if closed:
            p = (np.roll(p, 1, axis=0) + 2 * p + np.roll(p, -1, axis=0)) / 4
        else:
            p = np.concatenate([p[:1], (p[:-2] + 2 * p[1:-1] + p[2:]) / 4, p[-1:]])
    return np.concatenate([p, p[:1]]) if closed else p


def _chains(links: dict) -> list[list]:
    """The polylines of an undirected graph whose points have one or two neighbours: open
    chains from their ends first, then closed loops."""
    seen: set = set()
    chains = []
    starts = [p for p, n in links.items() if len(n) == 1] + list(links)
    for start in starts:
        if start in seen:
            continue
        chain, prev, here = [start], None, start
        seen.add(start)
        while True:
            step = next((n for n in links[here] if n != prev and n not in seen), None)
            if step is None:
                if len(chain) > 2 and start in links[here]:
                    chain.append(start)  # a loop: close it
                break
            chain.append(step)
            seen.add(step)
            prev, here = here, step
        chains.append(chain)
    return chains


def point_traces(data, show_train: bool = True, show_test: bool = True,
                 max_points: int = 600) -> list[dict]:
    """Training points (filled circles) and test points (crosses), coloured by class."""
    traces = []
    sets = ((data.x_train, data.y_train, N_("train: class {k}"), "circle", show_train),
            (data.x_test, data.y_test, N_("test (shifted): class {k}"), "x", show_test))
    for x, y, label, symbol, show in sets:
        if not show:
            continue
        x, y = x[:max_points], y[:max_points]
        for k in range(data.n_classes):
            pts = x[y == k].astype(np.float32)
            traces.append({
                "type": "scatter", "x": np.ascontiguousarray(pts[:, 0]),
                "y": np.ascontiguousarray(pts[:, 1]), "mode": "markers",
                "name": _(label).format(k=k), "legendgroup": label,
                "marker": {"color": CLASS_COLORS[k], "symbol": symbol,
                           "size": 6 if symbol == "circle" else 7,
                           "line": {"width": 1, "color": POINT_EDGE}}})
    return traces


def region_panels(layout: dict, panels: list[tuple], data, viewport, show_test: bool,
                  max_points: int, h_spacing: float = 0.04, shared_y: bool = True,
                  x_title: str = "x1", y_title: str = "x2") -> list[dict]:
    """Side-by-side panels of decision regions: `panels` = [(title, grid or None), ...];
    the data drawn in each, its legend entries once. Returns the traces."""
    cells = subplot_grid(layout, 1, max(1, len(panels)), h_spacing=h_spacing,
                         shared_y=shared_y, titles=[p[0] for p in panels],
                         x_title=x_title, y_title=y_title)[0]
    traces = []
    for i, (cell, (_, grid)) in enumerate(zip(cells, panels)):
        if grid is not None and viewport is not None and data is not None:
            traces += [on(t, cell) for t in boundary_traces(grid, viewport, data.n_classes)]
        if data is not None:
            for t in point_traces(data, show_test=show_test, max_points=max_points):
                t["showlegend"] = i == 0
                traces.append(on(t, cell))
    if viewport is not None:
        xmin, xmax, ymin, ymax = (float(v) for v in viewport)
        update_axes(layout, "x", range=[xmin, xmax])
        update_axes(layout, "y", range=[ymin, ymax])
    return traces


def boundary_figure(snap, nets: list[str] | None = None, initial: bool = False,
                    show_test: bool = True, height: int = 420) -> dict:
    """One panel per net: its current (or initial) decision regions with the data."""
    names = nets or list(snap.nets) or list(snap.config.nets)
    panels = []
    for name in names:
        view = snap.nets.get(name)
        grid = None if view is None else (view.initial_grid if initial else view.latest.get("grid"))
        title = (_("{net} at initialisation").format(net=net_label(name)) if initial else
                 _("{net} at step {step:,}").format(net=net_label(name), step=snap.step))
        panels.append((title, grid))
    layout = base_layout(N_("Decision regions: shaded by predicted class; the solid line is the "
                            "boundary"), height=height, hovermode="closest", legend={"font": {"size": 12}})
    traces = region_panels(layout, panels, snap.data, snap.viewport, show_test, 600)
    return figure(traces, layout)
