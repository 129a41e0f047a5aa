"""Figures of the "Inside the BN layer" lesson: Algorithm 1 on a small batch, the gradient
check node by node, running statistics and Algorithm 2, batch-size noise, and one channel's
statistics slab in an (N, C, H, W) tensor. Pure functions from arrays to plain figure dicts."""
from __future__ import annotations

import numpy as np

from bn_core.i18n import N_, _
from bn_core.lessons.inside_bn import (
    FLOAT64_AGREEMENT,
    GRADCHECK_TOLERANCE,
    BackwardCheck,
    BatchNoise,
    RunningStatistics,
)
from bn_core.figures.style import (CIVIDIS, COLORBAR, NET_COLORS, band, base_layout, f32, figure, hline,
                                   layout_key, note, on, power_of_ten, subplot_grid,
                                   update_axes)

# Okabe-Ito, without the yellow that vanishes on a projector: one colour per example row.
EXAMPLE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000",
                  "#999999")
BATCH_COLOR = NET_COLORS["bn"]          # what BN computes from the batch
RUNNING_COLOR = NET_COLORS["noisy_bn"]  # what the layer remembers (running averages)
BIASED_COLOR = NET_COLORS["plain"]      # the biased average, the one to avoid
TRUE_COLOR = "#000000"
SCATTER_COLOR = "rgba(0, 114, 178, 0.25)"
AGREE_COLOR = NET_COLORS["noisy_bn"]
DISAGREE_COLOR = NET_COLORS["noisy_plain"]
ZERO_FLOOR = 1e-17  # where a relative error of exactly 0 is drawn on the log axis


def algorithm1_figure(x, xhat, y, feature_names=None, height: int = 340) -> dict:
    """Three panels, one row per feature: the inputs x_i, the normalised xhat_i and the
    outputs y_i, each with its batch mean (tick) +- its batch standard deviation (bar): for x
    that is mu +- sqrt(var), for xhat 0 +- 1 (less a hair for eps), for y beta +- |gamma|.
    One colour per example, named by its row number under a legend titled "example" (one
    legend row for up to eight examples)."""
    x, xhat, y = (np.asarray(a, dtype=np.float64) for a in (x, xhat, y))
    n, d = x.shape
    names = list(feature_names or [f"x{j + 1}" for j in range(d)])
    panels = ((N_("1. input x"), x), ("2. xhat = (x - mu) / sqrt(var + eps)", xhat),
              ("3. y = gamma xhat + beta", y))
    layout = base_layout(N_("Algorithm 1 on your batch"),  # short: fits a phone's width
                         height=height + 50, hovermode="closest",
                         legend={"title": {"text": _("example")}})
    cells = subplot_grid(layout, 1, 3, h_spacing=0.04, shared_y=True,
                         titles=[p[0] for p in panels], x_title=N_("value"),
                         y_title=N_("feature"))[0]
    centre_name = _("batch mean +- batch std")
    data = []
    for col, (cell, (_title, values)) in enumerate(zip(cells, panels)):
        centre, spread = values.mean(axis=0), values.std(axis=0)
        data.append(on({
            "type": "scatter", "x": f32(centre), "y": names, "mode": "markers",
            "name": centre_name,
            "marker": {"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": TRUE_COLOR}},
            "error_x": {"type": "data", "array": f32(spread), "color": "rgba(0,0,0,0.35)",
                        "thickness": 6, "width": 0},
            "showlegend": False, "hovertemplate": f"{centre_name}: %{{x:.3f}}<extra></extra>"},
            cell))
        for i in range(n):
            data.append(on({
                "type": "scatter", "x": f32(values[i]), "y": names, "mode": "markers",
                "name": str(i + 1), "legendgroup": f"ex{i}", "showlegend": col == 0,
                "marker": {"size": 13, "color": EXAMPLE_COLORS[i % len(EXAMPLE_COLORS)],
                           "line": {"width": 1, "color": "white"}},
                "hovertemplate": _("example {n}: %{{x:.4f}}").format(n=i + 1)
                + "<extra></extra>"}, cell))
    update_axes(layout, "y", autorange="reversed")
    for item in layout["annotations"]:
        if item.get("yanchor") == "bottom":
            item["font"]["size"] = 14
    return figure(data, layout)


GRADCHECK_TICKS = [1e-16, 1e-12, 1e-8, 1e-4, 1.0]


def gradient_check_figure(check: BackwardCheck, height: int = 340) -> dict:
    """Relative error between backprop and centred differences, per graph node and for the
    gradients the layer returns (x, gamma, beta), on a log axis."""
    rows = list(check.nodes) + list(check.params)
    names = [f"d{r.name}" for r in rows]
    errors = np.array([r.rel_error for r in rows], dtype=np.float64)
    shown = np.where(errors > 0, errors, ZERO_FLOOR)
    colors = [AGREE_COLOR if r.agrees else DISAGREE_COLOR for r in rows]
    text = ["0" if e == 0 else f"{e:.0e}" for e in errors]
    bars = {"type": "bar", "x": names, "y": f32(shown), "marker": {"color": colors,
                                                                   "line": {"width": 0}},
            "text": text, "textposition": "outside", "name": _("relative error"),
            "hovertemplate": "%{x}: %{text}<extra></extra>"}
    layout = base_layout(N_("Backprop vs centred differences: error per node"),
                         N_("gradient of the loss with respect to ... (graph nodes in forward "
                            "order)"), N_("relative error (log; lower is better)"), height,
                         showlegend=False, hovermode="closest")
    layout["yaxis"].update(type="log", range=[-17.5, 0.5], tickmode="array",
                           tickvals=GRADCHECK_TICKS,
                           ticktext=[power_of_ten(round(np.log10(t))) for t in GRADCHECK_TICKS])
    n_nodes = len(check.nodes)
    layout["shapes"] = [
        hline(GRADCHECK_TOLERANCE, {"dash": "dot", "color": TRUE_COLOR, "width": 1.5}),
        band(1e-13, FLOAT64_AGREEMENT, "rgba(0, 158, 115, 0.10)"),
        band(n_nodes - 0.5, len(rows) - 0.5, "rgba(0,0,0,0.05)", "x")]
    layout["annotations"] = [
        note(_("agree below {tolerance:.0e}").format(tolerance=GRADCHECK_TOLERANCE), 0,
             GRADCHECK_TOLERANCE, "x domain", "y",
             xanchor="left", yanchor="bottom"),
        note(_("returned by backward"), len(rows) - 0.5, 1, "x", "y domain", xanchor="right",
             yanchor="top")]
    return figure([bars], layout)


def running_statistics_figure(rs: RunningStatistics, height: int = 380) -> dict:
    """Batch statistics of every training batch, the layer's running averages, Algorithm 2's
    estimates, and the population's true mean and variance."""
    t = np.arange(1, len(rs.batch_mean) + 1, dtype=np.int32)
    layout = base_layout(N_("Batch statistics, and what the layer keeps for inference"),
                         height=height + 90, hovermode="closest")
    left, right = subplot_grid(layout, 1, 2, h_spacing=0.1,
                               titles=[N_("mean (input units)"),
                                       _("variance (input units squared), batch size m = "
                                         "{m}").format(m=rs.m)],
                               x_title=N_("training batch t"))[0]

    def line(y, name, color, group, dash="solid", show=True, width=3):
        return {"type": "scatter", "x": t, "y": f32(y), "mode": "lines", "name": name,
                "legendgroup": group, "showlegend": show,
                "line": {"color": color, "width": width, "dash": dash}}

    def dots(y, name, show=True):
        return {"type": "scatter", "x": t, "y": f32(y), "mode": "markers", "name": name,
                "legendgroup": "batch", "showlegend": show,
                "marker": {"color": SCATTER_COLOR, "size": 5}}

    data = [on(dots(rs.batch_mean, _("batch statistic")), left),
            on(line(rs.running_mean, _("running average (momentum {momentum:g})").format(
                momentum=rs.momentum),
                    RUNNING_COLOR, "running"), left),
            on(line(rs.population_mean,
                    _("Algorithm 2 estimate"), BATCH_COLOR,
                    "alg2", "dash"), left),
            on(dots(rs.batch_var, _("batch variance"), False), right),
            on(line(rs.running_var, _("running var (unbiased, as torch)"), RUNNING_COLOR, "running",
                    show=False), right),
            on(line(rs.population_var, _("m/(m-1) x mean of batch variances"), BATCH_COLOR, "alg2",
                    "dash", False), right),
            on(line(rs.average_batch_var, _("mean of batch variances, uncorrected"),
                    BIASED_COLOR, "biased", "dot"), right)]
    for cell, value in ((left, rs.true_mean), (right, rs.true_var)):
        data.append(on({"type": "scatter", "x": [int(t[0]), int(t[-1])],
                        "y": [float(value), float(value)], "mode": "lines",
                        "name": _("population (true) value"), "legendgroup": "true",
                        "showlegend": cell is left,
                        "line": {"color": TRUE_COLOR, "width": 2, "dash": "longdash"}}, cell))
    update_axes(layout, "x", tickformat=",d")
    return figure(data, layout)


def train_eval_figure(rs: RunningStatistics, bins: int = 30, height: int = 320) -> dict:
    """The same input x0 normalised in training mode (inside each batch: a spread) and in
    eval mode (with the running statistics: one value)."""
    values = rs.train_xhat
    lo = min(float(values.min()), rs.eval_xhat, 1.0)
    hi = max(float(values.max()), rs.eval_xhat, 1.0)
    pad = 0.05 * (hi - lo) + 1e-6
    counts, edges = np.histogram(values, bins=bins, range=(lo - pad, hi + pad))
    centres = 0.5 * (edges[:-1] + edges[1:])
    top = float(counts.max()) * 1.1 + 1
    data = [{"type": "bar", "x": f32(centres), "y": counts.astype(np.int32),
             "width": float(edges[1] - edges[0]),
             "marker": {"color": BATCH_COLOR, "line": {"color": "white", "width": 0.5}},
             "name": _("training mode: one count per batch"),
             "hovertemplate": _("xhat %{x:.2f}: %{y} batches") + "<extra></extra>"},
            {"type": "scatter", "x": [float(rs.eval_xhat)] * 2, "y": [0, top], "mode": "lines",
             "name": _("eval mode: {xhat:.3f}").format(xhat=rs.eval_xhat),
             "line": {"color": RUNNING_COLOR, "width": 4}},
            {"type": "scatter", "x": [1.0, 1.0], "y": [0, top], "mode": "lines",
             "name": _("true z-score: 1"),
             "line": {"color": TRUE_COLOR, "width": 2, "dash": "longdash"}}]
    layout = base_layout(_("x0 = {x0:g} normalised, in {batches} training batches and in eval "
                           "mode").format(x0=rs.probe_value, batches=len(values)),
                         N_("xhat of x0 (standard deviations)"), N_("batches"), height,
                         hovermode="closest", bargap=0.05)
    return figure(data, layout)


def _band(sizes, pct, color, cell, showlegend) -> list[dict]:
    labels = [str(int(s)) for s in sizes]
    return [
        on({"type": "scatter", "x": labels, "y": f32(pct[:, 0]), "mode": "lines",
            "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "legendgroup": "band"},
           cell),
        on({"type": "scatter", "x": labels, "y": f32(pct[:, 2]), "mode": "lines",
            "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(0, 114, 178, 0.25)",
            "name": _("5th-95th percentile of batches"), "legendgroup": "band",
            "showlegend": showlegend, "hoverinfo": "skip"}, cell),
        on({"type": "scatter", "x": labels, "y": f32(pct[:, 1]), "mode": "lines+markers",
            "line": {"color": color, "width": 3}, "name": _("median batch"),
            "legendgroup": "median",
            "showlegend": showlegend, "hovertemplate": "m=%{x}: %{y:.3f}<extra></extra>"}, cell),
    ]


def batch_noise_figure(noise: BatchNoise, height: int = 380) -> dict:
    """Spread of the batch mean, the batch variance and x0's normalised value against m."""
    sizes = noise.sizes
    labels = [str(int(s)) for s in sizes]
    layout = base_layout(N_("Smaller batches, noisier statistics (m = 1: variance 0, xhat 0)"),
                         height=height + 60, hovermode="closest")
    cells = subplot_grid(layout, 1, 3, h_spacing=0.07,
                         titles=[N_("batch mean (input units)"),
                                 N_("batch variance, biased (units\u00b2)"),
                                 N_("xhat of x0 = mean + 1 std (std units)")],
                         x_title=N_("batch size m"))[0]
    data = []
    for col, (cell, pct) in enumerate(zip(cells, (noise.mean_pct, noise.var_pct,
                                                  noise.xhat_pct))):
        data += _band(sizes, pct, BATCH_COLOR, cell, col == 0)
    for cell, value in zip(cells, (noise.true_mean, noise.true_var, 1.0)):
        data.append(on({"type": "scatter", "x": [labels[0], labels[-1]],
                        "y": [float(value), float(value)], "mode": "lines",
                        "name": _("population (true) value"), "legendgroup": "true",
                        "showlegend": cell is cells[0],
                        "line": {"color": TRUE_COLOR, "width": 2, "dash": "longdash"}}, cell))
    data.append(on({"type": "scatter", "x": labels, "y": f32(noise.expected_var), "mode": "lines",
                    "name": _("expected batch variance (m-1)/m x var"),
                    "line": {"color": BIASED_COLOR, "width": 2, "dash": "dot"}}, cells[1]))
    update_axes(layout, "x", type="category")
    return figure(data, layout)


def channel_slab_figure(x, channel: int, height_per_row: int = 190) -> dict:
    """An (N, C, H, W) tensor as an N x C grid of H x W heatmaps; the chosen channel's column,
    the slab of N*H*W values its statistics are taken over, is outlined. Columns are titled by
    channel, rows by example (one title each, so they never collide)."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    layout = base_layout(_("(N, C, H, W) = ({n}, {c}, {h}, {w}): channel {channel}'s statistics "
                           "use the outlined {values} values").format(
                               n=n, c=c, h=h, w=w, channel=channel + 1, values=n * h * w),
                         height=max(260, height_per_row * n + 110), hovermode="closest",
                         margin={"l": 20, "r": 20})
    grid = subplot_grid(layout, n, c, h_spacing=0.02, v_spacing=0.04 if n > 1 else 0.0,
                        titles=[(f"<b>{_('channel {n}').format(n=k + 1)}</b>" if k == channel
                                 else _("channel {n}").format(n=k + 1)) for k in range(c)])
    text = h * w <= 36
    data = []
    for i in range(n):
        for k in range(c):
            heat = {"type": "heatmap", "z": f32(x[i, k]), "coloraxis": "coloraxis",
                    "name": _("example {i}, channel {k}").format(i=i + 1, k=k + 1),
                    "hovertemplate": _("example {i}, channel {k}, row %{{y}}, column %{{x}}: "
                                       "%{{z:.2f}}").format(i=i + 1, k=k + 1)
                    + "<extra></extra>"}
            if text:
                heat.update(texttemplate="%{z:.1f}", textfont={"size": 11})
            data.append(on(heat, grid[i][k]))
    update_axes(layout, "x", showticklabels=False, showgrid=False, zeroline=False)
    update_axes(layout, "y", showticklabels=False, showgrid=False, zeroline=False,
                autorange="reversed")
    # one width title under the grid: repeated under each narrow column they ran together
    layout.setdefault("annotations", []).append(
        note(_("W = {w} columns").format(w=w), 0.5, 0, xanchor="center", yanchor="top",
             yshift=-14))   # below the outline
    layout["margin"]["b"] = max(layout["margin"].get("b", 50), 50)
    for i in range(n):
        layout[layout_key(grid[i][0]["y"])]["title"] = {
            "text": _("example {i}<br>H = {h} rows").format(
            i=i + 1, h=h)}
    x0, x1 = grid[0][channel]["xdomain"]
    layout["shapes"] = [{"type": "rect", "xref": "paper", "yref": "paper",
                         "x0": round(x0 - 0.008, 4), "x1": round(x1 + 0.008, 4), "y0": -0.02,
                         "y1": 1.0, "line": {"color": BIASED_COLOR, "width": 5}}]
    layout["coloraxis"] = {"colorscale": CIVIDIS,
                           "colorbar": {**COLORBAR, "title": {"text": _("value")}}}
    return figure(data, layout)
